"""``workbench run``, ``jobs``, ``schedule``, ``scheduler``, ``worker``: notebook jobs."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from workbench.cli.common import JsonOption, db_session, print_json, print_table, to_jsonable
from workbench.errors import ValidationError
from workbench.types import MissedRuns, RunStatus

if TYPE_CHECKING:
    from workbench.jobs.views import RunView

jobs_app = typer.Typer(no_args_is_help=True, help="Job runs: list them, show one, cancel one.")
schedule_app = typer.Typer(no_args_is_help=True, help="Run notebooks on a cron schedule.")

# typer has no option taking two values repeatedly, so ``-p NAME VALUE`` is read from the
# command's arguments (in order); commands using it are registered with PASS_PARAMETERS.
PASS_PARAMETERS = {"ignore_unknown_options": True}
NotebookArgs = typer.Argument(
    ...,
    metavar="NOTEBOOK [-p NAME VALUE]...",
    help="The .ipynb, then notebook parameters: -p NAME VALUE (or --parameters), repeatable. "
    "Values are read as papermill does: 3 is an int, 0.5 a float, True/False/None "
    "themselves, anything else text.",
    show_default=False,
)


def notebook_and_parameters(args: list[str]) -> tuple[Path, dict[str, Any]]:
    """``["nb.ipynb", "-p", "days", "3"]`` -> (Path("nb.ipynb"), {"days": 3})."""

    from workbench.jobs import parse_pairs

    notebooks: list[str] = []
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(args):
        if args[i] in ("-p", "--parameters"):
            if i + 2 >= len(args):
                raise ValidationError(
                    {"parameters": f"{args[i]} needs a NAME and a VALUE"}, entity="command"
                )
            pairs.append((args[i + 1], args[i + 2]))
            i += 3
        elif args[i].startswith("-") and len(args[i]) > 1:
            raise ValidationError({args[i]: "no such option (see --help)"}, entity="command")
        else:
            notebooks.append(args[i])
            i += 1
    if len(notebooks) != 1:
        raise ValidationError(
            {"notebook": f"expected one notebook, got {len(notebooks)}: {notebooks}"},
            entity="command",
        )
    return Path(notebooks[0]), parse_pairs(pairs)


TimeoutOption = typer.Option(
    None, "--timeout", min=0.001, help="Stop the whole run after this many seconds."
)


def run(
    ctx: typer.Context,
    args: list[str] = NotebookArgs,
    timeout: float | None = TimeoutOption,
    json_out: bool = JsonOption,
) -> None:
    """Run NOTEBOOK now with papermill and record the run; exit 1 when it fails."""

    from workbench.jobs.kernel import KernelLaunch, run_env
    from workbench.settings import get_settings

    notebook, parameters = notebook_and_parameters(args)
    settings = get_settings()
    # The kernel starts first (the console script started it already: ctx.obj); it loads
    # while this process checks and records the run.
    early = ctx.obj if isinstance(ctx.obj, KernelLaunch) else None
    with early or KernelLaunch(notebook, run_env(settings.database_url, settings.home)) as launch:
        from workbench.db.ready import require_ready
        from workbench.jobs import RunView, run_notebook

        # A run needs a database made by `workbench init`: checked before anything is created.
        require_ready(settings.database_url)
        job = run_notebook(notebook, parameters, timeout=timeout, launch=launch)
    if json_out:
        print_json(RunView.of(job).as_dict())
    else:
        typer.echo(f"run {job.id} {job.status.value}")
        typer.echo(f"output {job.output_path}")
        if job.html_path:
            typer.echo(f"html   {job.html_path}")
        if job.error:
            at = f" (cell {job.error_cell})" if job.error_cell is not None else ""
            typer.echo(f"error{at}: {job.error}", err=True)
    if job.status != RunStatus.SUCCEEDED:
        raise typer.Exit(1)


@jobs_app.command("runs")
def runs_command(
    limit: int = typer.Option(20, "--limit", min=1, help="How many runs, newest first."),
    json_out: bool = JsonOption,
) -> None:
    """The latest job runs, newest first."""

    from workbench.jobs import read_runs

    with db_session() as session:
        runs = read_runs(session=session, limit=limit)
    if json_out:
        print_json([r.as_dict() for r in runs])
        return
    print_table([_run_row(r) for r in runs])


def _run_row(run: RunView) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "notebook": run.notebook_name,
        "schedule": run.schedule_id,
        "slot": _short(run.slot),
        "started": _short(run.started_at),
        "seconds": run.seconds_text or None,
        "error": (run.error or "")[:60],
    }


def _short(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


@jobs_app.command("show")
def show_command(run_id: int, json_out: bool = JsonOption) -> None:
    """Everything recorded about one run: status, times, output files, the error."""

    from workbench.jobs import read_run

    with db_session() as session:
        fields = read_run(session=session, run_id=run_id).as_dict()
    if json_out:
        print_json(fields)
        return
    for key, value in to_jsonable(fields).items():
        typer.echo(f"{key:17} {'' if value is None else value}")


@jobs_app.command("cancel")
def cancel_command(run_id: int, json_out: bool = JsonOption) -> None:
    """Cancel a queued or running run; a running notebook is stopped within a heartbeat."""

    from workbench.db.engine import default_engine
    from workbench.jobs import RunView
    from workbench.jobs.runs import cancel_run
    from workbench.jobs.timing import heartbeat_seconds

    was = _status_of(run_id)
    job = cancel_run(engine=default_engine(), run_id=run_id)
    if json_out:
        print_json(RunView.of(job).as_dict())
        return
    typer.echo(f"run {job.id} cancelled (was {was.value})")
    if was == RunStatus.RUNNING:
        typer.echo(
            f"its process stops the notebook within {heartbeat_seconds():g} s "
            f"(see `workbench jobs show {job.id}`)"
        )


def _status_of(run_id: int) -> RunStatus:
    from workbench.jobs import get_run

    with db_session() as session:
        return get_run(session=session, run_id=run_id).status


@schedule_app.command("add", context_settings=PASS_PARAMETERS)
def schedule_add(
    args: list[str] = NotebookArgs,
    cron: str = typer.Option(..., "--cron", help="Cron expression, e.g. '*/15 * * * *'."),
    tz: str = typer.Option("UTC", "--tz", help="IANA timezone of the cron, e.g. Europe/Berlin."),
    name: str | None = typer.Option(None, "--name", help="Default: the notebook's name."),
    missed: str = typer.Option(
        MissedRuns.SKIP.value,
        "--missed",
        help="Slots missed while nothing ran: skip | run_once | run_all.",
    ),
    timeout: int | None = typer.Option(
        None, "--timeout", min=1, help="Stop each run after this many seconds."
    ),
    retries: int = typer.Option(
        0, "--retries", min=0, max=10, help="Run again after a temporary failure, this often."
    ),
    retry_delay: int = typer.Option(
        60, "--retry-delay", min=1, help="Seconds before the first retry; doubles each time."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Run NOTEBOOK at every slot of a cron expression (needs `workbench scheduler`)."""

    from workbench.jobs import ScheduleView, add_schedule

    notebook, parameters = notebook_and_parameters(args)
    if missed not in {m.value for m in MissedRuns}:
        raise ValidationError(
            {"missed": f"{missed!r} is not one of skip, run_once, run_all"}, entity="schedule"
        )
    with db_session() as session:
        schedule = add_schedule(
            session=session,
            notebook=notebook,
            cron=cron,
            timezone=tz,
            name=name,
            parameters=parameters,
            missed_runs=MissedRuns(missed),
            timeout_seconds=timeout,
            max_retries=retries,
            retry_delay_seconds=retry_delay,
        )
        view = ScheduleView.of(schedule)
    if json_out:
        print_json(view.as_dict())
    else:
        typer.echo(
            f"added schedule {view.id} {view.name!r}: {view.cron} "
            f"({view.timezone}), next run {view.next_local_text}"
        )


