"""What the backtest would have decided at each bar a live bot ticked (its shadow), beside
what the bot did: the record ``workbench bot drift`` and the daily report compare."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Float, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db.base import Base


class BotDrift(Base):
    """One closed bar of one bot: the live decision (NULL when no tick decided the bar)
    and the backtest's over the candles the tick read, with what is needed to explain a
    difference (the bar as read, a hash of the window read, the configured fee and
    slippage, the fills' prices and fees)."""

    __tablename__ = "bot_drift"
    __table_args__ = (UniqueConstraint("bot_id", "bar_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bot_id: Mapped[int] = mapped_column(
        ForeignKey("bot_configs.id", ondelete="CASCADE"), index=True
    )
    bar_time: Mapped[datetime]  # open time of the decided (closed) bar
    live_decision: Mapped[str | None] = mapped_column(String(8))  # enter | exit | hold
    live_reason: Mapped[str | None] = mapped_column(String(200))
    live_price: Mapped[Decimal | None]  # the live fill, when the tick placed an order
    live_cost: Mapped[Decimal | None]
    live_fee: Mapped[Decimal | None]  # in the quote currency
    backtest_decision: Mapped[str] = mapped_column(String(8))
    backtest_reason: Mapped[str] = mapped_column(String(200))
    backtest_price: Mapped[Decimal | None]  # its fill at the next bar's open (known a bar later)
    backtest_fee: Mapped[Decimal | None]
    fee_rate: Mapped[Decimal]  # the rules the tick ran under
    slippage: Mapped[Decimal]
    # The bar as the tick read it, and the window of closed bars read up to it.
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    window_start: Mapped[datetime]
    window_bars: Mapped[int]
    window_hash: Mapped[str] = mapped_column(String(64))
    # The backtest's engine state after this bar: the next tick continues from it.
    shadow_state: Mapped[list[float]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
