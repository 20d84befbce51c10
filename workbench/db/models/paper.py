"""The paper exchange's books: accounts, balances, orders and futures positions, so a paper
account survives a restart exactly."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db.base import Base, Timestamps


class PaperAccount(Timestamps, Base):
    __tablename__ = "paper_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    fee_rate: Mapped[Decimal]
    slippage: Mapped[Decimal]
    maint_margin: Mapped[Decimal]
    # Limit orders and liquidations are checked against prices seen since this time.
    synced_at: Mapped[datetime | None]


class PaperBalance(Base):
    __tablename__ = "paper_balances"
    __table_args__ = (CheckConstraint("free >= 0 AND used >= 0", name="not_negative"),)

    account_id: Mapped[int] = mapped_column(
        ForeignKey("paper_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    asset: Mapped[str] = mapped_column(String(32), primary_key=True)
    free: Mapped[Decimal] = mapped_column(default=Decimal(0))
    used: Mapped[Decimal] = mapped_column(default=Decimal(0))


class PaperOrder(Timestamps, Base):
    __tablename__ = "paper_orders"
    __table_args__ = (UniqueConstraint("account_id", "client_order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("paper_accounts.id", ondelete="CASCADE"), index=True
    )
    client_order_id: Mapped[str] = mapped_column(String(128))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal]
    limit_price: Mapped[Decimal | None]
    reserved: Mapped[Decimal] = mapped_column(default=Decimal(0))
    filled: Mapped[Decimal] = mapped_column(default=Decimal(0))
    cost: Mapped[Decimal] = mapped_column(default=Decimal(0))
    average: Mapped[Decimal | None]
    fee: Mapped[Decimal] = mapped_column(default=Decimal(0))
    fee_currency: Mapped[str | None] = mapped_column(String(32))
    filled_at: Mapped[datetime | None]


class PaperPosition(Timestamps, Base):
    """An isolated-margin long futures position (one per symbol)."""

    __tablename__ = "paper_positions"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("paper_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    leverage: Mapped[int] = mapped_column(default=1)
    quantity: Mapped[Decimal] = mapped_column(default=Decimal(0))
    entry_price: Mapped[Decimal] = mapped_column(default=Decimal(0))
    margin: Mapped[Decimal] = mapped_column(default=Decimal(0))
    liquidation_price: Mapped[Decimal] = mapped_column(default=Decimal(0))
