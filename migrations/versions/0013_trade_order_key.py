"""Trades are unique on what the exchange guarantees: (exchange, account, symbol, exchange
order id) and (exchange, account, client order id). Binance order ids are per symbol, and
live and sandbox accounts may share a database. Existing rows get the account "".

Revision ID: 0013_trade_order_key
Revises: 0012_backtest_stats
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_trade_order_key"
down_revision: str | None = "0012_backtest_stats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("account", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.drop_constraint("uq_trades_exchange_client_order_id", type_="unique")
        batch_op.drop_constraint("uq_trades_exchange_exchange_order_id", type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_trades_exchange_account_client_order_id"),
            ["exchange", "account", "client_order_id"],
        )
        batch_op.create_unique_constraint(
            op.f("uq_trades_exchange_account_symbol_exchange_order_id"),
            ["exchange", "account", "symbol", "exchange_order_id"],
        )


def downgrade() -> None:
    """Refuses (IntegrityError) when two kept trades share an exchange order id across
    symbols or accounts: the old key cannot hold them, and no row is dropped silently."""
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_trades_exchange_account_symbol_exchange_order_id", type_="unique"
        )
        batch_op.drop_constraint("uq_trades_exchange_account_client_order_id", type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_trades_exchange_exchange_order_id"), ["exchange", "exchange_order_id"]
        )
        batch_op.create_unique_constraint(
            op.f("uq_trades_exchange_client_order_id"), ["exchange", "client_order_id"]
        )
        batch_op.drop_column("account")
