"""``workbench db ...``: migrations, statistics, backup and restore."""

from __future__ import annotations

from pathlib import Path

import typer

from workbench.cli.common import JsonOption, print_json, print_table
from workbench.errors import ConflictError

app = typer.Typer(no_args_is_help=True, help="Database schema, statistics, backup and restore.")


@app.command()
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the database up to REVISION (default: the newest)."""

    from workbench.db import migrate
    from workbench.settings import get_settings

    migrate.upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {migrate.current(get_settings().database_url)}")


@app.command()
def downgrade(
    revision: str = typer.Argument("-1"),
    yes: bool = typer.Option(
        False, "--yes", help="Go ahead although the downgrade drops tables, columns or rows."
    ),
) -> None:
    """Migrate the database down to REVISION (default: one step; 'base' removes every table).

    A downgrade that drops tables, columns or rows says what it drops and needs --yes;
    back up first with `workbench db backup FILE`.
    """
    from workbench.db import migrate
    from workbench.settings import get_settings

    url = get_settings().database_url
    loss = migrate.downgrade_loss(url, revision)
    if loss and not yes:
        raise ConflictError(
            f"downgrading to {revision} drops {loss.describe()}. Back up first "
            "(`workbench db backup FILE`), then run it again with --yes"
        )
    migrate.downgrade(url, revision)
    if loss:
        typer.echo(f"dropped {loss.describe()}")
    typer.echo(f"database at {migrate.current(url) or 'base'}")


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
    typer.echo(
        f"backup written to {written}; {backup.manifest_path(written).name} beside it records "
        "its revision and which secret key its API keys need"
    )


@app.command("restore")
def restore_command(
    path: Path,
    force: bool = typer.Option(
        False,
        "--force",
        help="Overwrite a database that holds rows; restore API keys the current secret "
        "keys cannot decrypt.",
    ),
) -> None:
    """Restore the database from a workbench backup at PATH.

    Refused, changing nothing: a file that is not a whole workbench backup for this kind
    of database; without --force, a database that holds rows or API keys that the
    current secret keys cannot decrypt.
    """

    from workbench.db import backup
    from workbench.settings import get_settings

    backup.restore(get_settings().database_url, path, force=force)
    typer.echo(f"restored from {path}")
