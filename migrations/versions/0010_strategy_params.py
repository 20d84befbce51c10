"""Strategies of one's own: a bot's strategy parameters as JSON, the code fingerprint and
warm-up recorded at activation (and the fingerprint of saved backtests), and the seed's
custom_stop_loss / custom_take_profit / custom_trailing_stop overrides.

Revision ID: 0010_strategy_params
Revises: 0009_bot_ids_never_reused
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_strategy_params"
down_revision: str | None = "0009_bot_ids_never_reused"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite recreates the table: bot ids stay never reused (0009).
KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}
PERC = sa.Numeric(precision=28, scale=10)
CHECKS = {
    "custom_stop_loss_range": "custom_stop_loss IS NULL OR "
    "(custom_stop_loss >= 0 AND custom_stop_loss <= 100)",
    "custom_take_profit_range": "custom_take_profit IS NULL OR "
    "(custom_take_profit >= 0 AND custom_take_profit <= 1000)",
    "custom_trailing_stop_range": "custom_trailing_stop IS NULL OR "
    "(custom_trailing_stop >= 0 AND custom_trailing_stop <= 100)",
}


def upgrade() -> None:
    with op.batch_alter_table(
        "bot_configs", schema=None, table_kwargs=KEEP_AUTOINCREMENT
    ) as batch_op:
        batch_op.add_column(
            sa.Column("strategy_params", sa.JSON(), server_default="{}", nullable=False)
        )
        batch_op.add_column(sa.Column("strategy_fingerprint", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("strategy_warmup", sa.Integer(), nullable=True))
        for column in ("custom_stop_loss", "custom_take_profit", "custom_trailing_stop"):
            batch_op.add_column(sa.Column(column, PERC, nullable=True))
        for name, condition in CHECKS.items():
            batch_op.create_check_constraint(name, condition)
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("strategy_fingerprint", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.drop_column("strategy_fingerprint")
    with op.batch_alter_table(
        "bot_configs", schema=None, table_kwargs=KEEP_AUTOINCREMENT
    ) as batch_op:
        for name in CHECKS:
            batch_op.drop_constraint(op.f(f"ck_bot_configs_{name}"), type_="check")
        for column in (
            "custom_trailing_stop",
            "custom_take_profit",
            "custom_stop_loss",
            "strategy_warmup",
            "strategy_fingerprint",
            "strategy_params",
        ):
            batch_op.drop_column(column)