@schedule_app.command("list")
def schedule_list(json_out: bool = JsonOption) -> None:
    """Every schedule with its next slot."""

    from workbench.jobs import read_schedules

    with db_session() as session:
        schedules = read_schedules(session=session)
    if json_out:
        print_json([s.as_dict() for s in schedules])
        return
    print_table(
        [
            {
                "id": s.id,
                "name": s.name,
                "enabled": "yes" if s.enabled else "no",
                "cron": s.cron,
                "tz": s.timezone,
                "missed": s.missed_runs,
                "timeout": s.timeout_seconds,
                "next": s.next_local_text if s.enabled else None,
                "notebook": s.notebook_name,
                "parameters": to_jsonable(s.parameters) or None,
            }
            for s in schedules
        ]
    )


@schedule_app.command("enable")
def schedule_enable(schedule_id: int) -> None:
    """Start running a schedule again (slots missed while disabled are not run)."""

    from workbench.jobs import set_enabled

    with db_session() as session:
        schedule = set_enabled(session=session, schedule_id=schedule_id, enabled=True)
        typer.echo(f"schedule {schedule.id} {schedule.name!r} enabled")


@schedule_app.command("disable")
def schedule_disable(schedule_id: int) -> None:
    """Stop running a schedule (runs in progress finish)."""

    from workbench.jobs import set_enabled

    with db_session() as session:
        schedule = set_enabled(session=session, schedule_id=schedule_id, enabled=False)
        typer.echo(f"schedule {schedule.id} {schedule.name!r} disabled")


