"""Backup and restore of the whole database.

PostgreSQL: ``pg_dump`` in its custom format and ``pg_restore`` (the password goes through
the environment, never the command line). SQLite: the online backup API.

Beside each backup, ``<file>.json`` records its schema revision and the fingerprints of
the secret keys its API keys are encrypted with (never the keys). A restore first checks
that the file is a whole workbench backup for this kind of database and that the
current secret keys decrypt its API keys; it refuses to overwrite a database that holds
rows, or to restore undecryptable keys, unless forced. Refused restores change nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from workbench.accounts.crypto import fingerprint, keys_needed
from workbench.db.base import Base
from workbench.db.engine import make_engine
from workbench.errors import (
    ConflictError,
    NotFoundError,
    OperationalError,
    RejectedError,
)
from workbench.settings import Settings, get_settings

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def backup(url: str, path: Path, *, settings: Settings | None = None) -> Path:
    """Write a backup of the database at ``url`` to ``path`` (and its manifest)."""
    parsed = make_url(url)
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(_sqlite_file(parsed)) as src, sqlite3.connect(path) as dst:
            src.backup(dst)
    else:
        _pg_tool("pg_dump", parsed, ["--format=custom", "--no-owner", f"--file={path}"])
    tokens = _live_tokens(url)
    needed, undecryptable = keys_needed(tokens, settings)
    manifest = {
        "workbench_backup": 1,
        "database": parsed.get_backend_name(),
        "revision": _live_revision(url),
        "api_keys": len(tokens) // 2,
        "secret_keys": sorted(needed),
        "undecryptable_secrets": undecryptable,
    }
    manifest_path(path).write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def restore(url: str, path: Path, *, force: bool = False, settings: Settings | None = None) -> None:
    """Replace the database at ``url`` with the backup at ``path``."""
    parsed = make_url(url)
    path = path.expanduser().resolve()
    if not path.is_file():
        raise NotFoundError(f"no backup file at {path}")
    sqlite = parsed.get_backend_name() == "sqlite"
    tokens = _sqlite_backup_tokens(path) if sqlite else _pg_backup_tokens(parsed, path)
    _check_keys(path, tokens, settings, force=force)
    rows = rows_held(url)
    if rows and not force:
        raise ConflictError(
            f"the database holds {rows} rows; restoring would overwrite them. "
            "Back it up first, then restore with --force"
        )
    if sqlite:
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


# --- what a backup holds ------------------------------------------------------------------


def _kind(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    return "unknown"


def _not_a_backup(path: Path, why: str) -> RejectedError:
    return RejectedError(f"{path.name} is not a workbench backup: {why}; nothing was restored")


def _check_is_workbench(path: Path, tables: set[str], revision: str | None) -> None:
    if revision is not None and revision not in _known_revisions():
        raise _not_a_backup(
            path, f"its schema revision {revision} is unknown to this workbench (a newer one?)"
        )
    if revision is None and not {t.name for t in Base.metadata.sorted_tables} <= tables:
        raise _not_a_backup(path, "it lacks the workbench's tables and schema revision")


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from workbench.db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {r.revision for r in script.walk_revisions()}


def _sqlite_backup_tokens(path: Path) -> list[str]:
    """The encrypted API key fields of a SQLite backup, after checking it is one."""
    kind = _kind(path)
    if kind == "postgresql":
        raise _not_a_backup(path, "it is a PostgreSQL dump; restore it into PostgreSQL")
    if kind != "sqlite":
        raise _not_a_backup(path, "it is not a SQLite database")
    try:
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as conn:
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise _not_a_backup(path, f"it is damaged ({check[0] if check else 'empty'})")
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            revision = None
            if "alembic_version" in tables:
                found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = found[0] if found else None
            _check_is_workbench(path, tables, revision)
            if "api_keys" not in tables:
                return []
            rows = conn.execute(
                "SELECT api_key_encrypted, secret_key_encrypted FROM api_keys"
            ).fetchall()
        conn.close()
    except sqlite3.DatabaseError as e:
        raise _not_a_backup(path, f"SQLite cannot read it ({e})") from None
    return [token for row in rows for token in row]


def _pg_backup_tokens(url: URL, path: Path) -> list[str]:
    """The encrypted API key fields of a pg_dump backup, after checking it is one."""
    kind = _kind(path)
    if kind == "sqlite":
        raise _not_a_backup(path, "it is a SQLite database; restore it into SQLite")
    if kind != "postgresql":
        raise _not_a_backup(path, "it is not a pg_dump custom-format file")
    try:
        listing = _pg_tool("pg_restore", None, ["--list", str(path)])
        data = _pg_tool("pg_restore", None, ["--data-only", "--file=-", str(path)])
    except OperationalError as e:
        raise _not_a_backup(path, f"pg_restore cannot read it ({e})") from None
    tables = {
        parts[-2]
        for line in listing.splitlines()
        if " TABLE " in line and not line.startswith(";") and len(parts := line.split()) >= 2
    }
    revision = _copy_rows(data, "alembic_version")
    _check_is_workbench(path, tables, revision[0][0] if revision else None)
    return [
        token
        for row in _copy_rows(data, "api_keys", ["api_key_encrypted", "secret_key_encrypted"])
        for token in row
    ]


def _copy_rows(sql: str, table: str, columns: list[str] | None = None) -> list[list[str]]:
    """Rows of ``table`` from a plain-text dump's ``COPY ... FROM stdin`` block."""
    lines = iter(sql.splitlines())
    for line in lines:
        if line.startswith(f"COPY public.{table} ("):
            names = [c.strip().strip('"') for c in line.split("(", 1)[1].split(")")[0].split(",")]
            wanted = [names.index(c) for c in columns] if columns else list(range(len(names)))
            rows = []
            for row in lines:
                if row == "\\.":
                    break
                fields = row.split("\t")
                rows.append([fields[i] for i in wanted])
            return rows
    return []


