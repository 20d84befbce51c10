"""Engines and sessions. SQLite gets foreign keys, WAL and a busy timeout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from workbench.errors import ConfigError, TemporaryError, WorkbenchError
from workbench.settings import get_settings

PG_CONNECT_TIMEOUT_S = 10


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and sane pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_sqlite_file(parsed.database)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and "connect_args" not in kwargs:
        kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _private_sqlite_file(database: str) -> None:
    """Create a new SQLite file (and its folder) owner-only; SQLite gives its -wal and -shm
    files the same mode. An existing file keeps its mode."""
    import os
    from pathlib import Path

    from workbench.settings import make_private_dir

    path = Path(database)
    make_private_dir(path.parent)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per URL per process."""
    return make_engine(url)


def default_engine() -> Engine:
    return engine_for(get_settings().database_url)


@contextmanager
def session_scope(engine: Engine | Connection | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine or default_engine(), expire_on_commit=False) as session, session.begin():
        yield session


# Words of the drivers' messages that mean the server could not be reached at all.
_UNREACHABLE = (
    "connection refused",
    "could not connect",
    "timeout expired",
    "timed out",
    "could not translate host name",
    "no route to host",
    "name or service not known",
    "server closed the connection",
    "connection reset",
    "network is unreachable",
)
_MISSING_SCHEMA = ("no such table", "no such column", "undefinedtable", "undefinedcolumn")


def explain_database_error(error: BaseException, url: str) -> WorkbenchError | None:
    """The one-line, next-step error for a database that is missing, unreachable or not
    migrated (None for anything else, which stays a bug with its traceback)."""
    if not isinstance(error, sa_exc.DBAPIError):
        return None
    parsed = make_url(url)
    where = _where(parsed)
    detail = str(error.orig).strip()
    text = f"{type(error.orig).__name__} {detail}".lower()
    pgcode = getattr(error.orig, "pgcode", None)
    if (
        parsed.get_backend_name() == "postgresql"
        and "does not exist" in text
        and ("database" in text)
    ):
        return ConfigError(
            f"the PostgreSQL database {parsed.database!r} does not exist on {where}: create "
            f"it (createdb {parsed.database}), then run `workbench init`"
        )
    if isinstance(error, sa_exc.OperationalError) and any(w in text for w in _UNREACHABLE):
        first = detail.splitlines()[0] if detail else type(error.orig).__name__
        return TemporaryError(
            f"cannot reach the database at {where} ({first}); check that it is running, "
            "then try again"
        )
    if pgcode in ("42P01", "42703") or any(w in text for w in _MISSING_SCHEMA):
        return ConfigError(_schema_advice(url, where))
    if "file is not a database" in text or "database disk image is malformed" in text:
        return ConfigError(
            f"{where} is not a readable SQLite database: restore a backup "
            "(`workbench db restore FILE --force`) or move the file away and run `workbench init`"
        )
    if "unable to open database file" in text:
        return ConfigError(f"cannot open the SQLite database {where}: is its folder writable?")
    return None


def _schema_advice(url: str, where: str) -> str:
    from workbench.db import migrate

    try:
        revision = migrate.current(url)
    except sa_exc.DBAPIError:
        revision = None
    if revision is None:
        return f"the database {where} has no workbench tables yet: run `workbench init`"
    return (
        f"the database {where} is at revision {revision}, older than this workbench "
        f"({migrate.head()}): run `workbench db upgrade`"
    )


def _where(url: URL) -> str:
    """The database named without its password: a file path or host:port/name."""
    if url.get_backend_name() == "sqlite":
        return str(url.database or ":memory:")
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database}"
