"""Is a database ready for work as it is? Checked without creating, migrating or writing
anything: the production paths (job notebooks, job runs) use a database, never make one."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from workbench.db import migrate
from workbench.db.engine import explain_database_error
from workbench.errors import ConfigError
from workbench.redact import redact_url


def require_ready(url: str) -> None:
    """Raise ConfigError unless the database at ``url`` exists and is at the newest
    revision (TemporaryError when its server cannot be reached)."""
    parsed = make_url(url)
    shown = redact_url(url)
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file not in (None, "", ":memory:") and not Path(str(file)).exists():
        raise ConfigError(f"no database at {file}; run `workbench init` first")
    try:
        at = migrate.current(url)
    except sa.exc.DBAPIError as e:  # missing or unreachable: the engine module explains it
        explained = explain_database_error(e, url)
        if explained is None:
            raise
        raise explained from e
    if at is None:
        raise ConfigError(f"the database {shown} has no workbench tables; run `workbench init`")
    newest = migrate.head()
    if at != newest:
        raise ConfigError(
            f"the database {shown} is at revision {at}, this workbench needs {newest}; run "
            "`workbench db backup` then `workbench db upgrade`"
        )