@schedule_app.command("remove")
def schedule_remove(schedule_id: int) -> None:
    """Delete a schedule; its past runs stay listed."""

    from workbench.jobs import remove_schedule

    with db_session() as session:
        remove_schedule(session=session, schedule_id=schedule_id)
    typer.echo(f"schedule {schedule_id} removed")


def scheduler(
    poll: float = typer.Option(30.0, "--poll", min=0.1, help="Seconds between ticks."),
    executor: str = typer.Option(
        "local", "--executor", help="local | warm (kernels kept between runs) | celery"
    ),
    queue: str | None = typer.Option(None, "--queue", help="Celery queue (celery executor)."),
    workers: int = typer.Option(2, "--workers", min=1, help="Warm worker processes (warm)."),
) -> None:
    """Start due scheduled runs until SIGTERM/Ctrl-C (several schedulers may share a DB)."""
    from workbench.jobs import CeleryExecutor, Executor, LocalExecutor, WarmExecutor, run_forever

    if executor not in ("local", "warm", "celery"):
        raise ValidationError({"executor": f"{executor!r} is not local, warm or celery"})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    chosen: Executor = (
        CeleryExecutor(queue=queue)
        if executor == "celery"
        else WarmExecutor(workers=workers)
        if executor == "warm"
        else LocalExecutor()
    )
    typer.echo(f"scheduler: polling every {poll:g} s, {executor} executor; Ctrl-C stops")
    run_forever(poll, executor=chosen)
    if isinstance(chosen, WarmExecutor):
        typer.echo("scheduler stopped; the warm workers finish the runs already handed over")
        chosen.close()
    typer.echo("scheduler stopped")


def worker(
    concurrency: int = typer.Option(1, "--concurrency", min=1, help="Runs at the same time."),
    queue: str | None = typer.Option(None, "--queue", help="Celery queue to take runs from."),
    loglevel: str = typer.Option("INFO", "--loglevel"),
) -> None:
    """Start a Celery worker that executes scheduled runs (broker: WORKBENCH_REDIS_URL)."""
    from workbench.jobs.celery_app import DEFAULT_QUEUE, start_worker

    start_worker(concurrency=concurrency, queue=queue or DEFAULT_QUEUE, loglevel=loglevel)
