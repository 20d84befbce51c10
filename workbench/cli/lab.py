"""``workbench lab``: JupyterLab on the notebooks, sharing this workbench's settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from workbench.settings import Settings

EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}
# The server root, for kernels: the job dashboard links run outputs relative to it.
LAB_ROOT_ENV = "WORKBENCH_LAB_ROOT"


def lab(ctx: typer.Context) -> None:
    """Start JupyterLab in the notebooks folder (other options go to JupyterLab, e.g.
    --port 8890 --no-browser)."""
    from workbench.jobs.notebooks import notebooks_folder
    from workbench.settings import get_settings

    folder = notebooks_folder()
    settings = get_settings()
    env = lab_environment(settings, folder)
    typer.echo(f"JupyterLab in {folder} (workbench home {settings.home}); start with 00_start_here")
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}", *ctx.args]
    sys.stdout.flush()
    sys.stderr.flush()
    # This process becomes JupyterLab: Ctrl-C and SIGTERM reach the server itself, which
    # then shuts its kernels down (a wrapper process would leave the server running).
    os.execve(sys.executable, command, env)


def lab_environment(settings: Settings, folder: Path) -> dict[str, str]:
    """The server's (and so its kernels') environment: this one, plus the settings read
    here (``.env`` included), pinned to absolute paths; kernels run in the notebooks'
    folders, where a relative home or SQLite file would be another one."""
    env = dict(os.environ)
    env.update(
        WORKBENCH_ENV=settings.env,
        WORKBENCH_HOME=str(settings.home),
        WORKBENCH_DATABASE_URL=_absolute_sqlite(settings.database_url),
        **{LAB_ROOT_ENV: str(folder)},
    )
    for name, secret in (
        ("WORKBENCH_REDIS_URL", settings.redis_url),
        ("WORKBENCH_SECRET_KEY", settings.secret_key),
    ):
        if secret is not None:
            env[name] = secret.get_secret_value()
    return env


def _absolute_sqlite(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or not database or database == ":memory:":
        return url
    if database.startswith("file:") or Path(database).is_absolute():
        return url
    return parsed.set(database=str(Path(database).resolve())).render_as_string(hide_password=False)
