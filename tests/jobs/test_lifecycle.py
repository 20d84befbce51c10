"""Runs that never lie: heartbeats, expiry and the reaper, cancel, children that die with
their parent. Real execute and scheduler processes, real papermill and kernels, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
import psutil
import pytest
import redis
from sqlalchemy import Engine

from workbench.db.engine import session_scope
from workbench.db.models.jobs import JobRun, RunStatus
from workbench.jobs import get_run
from workbench.jobs.executors import CeleryExecutor
from workbench.jobs.runs import create_run
from workbench.jobs.timing import HEARTBEAT_ENV, QUEUE_EXPIRY_ENV
from workbench.settings import Settings, get_settings

sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

HEARTBEAT = 1.0  # s; a running run expires after 3 missed heartbeats
QUEUE_EXPIRY = 2.0  # s
POLL = 0.5  # s between scheduler ticks
# The stated bound: a lost run is ended at most expiry + one poll after its last sign of
# life; SLACK covers process start-up and a loaded 2-core machine.
SLACK = 8.0
CLI = (sys.executable, "-c", "from workbench.cli import main; main()")


def _env(engine: Engine, **extra: str) -> dict[str, str]:
    return dict(
        os.environ,
        WORKBENCH_DATABASE_URL=engine.url.render_as_string(hide_password=False),
        WORKBENCH_HOME=str(get_settings().home),
        **{HEARTBEAT_ENV: str(HEARTBEAT), QUEUE_EXPIRY_ENV: str(QUEUE_EXPIRY)},
        **extra,
    )


def _stored(engine: Engine, run_id: int) -> JobRun:
    with session_scope(engine) as session:
        return get_run(session=session, run_id=run_id)


def _queued(engine: Engine, notebook: Path, **parameters: object) -> int:
    with session_scope(engine) as session:
        return create_run(session=session, notebook=str(notebook), parameters=parameters).id


def _execute(engine: Engine, run_id: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "workbench.jobs.execute", str(run_id)],
        env=_env(engine),
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def _scheduler(engine: Engine) -> subprocess.Popen[bytes]:
    """A real `workbench scheduler` process, returned once it is about to tick."""
    proc = subprocess.Popen(
        [*CLI, "scheduler", "--poll", str(POLL)],
        env=_env(engine),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert proc.stdout is not None
    assert b"polling every" in proc.stdout.readline()
    return proc


def _reaper_lag(engine: Engine, run_id: int, expires_at: datetime | None) -> float:
    """Seconds from the run's expiry to the reaper ending it."""
    stored = _stored(engine, run_id)
    assert expires_at is not None and stored.finished_at is not None
    return (stored.finished_at - expires_at).total_seconds()


def _sleeping(output: Path) -> bool:
    if not output.is_file():
        return False
    nb = nbformat.read(output, as_version=4)
    return any(
        "time.sleep" in c.source and c.metadata.get("papermill", {}).get("status") == "running"
        for c in nb.cells
    )


def _wait_until_sleeping(run_id: int) -> Path:
    output = get_settings().runs_dir / f"{run_id}-sleep" / "output.ipynb"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not _sleeping(output):
        time.sleep(0.2)
    assert _sleeping(output), "the notebook never reached its sleeping cell"
    return output


