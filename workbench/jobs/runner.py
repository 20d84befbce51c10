"""Run one notebook with papermill and record it in ``job_runs`` from queued to its end.

The notebook runs in a kernel started for it, papermill in this process
(:func:`~workbench.jobs.kernel.run_in_kernel`); past the run's timeout the kernel is
killed, so a run never hangs. Whatever happens, the run's folder holds the output notebook
(the failing cell visible, with its error), its HTML export and the kernel's log, all
cleaned of secrets.

    runs/<run id>-<notebook name>/output.ipynb
                                  output.html
                                  run.log

A failed or timed-out run records ``error`` ("ename: evalue") and ``error_cell``: the
position (1 = first) of the failing cell in the source notebook, as its author counts
cells (papermill's injected parameters cell and the error banners are not counted), or
None when no cell had started.

A :class:`~workbench.jobs.warm.WarmKernel` can run the notebook instead (``launch=``): in
a kernel kept between runs, with the same record, outputs, timeout and cancel.

While the kernel runs, this process renews the run's heartbeat (see
:mod:`workbench.jobs.timing`); when the row says the run ended meanwhile (cancelled by
the user, expired by the reaper) the kernel is killed and the output notebook shows that
end, so output and row always agree. The kernel dies with this process. Files are
owner-only; the values of the workbench's secrets and of every stored exchange credential
are scrubbed from them and from the recorded error.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from workbench.db.engine import default_engine, session_scope
from workbench.db.models.jobs import JobRun, JobSchedule, RunStatus
from workbench.errors import (
    ConflictError,
    NotFoundError,
    RejectedError,
    TemporaryError,
    ValidationError,
)
from workbench.jobs.kernel import run_env, run_in_kernel
from workbench.jobs.notebooks import (
    export_html,
    find_failing_cell,
    has_error_header,
    mark_failure,
    read_notebook,
    scrub_notebook,
    source_position,
    write_notebook,
)
from workbench.jobs.outcome import Launch, Outcome
from workbench.jobs.params import check_against_notebook, check_parameters
from workbench.jobs.runs import (
    create_run,
    end_run,
    finish_run,
    get_run,
    heartbeat,
    mark_running,
)
from workbench.jobs.scrub import credential_values, secret_values
from workbench.redact import scrub_file, scrub_text
from workbench.settings import Settings, get_settings, make_private_dir

log = logging.getLogger(__name__)

OUTPUT_NAME = "output.ipynb"
HTML_NAME = "output.html"
LOG_NAME = "run.log"


def run_notebook(
    notebook: str | Path,
    parameters: dict[str, Any] | None = None,
    *,
    timeout: float | None = None,
    schedule_id: int | None = None,
    slot: datetime | None = None,
    engine: Engine | None = None,
    run_id: int | None = None,
    launch: Launch | None = None,
) -> JobRun:
    """Execute ``notebook`` with ``parameters``; return its finished ``JobRun``.

    A new ``queued`` row is made, unless ``run_id`` names one already queued (by the
    scheduler): then that row is run, and ``notebook``/``parameters`` must match it.
    ``timeout`` (seconds) bounds the whole run, kernel start included; past it the run
    ends ``timed_out``. A failing cell or a dying kernel ends it ``failed``. ``launch``
    executes the notebook (default: :func:`~workbench.jobs.kernel.run_in_kernel`, a new
    kernel).

    Raises NotFoundError for a missing notebook, ValidationError for secret-looking or
    invalid parameters, ConflictError when ``run_id`` is not queued any more.
    """
    settings = get_settings()
    secrets = secret_values(settings)
    if timeout is not None and not timeout > 0:
        raise ValidationError({"timeout": "must be a positive number of seconds"}, entity="run")
    if run_id is None:
        path = notebook_path(notebook)
        params = check_parameters(parameters, secrets=secrets)
        check_against_notebook(params, path, entity="run")
    engine = engine or default_engine()
    if run_id is None:
        with session_scope(engine) as session:
            run_id = create_run(
                session=session,
                notebook=str(path),
                parameters=params,
                schedule_id=schedule_id,
                slot=slot,
            ).id
    else:
        path, params = _queued_run_input(engine, run_id, notebook, parameters, secrets)
    return _execute(
        run_id,
        path,
        params,
        timeout=timeout,
        engine=engine,
        settings=settings,
        secrets=secrets,
        launch=launch or run_in_kernel,
    )


def execute_run(
    run_id: int, *, engine: Engine | None = None, launch: Launch | None = None
) -> JobRun:
    """Run the queued run ``run_id`` (what executors call), with its schedule's timeout."""
    engine = engine or default_engine()
    with session_scope(engine) as session:
        run = get_run(session=session, run_id=run_id)
        schedule = session.get(JobSchedule, run.schedule_id) if run.schedule_id else None
        timeout = schedule.timeout_seconds if schedule is not None else None
    return run_notebook(
        run.notebook,
        run.parameters,
        timeout=timeout,
        engine=engine,
        run_id=run_id,
        launch=launch,
    )


