"""Filled orders of bots (and of people, through the same table)."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db.base import Base, Timestamps, str_enum


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"


class Trade(Timestamps, Base):
    __tablename__ = "trades"
    __table_args__ = (
        UniqueConstraint("exchange", "exchange_order_id"),
        UniqueConstraint("exchange", "client_order_id"),
        CheckConstraint(
            "price >= 0 AND quantity_filled >= 0 AND quote_quantity_filled >= 0",
            name="amounts_pos",
        ),
        Index("ix_trades_bot_symbol_time", "bot_config_id", "symbol", "timestamp"),
        Index("ix_trades_symbol_time", "symbol", "timestamp"),
        Index("ix_trades_timestamp", "timestamp"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bot_config_id: Mapped[int | None] = mapped_column(
        ForeignKey("bot_configs.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    exchange: Mapped[str] = mapped_column(String(64))
    # The seed's binance_order_id, named for any exchange: we trade on several.
    exchange_order_id: Mapped[str] = mapped_column(String(128))
    client_order_id: Mapped[str | None] = mapped_column(String(128))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[Side] = mapped_column(str_enum(Side, "side"))
    order_type: Mapped[str] = mapped_column(String(16))
    price: Mapped[Decimal]
    quantity_filled: Mapped[Decimal]
    quote_quantity_filled: Mapped[Decimal]
    commission_amount: Mapped[Decimal] = mapped_column(default=Decimal(0), server_default="0")
    commission_asset: Mapped[str | None] = mapped_column(String(32))
    pnl: Mapped[Decimal | None]
    realized_pnl: Mapped[Decimal | None]
    # When the order filled (UTC).
    timestamp: Mapped[datetime]