def _wait_for(engine: Engine, run_id: int, statuses: set[RunStatus], seconds: float) -> float:
    """Seconds until the run has one of ``statuses`` (fails after ``seconds``)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if _stored(engine, run_id).status in statuses:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} is still {_stored(engine, run_id).status}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdout is not None:
        proc.stdout.close()
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _outputs_text(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(
        str(o.get("text", "")) + str(o.get("evalue", "")) + str(o.get("data", ""))
        for c in nb.cells
        for o in c.get("outputs", [])
    )


@sqlite_only
def test_a_killed_execute_process_takes_its_notebook_along_and_the_run_expires(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    scheduler = _scheduler(engine)
    try:
        run_id = _queued(engine, notebooks / "sleep.ipynb", seconds=25)
        execute = _execute(engine, run_id)
        output = _wait_until_sleeping(run_id)
        below = psutil.Process(execute.pid).children(recursive=True)
        assert below  # its kernel (papermill runs in the execute process itself)
        execute.send_signal(signal.SIGKILL)
        execute.wait(timeout=10)
        killed_at = time.monotonic()
        alive = psutil.wait_procs(below, timeout=10)[1]
        assert alive == []  # nothing runs unsupervised
        expires_at = _stored(engine, run_id).expires_at  # the last heartbeat's
        _wait_for(engine, run_id, {RunStatus.FAILED}, 60)
        took = time.monotonic() - killed_at
    finally:
        _stop(scheduler)
    lag = _reaper_lag(engine, run_id, expires_at)
    bound = 3 * HEARTBEAT + POLL
    print(f"killed mid-run: failed {took:.1f} s after the kill, {lag:.2f} s after its expiry")
    assert 0 <= lag < POLL + 1.5  # one tick (plus its own duration) after the expiry
    assert took < bound + SLACK
    stored = _stored(engine, run_id)
    assert (stored.error or "").startswith("expired: no heartbeat since")
    # The output says what the row says, and the notebook never finished behind our back.
    nb = nbformat.read(output, as_version=4)
    assert "expired: no heartbeat" in nb.cells[0].source
    assert "woke up" not in _outputs_text(output)
    assert stored.error_cell == 3  # sleep.ipynb's third cell: time.sleep(seconds)
    assert "expired" in Path(stored.html_path or "").read_text()


@sqlite_only
def test_a_run_whose_process_died_before_starting_it_expires(
    settings: Settings, engine: Engine, notebooks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(QUEUE_EXPIRY_ENV, str(QUEUE_EXPIRY))
    scheduler = _scheduler(engine)
    try:
        created = time.monotonic()
        run_id = _queued(engine, notebooks / "greet.ipynb")
        execute = _execute(engine, run_id)
        execute.send_signal(signal.SIGKILL)  # before it could import anything
        execute.wait(timeout=10)
        expires_at = _stored(engine, run_id).expires_at
        _wait_for(engine, run_id, {RunStatus.FAILED}, 60)
        took = time.monotonic() - created
    finally:
        _stop(scheduler)
    lag = _reaper_lag(engine, run_id, expires_at)
    print(f"killed before start: failed {took:.1f} s after queueing, {lag:.2f} s after expiry")
    assert 0 <= lag < POLL + 1.5
    assert took < QUEUE_EXPIRY + POLL + SLACK
    assert (_stored(engine, run_id).error or "").startswith("expired: queued and never started")


@sqlite_only
def test_a_celery_message_lost_in_a_redis_restart_does_not_leave_the_run_queued(
    settings: Settings,
    engine: Engine,
    notebooks: Path,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(QUEUE_EXPIRY_ENV, str(QUEUE_EXPIRY))
    monkeypatch.setenv("WORKBENCH_REDIS_URL", redis_url)
    get_settings.cache_clear()
    scheduler = _scheduler(engine)
    client = redis.Redis.from_url(redis_url)
    try:
        run_id = _queued(engine, notebooks / "greet.ipynb")
        CeleryExecutor(queue=f"lost-{os.getpid()}").submit(run_id)
        assert client.dbsize() > 0
        client.flushdb()  # what a Redis restart without persistence does to the queue
        expires_at = _stored(engine, run_id).expires_at
        _wait_for(engine, run_id, {RunStatus.FAILED}, 60)
    finally:
        client.close()
        _stop(scheduler)
    assert 0 <= _reaper_lag(engine, run_id, expires_at) < POLL + 1.5
    assert "never started" in (_stored(engine, run_id).error or "")


@sqlite_only
def test_jobs_cancel_stops_a_running_notebook_and_a_queued_one_never_starts(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    env = _env(engine)
    cli = [*CLI, "jobs", "cancel"]
    run_id = _queued(engine, notebooks / "sleep.ipynb", seconds=25)
    execute = _execute(engine, run_id)
    output = _wait_until_sleeping(run_id)
    below = psutil.Process(execute.pid).children(recursive=True)
    cancel = subprocess.run([*cli, str(run_id)], env=env, capture_output=True, text=True)
    assert cancel.returncode == 0, cancel.stderr
    assert f"run {run_id} cancelled (was running)" in cancel.stdout
    cancelled_at = time.monotonic()
    assert execute.wait(timeout=30) == 1
    took = time.monotonic() - cancelled_at
    print(f"cancel: the execute process ended {took:.1f} s after `jobs cancel`")
    assert took < HEARTBEAT + SLACK
    assert psutil.wait_procs(below, timeout=10)[1] == []
    stored = _stored(engine, run_id)
    assert stored.status == RunStatus.CANCELLED and stored.error == "cancelled by the user"
    assert "cancelled by the user" in nbformat.read(output, as_version=4).cells[0].source
    assert "woke up" not in _outputs_text(output)

    queued = _queued(engine, notebooks / "greet.ipynb")
    again = subprocess.run([*cli, str(queued)], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "(was queued)" in again.stdout
    late = _execute(engine, queued)
    assert late.wait(timeout=60) == 2  # not queued any more: never started
    assert _stored(engine, queued).started_at is None

    done = subprocess.run([*cli, str(queued)], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "cancelled already" in done.stderr
