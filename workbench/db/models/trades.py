"""Filled orders of bots (and of people, through the same table)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db.base import Base, Timestamps, str_enum
from workbench.types import Side


class Trade(Timestamps, Base):
    __tablename__ = "trades"
    __table_args__ = (
        # What the exchange guarantees: order ids are unique per symbol within one account
        # (live and sandbox, or two keys, may share a database), client ids per account.
        UniqueConstraint("exchange", "account", "symbol", "exchange_order_id"),
        UniqueConstraint("exchange", "account", "client_order_id"),
        CheckConstraint(
            "price >= 0 AND quantity_filled >= 0 AND quote_quantity_filled >= 0", name="amounts_pos"
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
    # Which account on the exchange: "live:key-3", "sandbox:key-3", a paper account's name.
    account: Mapped[str] = mapped_column(String(64), default="", server_default="")
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
