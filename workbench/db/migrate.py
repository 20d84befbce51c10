"""Alembic, driven from Python: ``upgrade``, ``downgrade`` and ``current`` for any URL.

The migration scripts ship inside the repository (``migrations/``, ``alembic.ini``);
``alembic upgrade head`` from the repo root does the same as ``upgrade``.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from workbench.db.engine import make_engine
from workbench.errors import ConfigError, ValidationError

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
    with _revision_errors(revision):
        command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "-1") -> None:
    """Migrate down to ``revision`` unconditionally; the CLI first asks ``downgrade_loss``."""
    with _revision_errors(revision):
        command.downgrade(alembic_config(url), revision)


@contextmanager
def _revision_errors(revision: str) -> Iterator[None]:
    """Alembic's refusal of a revision (unknown, not below the current one, too many
    steps) as one line naming the revisions there are."""
    try:
        yield
    except CommandError as e:
        script = ScriptDirectory.from_config(alembic_config("sqlite://"))
        known = ", ".join(reversed([r.revision for r in script.walk_revisions()]))
        raise ValidationError(
            {"revision": f"{revision}: {e}; use head, base, -N (after --) or one of: {known}"},
            entity="migration",
        ) from None


@dataclass(frozen=True)
class DowngradeLoss:
    """What a downgrade drops: tables (with their rows), columns (with the values set in
    them) and rows deleted from tables that stay."""

    tables: dict[str, int] = field(default_factory=dict)
    columns: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.tables or self.columns or self.rows)

    def describe(self) -> str:
        parts = []
        if self.tables:
            listed = ", ".join(f"{t} ({_n(n, 'row')})" for t, n in self.tables.items())
            parts.append(f"tables {listed}")
        if self.columns:
            listed = ", ".join(f"{c} ({_n(n, 'value')})" for c, n in self.columns.items())
            parts.append(f"columns {listed}")
        if self.rows:
            listed = ", ".join(f"{_n(n, 'row')} of {t}" for t, n in self.rows.items())
            parts.append(f"rows: {listed}")
        return "; ".join(parts) or "nothing"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def downgrade_loss(url: str, revision: str) -> DowngradeLoss:
    """Run the downgrade where it cannot harm (PostgreSQL: a transaction rolled back;
    SQLite: a copy of the file) and compare the schema and row counts before and after."""
    engine = make_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                copy = Path(tmp) / "dry-run.db"
                with engine.connect() as conn:
                    before = _shape(conn)
                    source = conn.connection.dbapi_connection
                    with sqlite3.connect(copy) as target:
                        source.backup(target)  # type: ignore[union-attr]
                    target.close()
                copy_url = f"sqlite:///{copy}"
                downgrade(copy_url, revision)
                copy_engine = make_engine(copy_url)
                with copy_engine.connect() as conn:
                    after = _shape(conn)
                copy_engine.dispose()
        else:
            with engine.connect() as conn:
                transaction = conn.begin()
                before = _shape(conn)
                config = alembic_config(url)
                config.attributes["connection"] = conn
                with _revision_errors(revision):
                    command.downgrade(config, revision)
                after = _shape(conn)
                transaction.rollback()
    finally:
        engine.dispose()
    return _compare(before, after)


_Shape = dict[str, tuple[int, dict[str, int]]]  # table -> (rows, column -> values set)


def _shape(conn: sa.Connection) -> _Shape:
    inspector = sa.inspect(conn)
    shape: _Shape = {}
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        columns = [c["name"] for c in inspector.get_columns(table)]
        quoted = conn.dialect.identifier_preparer.quote
        counts = ", ".join(f"count({quoted(c)})" for c in columns)
        row = conn.exec_driver_sql(f"SELECT count(*), {counts} FROM {quoted(table)}").one()
        shape[table] = (int(row[0]), dict(zip(columns, map(int, row[1:]), strict=True)))
    return shape


def _compare(before: _Shape, after: _Shape) -> DowngradeLoss:
    loss = DowngradeLoss()
    for table, (rows, columns) in before.items():
        if table not in after:
            loss.tables[table] = rows
            continue
        kept_rows, kept_columns = after[table]
        # A column gone while a new one with as many values appears (at its place first)
        # was renamed, not dropped.
        appeared = {c: n for c, n in kept_columns.items() if c not in columns}
        kept_names = list(kept_columns)
        for place, (column, values) in enumerate(columns.items()):
            if column in kept_columns:
                continue
            same_place = kept_names[place] if place < len(kept_names) else ""
            candidates = [same_place] if appeared.get(same_place) == values else []
            candidates += [c for c, n in appeared.items() if n == values]
            if candidates:
                del appeared[candidates[0]]
            else:
                loss.columns[f"{table}.{column}"] = values
        if kept_rows < rows:
            loss.rows[table] = rows - kept_rows
    return loss


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
