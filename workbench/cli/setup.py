"""``workbench init``: home, secret key, migrations, the default local user."""

from __future__ import annotations

import typer

from workbench.cli.common import JsonOption, db_session, print_json
from workbench.redact import redact_url


def init(json_out: bool = JsonOption) -> None:
    """Create the home folder and secret key, migrate the database, add the local user."""

    from workbench.accounts import local_user
    from workbench.db import migrate
    from workbench.settings import get_settings, make_private_dir

    settings = get_settings()
    make_private_dir(settings.home)
    settings.fernet_keys()  # makes the development key on first use; refuses placeholders
    migrate.upgrade(settings.database_url)
    with db_session() as session:
        user = local_user(session=session)
        result = {
            "home": settings.home,
            "database": redact_url(settings.database_url),
            "revision": migrate.current(settings.database_url),
            "user": user.email,
        }
    if json_out:
        print_json(result)
    else:
        for key, value in result.items():
            typer.echo(f"{key:9} {value}")


def demo(json_out: bool = JsonOption) -> None:
    """The main job, offline: sample market, demo bots, backtests, a sweep, a replay."""
    from workbench.demo import run_demo

    result = run_demo(say=(lambda _: None) if json_out else typer.echo, progress=not json_out)
    if json_out:
        print_json(result)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(demo)