def _check_keys(path: Path, tokens: list[str], settings: Settings | None, *, force: bool) -> None:
    """Refuse a backup whose API keys the current secret keys cannot decrypt."""
    if not tokens:
        return
    settings = settings or get_settings()
    _, undecryptable = keys_needed(tokens, settings)
    if not undecryptable or force:
        return
    recorded = ""
    manifest = manifest_path(path)
    if manifest.is_file():
        needed = json.loads(manifest.read_text()).get("secret_keys") or []
        recorded = f" (it needs the secret key with fingerprint {', '.join(needed)};"
        current = ", ".join(fingerprint(k) for k in settings.fernet_keys())
        recorded += f" the current keys are {current})"
    raise ConflictError(
        f"{path.name}: {undecryptable // 2 or 1} API key(s) in it cannot be decrypted with the "
        f"current secret keys{recorded}. Add the key it was made with after the newest one "
        "(WORKBENCH_SECRET_KEY=new,old, or a line in the home's secret.key), or restore with "
        "--force and add the API keys again"
    )


def _live_tokens(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if "api_keys" not in sa.inspect(conn).get_table_names():
                return []
            rows = conn.execute(
                sa.text("SELECT api_key_encrypted, secret_key_encrypted FROM api_keys")
            ).all()
    finally:
        engine.dispose()
    return [token for row in rows for token in row]


def _live_revision(url: str) -> str | None:
    from workbench.db import migrate

    return migrate.current(url)


def _sqlite_file(url: URL) -> str:
    if not url.database or url.database == ":memory:":
        raise OperationalError("an in-memory SQLite database cannot be backed up or restored")
    return url.database


def _pg_tool(tool: str, url: URL | None, args: list[str]) -> str:
    """Run a PostgreSQL client tool (against ``url`` when given); returns its stdout."""
    exe = shutil.which(tool)
    if exe is None:
        raise OperationalError(
            f"{tool} is not installed; install the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client)"
        )
    conn_args = []
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if url is not None:
        conn_args = ["--no-password", f"--dbname={url.database}"]
        if url.host:
            conn_args.append(f"--host={url.host}")
        if url.port:
            conn_args.append(f"--port={url.port}")
        if url.username:
            conn_args.append(f"--username={url.username}")
        if url.password:
            env["PGPASSWORD"] = str(url.password)
    result = subprocess.run([exe, *conn_args, *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no output"
        raise OperationalError(f"{tool} failed: {detail}")
    return result.stdout
