"""Backup and restore of the whole database.

PostgreSQL: ``pg_dump`` in its custom format and ``pg_restore`` (the password goes through
the environment, never the command line). SQLite: the online backup API.
A restore refuses to overwrite a database that holds rows unless forced.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from workbench.db.base import Base
from workbench.db.engine import make_engine
from workbench.errors import ConflictError, NotFoundError, OperationalError


def backup(url: str, path: Path) -> Path:
    """Write a backup of the database at ``url`` to ``path``; returns the path."""
    parsed = make_url(url)
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(_sqlite_file(parsed)) as src, sqlite3.connect(path) as dst:
            src.backup(dst)
        return path
    _pg_tool("pg_dump", parsed, ["--format=custom", "--no-owner", f"--file={path}"])
    return path


def restore(url: str, path: Path, *, force: bool = False) -> None:
    """Replace the database at ``url`` with the backup at ``path``."""
    parsed = make_url(url)
    path = path.expanduser().resolve()
    if not path.is_file():
        raise NotFoundError(f"no backup file at {path}")
    rows = rows_held(url)
    if rows and not force:
        raise ConflictError(
            f"the database holds {rows} rows; restoring would overwrite them. "
            "Back it up first, then restore with --force"
        )
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(path) as src, sqlite3.connect(_sqlite_file(parsed)) as dst:
            src.backup(dst)
        return
    _pg_tool(
        "pg_restore",
        parsed,
        ["--clean", "--if-exists", "--no-owner", "--single-transaction", str(path)],
    )


def rows_held(url: str) -> int:
    """How many rows the workbench tables hold (0 for an empty or new database)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            present = set(sa.inspect(conn).get_table_names())
            return sum(
                conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in Base.metadata.sorted_tables
                if t.name in present
            )
    finally:
        engine.dispose()


def _sqlite_file(url: URL) -> str:
    if not url.database or url.database == ":memory:":
        raise OperationalError("an in-memory SQLite database cannot be backed up or restored")
    return url.database


def _pg_tool(tool: str, url: URL, args: list[str]) -> None:
    exe = shutil.which(tool)
    if exe is None:
        raise OperationalError(
            f"{tool} is not installed; install the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client)"
        )
    conn_args = [f"--dbname={url.database}"]
    if url.host:
        conn_args.append(f"--host={url.host}")
    if url.port:
        conn_args.append(f"--port={url.port}")
    if url.username:
        conn_args.append(f"--username={url.username}")
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    result = subprocess.run(
        [exe, "--no-password", *conn_args, *args], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no output"
        raise OperationalError(f"{tool} failed: {detail}")
