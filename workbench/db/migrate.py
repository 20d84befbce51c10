"""Alembic, driven from Python: ``upgrade``, ``downgrade`` and ``current`` for any URL.

The migration scripts ship inside the repository (``migrations/``, ``alembic.ini``);
``alembic upgrade head`` from the repo root does the same as ``upgrade``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from workbench.db.engine import make_engine
from workbench.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str) -> Config:
    ini = REPO_ROOT / "alembic.ini"
    if not ini.exists():
        raise ConfigError(
            f"alembic.ini not found at {ini}: install the workbench from its repository "
            "(`pip install -e .`) so the migrations are available"
        )
    config = Config(str(ini))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "-1") -> None:
    command.downgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    """The revision the database is at (None for an empty database)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
