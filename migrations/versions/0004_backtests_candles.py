"""Saved backtests and candle storage.

Revision ID: 0004_backtests_candles
Revises: 0003_trades
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_backtests_candles"
down_revision: str | None = "0003_trades"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "candle_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exchange", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candle_series")),
        sa.UniqueConstraint(
            "exchange",
            "symbol",
            "timeframe",
            name=op.f("uq_candle_series_exchange_symbol_timeframe"),
        ),
    )
    op.create_table(
        "candles",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("open_time", sa.BigInteger(), nullable=False),
        sa.Column("open", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("close", sa.Float(), nullable=False),
        sa.Column("volume", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "open_time", name=op.f("pk_candles")),
    )
    op.create_table(
        "backtests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("exchange", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column(
            "market_type",
            sa.Enum(
                "spot",
                "futures",
                name="market_type",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("initial_capital", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("final_value", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("total_return", sa.Double(), nullable=False),
        sa.Column("max_drawdown", sa.Double(), nullable=False),
        sa.Column("total_trades", sa.Integer(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bot_configs.id"],
            name=op.f("fk_backtests_bot_id_bot_configs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_backtests_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtests")),
    )
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backtests_bot_id"), ["bot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_backtests_owner_id"), ["owner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backtests_owner_id"))
        batch_op.drop_index(batch_op.f("ix_backtests_bot_id"))

    op.drop_table("backtests")
    op.drop_table("candles")
    op.drop_table("candle_series")
