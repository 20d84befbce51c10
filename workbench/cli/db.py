"""``workbench db ...``: migrations, statistics, backup and restore."""

from __future__ import annotations

from pathlib import Path

import typer

from workbench.cli.common import JsonOption, print_json, print_table

app = typer.Typer(no_args_is_help=True, help="Database schema, statistics, backup and restore.")


@app.command()
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    from workbench.db import migrate
    from workbench.settings import get_settings

    migrate.upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {migrate.current(get_settings().database_url)}")


@app.command()
def downgrade(revision: str = typer.Argument("-1")) -> None:
    """Migrate the database down to REVISION (default: one step; 'base' removes every table)."""
    from workbench.db import migrate
    from workbench.settings import get_settings

    migrate.downgrade(get_settings().database_url, revision)
    typer.echo(f"database at {migrate.current(get_settings().database_url) or 'base'}")


@app.command()
def current() -> None:
    """Print the revision the database is at, and the newest one."""
    from workbench.db import migrate
    from workbench.settings import get_settings

    typer.echo(f"current {migrate.current(get_settings().database_url) or 'base (empty)'}")
    typer.echo(f"head    {migrate.head()}")


@app.command("stats")
def stats_command(json_out: bool = JsonOption) -> None:
    """Row counts and sizes of every table."""
    from workbench.db import stats
    from workbench.settings import get_settings

    rows = stats.table_stats(get_settings().database_url)
    if json_out:
        print_json(rows)
    else:
        print_table(rows, ["table", "rows", "bytes"])


@app.command("backup")
def backup_command(path: Path) -> None:
    """Write a backup of the whole database to PATH."""
    from workbench.db import backup
    from workbench.settings import get_settings

    written = backup.backup(get_settings().database_url, path)
    typer.echo(f"backup written to {written}")


@app.command("restore")
def restore_command(
    path: Path,
    force: bool = typer.Option(False, "--force", help="Overwrite a database that holds rows."),
) -> None:
    """Restore the database from a backup at PATH (refused over rows unless --force)."""
    from workbench.db import backup
    from workbench.settings import get_settings

    backup.restore(get_settings().database_url, path, force=force)
    typer.echo(f"restored from {path}")
