"""API keys: a ``sandbox`` flag (the exchange's testnet, ccxt ``set_sandbox_mode``).

Existing keys are live keys (false); every row is kept.

Revision ID: 0020_key_sandbox
Revises: 0017_seed_names
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_key_sandbox"
down_revision: str | None = "0019_reconcile"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.add_column(sa.Column("sandbox", sa.Boolean(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_column("sandbox")
