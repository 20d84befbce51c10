"""CeleryExecutor end to end: a real ``workbench worker`` on Redis runs a scheduled job."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from workbench.db.engine import session_scope
from workbench.db.models.jobs import RunStatus
from workbench.jobs import CeleryExecutor, add_schedule, get_run, tick
from workbench.settings import Settings, get_settings

pytestmark = pytest.mark.redis


@pytest.fixture
def queue(redis_url: str) -> Iterator[str]:
    """A queue of this test's own, so no other worker on the same Redis takes its task."""
    name = f"workbench-test-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    try:  # kombu's bookkeeping for the queue
        for key in client.scan_iter(match=f"_kombu.binding*.{name}"):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture
def worker(
    settings: Settings, redis_url: str, queue: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``workbench worker`` in a child process, on the test's database, home and Redis."""
    monkeypatch.setenv("WORKBENCH_REDIS_URL", redis_url)
    get_settings.cache_clear()
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from workbench.cli import main; main()",
            "worker",
            "--queue",
            queue,
            "--concurrency",
            "1",
        ],
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield proc
    proc.terminate()  # SIGTERM: Celery's warm shutdown
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    log.close()


def test_celery_worker_runs_a_scheduled_job(
    settings: Settings,
    engine: Engine,
    notebooks: Path,
    worker: subprocess.Popen[bytes],
    queue: str,
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        add_schedule(
            session=session,
            notebook=notebooks / "greet.ipynb",
            cron="* * * * *",
            parameters={"name": "celery"},
            timeout_seconds=120,
            start=now - timedelta(minutes=1, seconds=1),
        )
    executor = CeleryExecutor(queue=queue)
    [claim] = tick(now, engine=engine, executor=executor).claimed
    deadline = time.monotonic() + 120
    status = RunStatus.QUEUED
    while time.monotonic() < deadline:
        with session_scope(engine) as session:
            run = get_run(session=session, run_id=claim.run_id)
        status = run.status
        if status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.TIMED_OUT):
            break
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        time.sleep(0.5)
    assert status == RunStatus.SUCCEEDED, (tmp_path / "worker.log").read_text()
    assert run.slot == claim.slot
    assert "celery x1" in Path(run.html_path or "").read_text()
    result = executor.app.AsyncResult(executor.sent[claim.run_id])
    assert result.get(timeout=30) == "succeeded"  # the task's result, in the Redis backend
    result.forget()