def notebook_path(notebook: str | Path) -> Path:
    path = Path(notebook).expanduser().resolve()
    if path.suffix != ".ipynb":
        raise ValidationError({"notebook": f"{notebook} is not a .ipynb file"}, entity="run")
    if not path.is_file():
        raise NotFoundError(f"notebook {notebook} does not exist")
    return path


def _queued_run_input(
    engine: Engine,
    run_id: int,
    notebook: str | Path,
    parameters: dict[str, Any] | None,
    secrets: list[str],
) -> tuple[Path, dict[str, Any]]:
    with session_scope(engine) as session:
        run = get_run(session=session, run_id=run_id)
    if run.status != RunStatus.QUEUED:
        raise ConflictError(
            f"job run {run_id} is {run.status.value}, not queued; it is not started again"
        )
    try:
        path = notebook_path(run.notebook)
        params = check_parameters(run.parameters, secrets=secrets)
        if Path(notebook).expanduser().resolve() != path or (parameters or {}) != params:
            raise ValidationError(
                {"run_id": f"run {run_id} is for {run.notebook} with other parameters"},
                entity="run",
            )
    except RejectedError as e:
        finish_run(
            engine=engine,
            run_id=run_id,
            status=RunStatus.FAILED,
            error=scrub_text(f"{type(e).__name__}: {e}", secrets),
        )
        raise
    return path, params


def run_folder(settings: Settings, run_id: int, notebook: Path) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", notebook.stem).strip("-")[:60] or "notebook"
    return settings.runs_dir / f"{run_id}-{slug}"


def _execute(
    run_id: int,
    path: Path,
    params: dict[str, Any],
    *,
    timeout: float | None,
    engine: Engine,
    settings: Settings,
    secrets: list[str],
    launch: Launch,
) -> JobRun:
    folder = run_folder(settings, run_id, path)
    make_private_dir(folder)
    output = folder / OUTPUT_NAME
    mark_running(engine=engine, run_id=run_id, output_path=str(output), now=_now())
    env = run_env(engine.url.render_as_string(hide_password=False), settings.home)
    try:
        outcome = launch(
            path,
            output,
            params,
            timeout=timeout,
            log_path=folder / LOG_NAME,
            env=env,
            alive=lambda: _still_running(engine, run_id),
        )
    except BaseException as e:  # interrupted while waiting (Ctrl-C, SIGTERM): the kernel is gone
        _finish(
            run_id,
            path,
            folder,
            Outcome(RunStatus.FAILED, None, type(e).__name__, "the run was interrupted"),
            engine=engine,
            secrets=secrets,
        )
        raise
    return _finish(run_id, path, folder, outcome, engine=engine, secrets=secrets, timeout=timeout)


def _still_running(engine: Engine, run_id: int) -> bool:
    """Renew the heartbeat; a database briefly out of reach does not stop the run."""
    try:
        return heartbeat(engine=engine, run_id=run_id)
    except SQLAlchemyError as e:
        log.warning("job run %s: heartbeat not recorded (%s); retrying", run_id, e)
        return True


def _finish(
    run_id: int,
    path: Path,
    folder: Path,
    outcome: Outcome,
    *,
    engine: Engine,
    secrets: list[str],
    timeout: float | None = None,
) -> JobRun:
    secrets = sorted({*secrets, *credential_values(engine)}, key=lambda v: (-len(v), v))
    ended_elsewhere = _ended_elsewhere(engine, run_id)
    if ended_elsewhere is None:
        outcome = _with_message(outcome, timeout)
        nb, cell = _marked_output(path, folder, outcome)
        html = _write_outputs(run_id, nb, folder, secrets)  # before the row says it ended
        if end_run(
            engine=engine,
            run_id=run_id,
            status=outcome.status,
            error_cell=cell,
            error=_error_text(outcome, secrets),
            retryable=outcome.status == RunStatus.FAILED and is_temporary(outcome.ename),
            html_path=html,
            only_from=(RunStatus.RUNNING,),
        ):
            with session_scope(engine) as session:
                return get_run(session=session, run_id=run_id)
        ended_elsewhere = _ended_elsewhere(engine, run_id)  # in the instant between
    assert ended_elsewhere is not None
    _show_end(engine, run_id, path, folder, ended_elsewhere, secrets)
    with session_scope(engine) as session:
        return get_run(session=session, run_id=run_id)


