"""The ``workbench`` command: thin over package functions; errors become one line + exit code.

Each command group lives in its own module and is registered here.
"""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy import exc as sa_exc
from typer.core import TyperGroup

from workbench.cli import bots, data, db, jobs, keys, lab, notify, setup, strategy
from workbench.cli.common import exit_code
from workbench.errors import WorkbenchError


class _WorkbenchGroup(TyperGroup):
    """Turns a WorkbenchError from any command into ``error: ...`` and its exit code; so
    too a database that is missing, unreachable or not migrated (other database errors
    are bugs and keep their traceback)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except WorkbenchError as e:
            typer.echo(f"error: {e}", err=True)
            ctx.exit(exit_code(e))
        except sa_exc.DBAPIError as e:
            from workbench.db.engine import explain_database_error
            from workbench.settings import get_settings

            problem = explain_database_error(e, get_settings().database_url)
            if problem is None:
                raise
            typer.echo(f"error: {problem}", err=True)
            ctx.exit(exit_code(problem))


app = typer.Typer(
    cls=_WorkbenchGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Research and trading workbench for crypto bots.",
)
setup.register(app)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(notify.app, name="notify")
app.add_typer(jobs.jobs_app, name="jobs")
app.add_typer(jobs.schedule_app, name="schedule")
app.command("run", context_settings=jobs.PASS_PARAMETERS)(jobs.run)
app.command("scheduler")(jobs.scheduler)
app.command("worker")(jobs.worker)
app.command("lab", context_settings=lab.EXTRA_ARGS)(lab.lab)
app.add_typer(data.app, name="data")
bots.register(app)
app.add_typer(strategy.app, name="strategy")


def main() -> None:
    app()
