"""The paper exchange's books: accounts, balances, orders and futures positions.

Revision ID: 0007_paper_exchange
Revises: 0006_bot_leverage
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_paper_exchange"
down_revision: str | None = "0006_bot_leverage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "paper_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("fee_rate", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("slippage", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("maint_margin", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_paper_accounts_name")),
    )
    op.create_table(
        "paper_balances",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("asset", sa.String(length=32), nullable=False),
        sa.Column("free", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("used", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.CheckConstraint("free >= 0 AND used >= 0", name=op.f("ck_paper_balances_not_negative")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["paper_accounts.id"],
            name=op.f("fk_paper_balances_account_id_paper_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "asset", name=op.f("pk_paper_balances")),
    )
    op.create_table(
        "paper_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("client_order_id", sa.String(length=128), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("limit_price", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("reserved", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("filled", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("cost", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("average", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("fee", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("fee_currency", sa.String(length=32), nullable=True),
        sa.Column("filled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["paper_accounts.id"],
            name=op.f("fk_paper_orders_account_id_paper_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_orders")),
        sa.UniqueConstraint(
            "account_id", "client_order_id", name=op.f("uq_paper_orders_account_id_client_order_id")
        ),
    )
    with op.batch_alter_table("paper_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_paper_orders_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "paper_positions",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("leverage", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("entry_price", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("margin", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("liquidation_price", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["paper_accounts.id"],
            name=op.f("fk_paper_positions_account_id_paper_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "symbol", name=op.f("pk_paper_positions")),
    )


def downgrade() -> None:
    op.drop_table("paper_positions")
    with op.batch_alter_table("paper_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_orders_account_id"))

    op.drop_table("paper_orders")
    op.drop_table("paper_balances")
    op.drop_table("paper_accounts")
