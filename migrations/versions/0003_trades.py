"""Trades, indexed by bot, symbol and time.

Revision ID: 0003_trades
Revises: 0002_bot_configs_states
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_trades"
down_revision: str | None = "0002_bot_configs_states"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("exchange", sa.String(length=64), nullable=False),
        sa.Column("exchange_order_id", sa.String(length=128), nullable=False),
        sa.Column("client_order_id", sa.String(length=128), nullable=True),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column(
            "side",
            sa.Enum(
                "buy", "sell", name="side", native_enum=False, create_constraint=True, length=16
            ),
            nullable=False,
        ),
        sa.Column("order_type", sa.String(length=16), nullable=False),
        sa.Column("price", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("quote_quantity", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column(
            "commission", sa.Numeric(precision=28, scale=10), server_default="0", nullable=False
        ),
        sa.Column("commission_asset", sa.String(length=32), nullable=True),
        sa.Column("pnl", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("realized_pnl", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "price >= 0 AND quantity >= 0 AND quote_quantity >= 0",
            name=op.f("ck_trades_amounts_pos"),
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bot_configs.id"],
            name=op.f("fk_trades_bot_id_bot_configs"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_trades_owner_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
        sa.UniqueConstraint(
            "exchange", "client_order_id", name=op.f("uq_trades_exchange_client_order_id")
        ),
        sa.UniqueConstraint(
            "exchange", "exchange_order_id", name=op.f("uq_trades_exchange_exchange_order_id")
        ),
    )
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trades_bot_id"), ["bot_id"], unique=False)
        batch_op.create_index(
            "ix_trades_bot_symbol_time", ["bot_id", "symbol", "executed_at"], unique=False
        )
        batch_op.create_index("ix_trades_executed_at", ["executed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_trades_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_trades_symbol_time", ["symbol", "executed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_index("ix_trades_symbol_time")
        batch_op.drop_index(batch_op.f("ix_trades_owner_id"))
        batch_op.drop_index("ix_trades_executed_at")
        batch_op.drop_index("ix_trades_bot_symbol_time")
        batch_op.drop_index(batch_op.f("ix_trades_bot_id"))

    op.drop_table("trades")
