"""Executors take a claimed run id and get it run somewhere, without blocking the caller.

- :class:`LocalExecutor`: a separate process on this machine per run
  (``python -m workbench.jobs.execute RUN_ID``).
- :class:`CeleryExecutor`: a Celery task for a worker (``workbench worker``) to run.

Anything with a ``submit(run_id)`` method is an executor. ``submit`` raises a
WorkbenchError when the run cannot be handed over; the scheduler then marks it failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine

from workbench.errors import OperationalError, TemporaryError

if TYPE_CHECKING:
    from celery import Celery


class Executor(Protocol):
    def submit(self, run_id: int) -> None: ...


class LocalExecutor:
    """Runs each run in its own child process; ``submit`` returns at once.

    The children are started in sessions of their own: stopping the scheduler (Ctrl-C,
    SIGTERM) lets runs in progress finish and record their end.
    """

    def __init__(self, *, engine: Engine | None = None, python: str | None = None) -> None:
        self._python = python or sys.executable
        self._env: dict[str, str] | None = None
        if engine is not None:  # the child opens the same database as the scheduler
            url = engine.url.render_as_string(hide_password=False)
            self._env = dict(os.environ, WORKBENCH_DATABASE_URL=url)
        self._procs: dict[int, subprocess.Popen[bytes]] = {}

    def submit(self, run_id: int) -> None:
        self.reap()
        try:
            proc = subprocess.Popen(
                [self._python, "-m", "workbench.jobs.execute", str(run_id)],
                stdin=subprocess.DEVNULL,
                env=self._env,
                start_new_session=True,
            )
        except OSError as e:
            raise OperationalError(f"could not start a process for job run {run_id}: {e}") from e
        self._procs[run_id] = proc

    @property
    def running(self) -> list[int]:
        """Ids of the runs whose process has not ended."""
        self.reap()
        return sorted(self._procs)

    def reap(self) -> dict[int, int]:
        """Collect ended processes; return {run id: exit code} of those."""
        done = {rid: p.returncode for rid, p in self._procs.items() if p.poll() is not None}
        for rid in done:
            del self._procs[rid]
        return done

    def wait(self, timeout: float | None = None) -> dict[int, int]:
        """Wait for every child (each at most ``timeout`` s); return {run id: exit code}."""
        codes = {rid: p.wait(timeout=timeout) for rid, p in list(self._procs.items())}
        self._procs.clear()
        return codes


class CeleryExecutor:
    """Sends each run to the Celery queue; a ``workbench worker`` executes it by id."""

    def __init__(self, *, app: Celery | None = None, queue: str | None = None) -> None:
        from workbench.jobs.celery_app import DEFAULT_QUEUE, make_app

        self.app = app or make_app()
        self.queue = queue or DEFAULT_QUEUE
        self.sent: dict[int, str] = {}  # run id -> Celery task id

    def submit(self, run_id: int) -> None:
        from kombu.exceptions import OperationalError as BrokerError

        from workbench.jobs.celery_app import TASK_NAME
        from workbench.jobs.timing import queued_expiry

        try:
            # A message delivered after its run expired is dropped by the worker (the
            # reaper has ended the run by then; the queued -> running claim refuses it too).
            result = self.app.send_task(
                TASK_NAME,
                args=[run_id],
                queue=self.queue,
                expires=queued_expiry().total_seconds(),
            )
        except BrokerError as e:
            raise TemporaryError(f"the Celery broker did not take job run {run_id}: {e}") from e
        self.sent[run_id] = result.id
