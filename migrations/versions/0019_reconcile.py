"""A bot halted by reconciliation: why, the evidence and when (bot_states).

Revision ID: 0019_reconcile
Revises: 0017_seed_names
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_reconcile"
down_revision: str | None = "0017_seed_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bot_states") as batch:
        batch.add_column(sa.Column("halt_reason", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("halt_evidence", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("halted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bot_states") as batch:
        batch.drop_column("halted_at")
        batch.drop_column("halt_evidence")
        batch.drop_column("halt_reason")
