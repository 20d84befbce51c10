"""Live vs backtest: what the backtest would have decided at each bar a bot ticked.

Revision ID: 0021_bot_drift
Revises: 0020_key_sandbox
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_bot_drift"
down_revision: str | None = "0020_key_sandbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _money(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Numeric(28, 10), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "bot_drift",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("bar_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("live_decision", sa.String(length=8), nullable=True),
        sa.Column("live_reason", sa.String(length=200), nullable=True),
        _money("live_price"),
        _money("live_cost"),
        _money("live_fee"),
        sa.Column("backtest_decision", sa.String(length=8), nullable=False),
        sa.Column("backtest_reason", sa.String(length=200), nullable=False),
        _money("backtest_price"),
        _money("backtest_fee"),
        _money("fee_rate", nullable=False),
        _money("slippage", nullable=False),
        sa.Column("open", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("close", sa.Float(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_bars", sa.Integer(), nullable=False),
        sa.Column("window_hash", sa.String(length=64), nullable=False),
        sa.Column("shadow_state", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bot_configs.id"],
            name=op.f("fk_bot_drift_bot_id_bot_configs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_drift")),
        sa.UniqueConstraint("bot_id", "bar_time", name=op.f("uq_bot_drift_bot_id_bar_time")),
    )
    with op.batch_alter_table("bot_drift") as batch:
        batch.create_index(batch.f("ix_bot_drift_bot_id"), ["bot_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bot_drift") as batch:
        batch.drop_index(batch.f("ix_bot_drift_bot_id"))
    op.drop_table("bot_drift")
