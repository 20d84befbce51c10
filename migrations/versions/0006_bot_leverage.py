"""Leverage for futures bots: 1 to 125, and exactly 1 for spot.

Revision ID: 0006_bot_leverage
Revises: 0005_jobs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_bot_leverage"
down_revision: str | None = "0005_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bot_configs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leverage", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_check_constraint(
            "leverage_range",
            "leverage >= 1 AND leverage <= 125 AND (position_type = 'futures' OR leverage = 1)",
        )


def downgrade() -> None:
    with op.batch_alter_table("bot_configs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_bot_configs_leverage_range"), type_="check")
        batch_op.drop_column("leverage")
