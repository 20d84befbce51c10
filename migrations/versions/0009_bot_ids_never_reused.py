"""Bot ids are never reused (SQLite AUTOINCREMENT): a new bot must not inherit a deleted
bot's client order ids or paper account. PostgreSQL sequences never reuse ids already.

Revision ID: 0009_bot_ids_never_reused
Revises: 0008_bot_events
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_bot_ids_never_reused"
down_revision: str | None = "0008_bot_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "bot_configs", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    _recreate(True)


def downgrade() -> None:
    _recreate(False)
