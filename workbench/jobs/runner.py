"""Run one notebook with papermill and record it in ``job_runs`` from queued to its end.

The notebook runs in a child process (:mod:`workbench.jobs.child`) that this process
waits for; past the run's timeout the child and its kernel are killed, so a run never
hangs. Whatever happens, the run's folder holds the output notebook (the failing cell
visible, with its error), its HTML export and the child's log, all cleaned of secrets.

    runs/<run id>-<notebook name>/output.ipynb
                                  output.html
                                  run.log

A failed or timed-out run records ``error`` ("ename: evalue") and ``error_cell``: the
index of the failing cell in output.ipynb as written (after papermill's injected
parameters cell and the error banner), or None when no cell had started.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
from sqlalchemy import Engine

from workbench.db.engine import default_engine, session_scope
from workbench.db.models.jobs import JobRun, JobSchedule, RunStatus
from workbench.db.ready import require_ready
from workbench.errors import ConflictError, NotFoundError, RejectedError, ValidationError
from workbench.jobs.notebooks import (
    export_html,
    find_failing_cell,
    has_error_header,
    mark_failure,
    read_notebook,
    scrub_notebook,
    write_notebook,
)
from workbench.jobs.params import check_parameters
from workbench.jobs.runs import create_run, finish_run, get_run, mark_running
from workbench.jobs.scrub import scrub_file, scrub_text, secret_values
from workbench.settings import Settings, get_settings

log = logging.getLogger(__name__)

OUTPUT_NAME = "output.ipynb"
HTML_NAME = "output.html"
LOG_NAME = "run.log"
KILL_WAIT_SECONDS = 10


@dataclass(frozen=True)
class Outcome:
    status: RunStatus
    cell: int | None = None
    ename: str = ""
    evalue: str = ""


def run_notebook(
    notebook: str | Path,
    parameters: dict[str, Any] | None = None,
    *,
    timeout: float | None = None,
    schedule_id: int | None = None,
    slot: datetime | None = None,
    engine: Engine | None = None,
    run_id: int | None = None,
) -> JobRun:
    """Execute ``notebook`` with ``parameters``; return its finished ``JobRun``.

    A new ``queued`` row is made, unless ``run_id`` names one already queued (by the
    scheduler): then that row is run, and ``notebook``/``parameters`` must match it.
    ``timeout`` (seconds) bounds the whole run, kernel start included; past it the run
    ends ``timed_out``. A failing cell or a dying kernel ends it ``failed``.

    Raises NotFoundError for a missing notebook, ValidationError for secret-looking or
    invalid parameters, ConflictError when ``run_id`` is not queued any more.
    """
    settings = get_settings()
    engine = engine or default_engine()
    secrets = secret_values(settings)
    if timeout is not None and not timeout > 0:
        raise ValidationError({"timeout": "must be a positive number of seconds"}, entity="run")
    if run_id is None:
        path = notebook_path(notebook)
        params = check_parameters(parameters, secrets=secrets)
        require_ready(engine.url.render_as_string(hide_password=False))
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
        run_id, path, params, timeout=timeout, engine=engine, settings=settings, secrets=secrets
    )


def execute_run(run_id: int, *, engine: Engine | None = None) -> JobRun:
    """Run the queued run ``run_id`` (what executors call), with its schedule's timeout."""
    engine = engine or default_engine()
    with session_scope(engine) as session:
        run = get_run(session=session, run_id=run_id)
        schedule = session.get(JobSchedule, run.schedule_id) if run.schedule_id else None
        timeout = schedule.timeout_seconds if schedule is not None else None
    return run_notebook(run.notebook, run.parameters, timeout=timeout, engine=engine, run_id=run_id)


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
) -> JobRun:
    folder = run_folder(settings, run_id, path)
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / OUTPUT_NAME
    mark_running(engine=engine, run_id=run_id, output_path=str(output), now=_now())
    # The notebook sees the database its run is recorded in (in the environment, not argv),
    # and this home (its secret key, cache and bot locks), though it runs in its own folder.
    env = {
        "WORKBENCH_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "WORKBENCH_HOME": str(settings.home),
    }
    try:
        outcome = _run_child(
            path, output, params, timeout=timeout, log_path=folder / LOG_NAME, env=env
        )
    except BaseException as e:  # interrupted while waiting (Ctrl-C, SIGTERM): the child is gone
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


def _run_child(
    path: Path,
    output: Path,
    params: dict[str, Any],
    *,
    timeout: float | None,
    log_path: Path,
    env: dict[str, str],
) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="workbench-run-") as tmp:
        spec_path = Path(tmp) / "spec.json"
        result_path = Path(tmp) / "result.json"
        spec = {
            "input": str(path),
            "output": str(output),
            "parameters": params,
            "cwd": str(path.parent),
            "result": str(result_path),
        }
        spec_path.write_text(json.dumps(spec))
        # Kernel connection files (they hold the kernel's HMAC key) stay in the temp folder.
        env = dict(
            os.environ, **env, JUPYTER_RUNTIME_DIR=str(Path(tmp) / "runtime"), PYTHONUNBUFFERED="1"
        )
        with log_path.open("ab") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", "workbench.jobs.child", str(spec_path)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # a Ctrl-C in the terminal reaches only this process
            )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            return Outcome(RunStatus.TIMED_OUT)
        except BaseException:
            _kill_tree(proc)
            raise
        _kill_tree(proc)  # a kernel left behind by a child that crashed
        if not result_path.is_file():
            return Outcome(
                RunStatus.FAILED,
                None,
                "ChildProcessError",
                f"the papermill process exited with code {proc.returncode} without a result; "
                f"see {log_path}",
            )
        result = json.loads(result_path.read_text())
    if result["status"] == RunStatus.SUCCEEDED:
        return Outcome(RunStatus.SUCCEEDED)
    return Outcome(RunStatus.FAILED, result.get("cell"), result["ename"], result["evalue"])


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc`` and every process under it (its kernel runs in a session of its own)."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for child in children:
        try:
            child.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            continue
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=KILL_WAIT_SECONDS)
    psutil.wait_procs(children, timeout=KILL_WAIT_SECONDS)


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
    output = folder / OUTPUT_NAME
    nb = read_notebook(output)
    if nb is None:  # stopped before papermill wrote anything: show the input instead
        nb = nbformat.read(str(path), as_version=4)
    cell, ename, evalue = outcome.cell, outcome.ename, outcome.evalue
    if outcome.status == RunStatus.TIMED_OUT:
        ename = "TimeoutError"
        evalue = f"the run exceeded its timeout of {timeout:g} s and was stopped"
    if outcome.status != RunStatus.SUCCEEDED and not has_error_header(nb):
        cell = mark_failure(nb, find_failing_cell(nb), ename, evalue)
    nb = scrub_notebook(nb, secrets)
    write_notebook(nb, output)
    html: str | None = None
    try:
        html = str(export_html(nb, folder / HTML_NAME))
    except Exception:  # the run's outcome stands; the log says why there is no HTML
        log.exception("job run %s: HTML export failed", run_id)
    scrub_file(folder / LOG_NAME, secrets)
    error = None
    if outcome.status != RunStatus.SUCCEEDED:
        error = scrub_text(f"{ename}: {evalue}" if evalue else ename, secrets)
    return finish_run(
        engine=engine,
        run_id=run_id,
        status=outcome.status,
        html_path=html,
        error_cell=cell,
        error=error,
    )


def _now() -> datetime:
    return datetime.now(UTC)