def _show_end(
    engine: Engine, run_id: int, path: Path, folder: Path, outcome: Outcome, secrets: list[str]
) -> None:
    """Mark the output with an end recorded by someone else (cancel, reaper)."""
    nb, cell = _marked_output(path, folder, outcome)
    html = _write_outputs(run_id, nb, folder, secrets)
    with session_scope(engine) as session:
        run = get_run(session=session, run_id=run_id)
        run.error_cell, run.html_path = cell, html


def _ended_elsewhere(engine: Engine, run_id: int) -> Outcome | None:
    """How the run ended when someone else ended it (cancel, reaper); None while running."""
    with session_scope(engine) as session:
        run = get_run(session=session, run_id=run_id)
    if run.status == RunStatus.RUNNING:
        return None
    name = "Cancelled" if run.status == RunStatus.CANCELLED else "RunEnded"
    return Outcome(run.status, None, name, run.error or run.status.value)


def _with_message(outcome: Outcome, timeout: float | None) -> Outcome:
    if outcome.status == RunStatus.TIMED_OUT:
        return Outcome(
            RunStatus.TIMED_OUT,
            outcome.cell,
            "TimeoutError",
            f"the run exceeded its timeout of {timeout:g} s and was stopped",
        )
    return outcome


def _marked_output(path: Path, folder: Path, outcome: Outcome) -> tuple[Any, int | None]:
    """The output notebook with ``outcome`` visible in it, and the failing cell's position
    in the source notebook."""
    nb = read_notebook(folder / OUTPUT_NAME)
    if nb is None:  # stopped before papermill wrote anything: show the input instead
        nb = nbformat.read(str(path), as_version=4)
    if outcome.status == RunStatus.SUCCEEDED:
        return nb, None
    if has_error_header(nb):  # papermill marked the failing cell itself
        return nb, source_position(nb, find_failing_cell(nb))
    index = mark_failure(nb, find_failing_cell(nb), outcome.ename, outcome.evalue)
    return nb, source_position(nb, index)


def _error_text(outcome: Outcome, secrets: list[str]) -> str | None:
    if outcome.status == RunStatus.SUCCEEDED:
        return None
    text = f"{outcome.ename}: {outcome.evalue}" if outcome.evalue else outcome.ename
    return scrub_text(text, secrets)


def _write_outputs(run_id: int, nb: Any, folder: Path, secrets: list[str]) -> str | None:
    """Write the scrubbed notebook, its HTML and log; return the HTML's path (if made)."""
    nb = scrub_notebook(nb, secrets)
    write_notebook(nb, folder / OUTPUT_NAME)
    html: str | None = None
    try:
        html = str(export_html(nb, folder / HTML_NAME))
    except Exception:  # the run's outcome stands; the log says why there is no HTML
        log.exception("job run %s: HTML export failed", run_id)
    scrub_file(folder / LOG_NAME, secrets)
    return html


def mark_ended_output(engine: Engine, run_id: int) -> None:
    """Mark the output of a run ended by someone else (the reaper) with that end."""
    with session_scope(engine) as session:
        run = get_run(session=session, run_id=run_id)
    if not run.output_path or not Path(run.output_path).is_file():
        return  # never started: there is no output to contradict the row
    outcome = Outcome(run.status, None, "RunEnded", run.error or run.status.value)
    secrets = sorted(
        {*secret_values(get_settings()), *credential_values(engine)}, key=lambda v: (-len(v), v)
    )
    _show_end(engine, run_id, Path(run.notebook), Path(run.output_path).parent, outcome, secrets)


def is_temporary(ename: str) -> bool:
    """True when ``ename`` names a TemporaryError (or a subclass): worth retrying later."""
    import workbench.cache.base  # noqa: F401  (defines the cache's temporary errors)

    names = set()
    pending: list[type] = [TemporaryError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return ename in names


def _now() -> datetime:
    return datetime.now(UTC)
