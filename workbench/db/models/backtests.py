"""Saved backtest results: the headline figures as columns, everything else as JSON."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db.base import Base, Timestamps, str_enum
from workbench.types import MarketType


class Backtest(Timestamps, Base):
    __tablename__ = "backtests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Either a bot config, or free parameters (``parameters``) with the strategy named.
    bot_id: Mapped[int | None] = mapped_column(
        ForeignKey("bot_configs.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    exchange: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(8))
    market_type: Mapped[MarketType] = mapped_column(str_enum(MarketType, "market_type"))
    strategy: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The strategy's code fingerprint when the backtest ran (see ``workbench strategy list``).
    strategy_fingerprint: Mapped[str | None] = mapped_column(String(64))
    start_date: Mapped[datetime]
    end_date: Mapped[datetime]
    initial_capital: Mapped[Decimal]
    final_value: Mapped[Decimal]
    total_return: Mapped[float]
    max_drawdown: Mapped[float]
    total_trades: Mapped[int]
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
