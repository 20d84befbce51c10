"""Executors take a claimed run id and get it run somewhere, without blocking the caller.

- :class:`LocalExecutor`: a separate process on this machine per run
  (``python -m workbench.jobs.execute RUN_ID``).
- :class:`WarmExecutor`: a few worker processes on this machine, each keeping a kernel
  warm between runs (:mod:`workbench.jobs.warm`): many short runs (bots on 1-minute bars)
  without a new process and kernel per run.
- :class:`CeleryExecutor`: a Celery task for a worker (``workbench worker``) to run.

Anything with a ``submit(run_id)`` method is an executor. ``submit`` raises a
WorkbenchError when the run cannot be handed over; the scheduler then marks it failed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import subprocess
import sys
import threading
from collections import OrderedDict
from typing import IO, TYPE_CHECKING, Protocol

from sqlalchemy import Engine

from workbench.errors import OperationalError, TemporaryError

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)


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


MAX_ANSWERS = 10_000


class WarmExecutor:
    """Runs each run in one of ``workers`` processes (``python -m workbench.jobs.warm``)
    that keep a kernel warm; ``submit`` returns at once, runs wait their turn in order.

    Each run is still a papermill run with its own record and output files; see
    :mod:`workbench.jobs.warm` for what is shared between runs (the kernel's imports)
    and what is not (the namespace). A worker that dies is replaced for the next run;
    the run it was executing stops renewing its heartbeat and the reaper ends it.
    """

    def __init__(
        self, *, workers: int = 2, engine: Engine | None = None, python: str | None = None
    ) -> None:
        if workers < 1:
            raise ValueError("a warm executor needs at least one worker")
        self._python = python or sys.executable
        self._env: dict[str, str] | None = None
        if engine is not None:  # the workers open the same database as the scheduler
            url = engine.url.render_as_string(hide_password=False)
            self._env = dict(os.environ, WORKBENCH_DATABASE_URL=url)
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._lock = threading.Condition()
        self._busy: set[int] = set()
        # run id -> the status its worker answered (the newest MAX_ANSWERS of them)
        self.answers: OrderedDict[int, str] = OrderedDict()
        self._threads = [
            threading.Thread(target=self._serve, name=f"warm-worker-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, run_id: int) -> None:
        with self._lock:
            self._busy.add(run_id)
        self._queue.put(run_id)

    @property
    def running(self) -> list[int]:
        """Ids of the runs submitted and not answered yet (waiting or executing)."""
        with self._lock:
            return sorted(self._busy)

    def wait(self, timeout: float | None = None) -> dict[int, str]:
        """Wait (at most ``timeout`` s) until every submitted run is answered; return
        {run id: status} of the runs answered so far."""
        with self._lock:
            self._lock.wait_for(lambda: not self._busy, timeout)
            return dict(self.answers)

    def close(self, timeout: float | None = None) -> None:
        """Let the workers finish the runs already submitted, then stop them."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)

    def _serve(self) -> None:
        proc: subprocess.Popen[str] | None = None
        try:
            while (run_id := self._queue.get()) is not None:
                answer = None
                try:
                    if proc is None or proc.poll() is not None:
                        proc = self._start()
                    answer = _ask(proc, run_id)
                except OperationalError:  # the run stays queued; the reaper ends it
                    log.exception("job run %s: no warm worker", run_id)
                if answer is None and proc is not None:
                    log.error("warm worker %s died while running job run %s", proc.pid, run_id)
                    _stop_worker(proc)
                    proc = None
                with self._lock:
                    self._busy.discard(run_id)
                    self.answers[run_id] = answer or "lost"
                    if len(self.answers) > MAX_ANSWERS:
                        self.answers.popitem(last=False)
                    self._lock.notify_all()
        finally:
            if proc is not None:
                _stop_worker(proc)

    def _start(self) -> subprocess.Popen[str]:
        try:
            return subprocess.Popen(
                [self._python, "-m", "workbench.jobs.warm"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=self._env,
                text=True,
                start_new_session=True,  # like LocalExecutor: Ctrl-C reaches the scheduler
            )
        except OSError as e:
            raise OperationalError(f"could not start a warm job worker: {e}") from e


def _stop_worker(proc: subprocess.Popen[str]) -> None:
    """Close its input (it ends after its current run), wait for it, close its pipes."""
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    proc.wait()


def _ask(proc: subprocess.Popen[str], run_id: int) -> str | None:
    """Hand ``run_id`` to the worker and wait for its answer; None when it died."""
    stdin, stdout = proc.stdin, proc.stdout
    assert stdin is not None and stdout is not None
    try:
        stdin.write(f"{run_id}\n")
        stdin.flush()
    except OSError:
        return None
    return _answer(stdout, run_id)


def _answer(stdout: IO[str], run_id: int) -> str | None:
    for line in stdout:
        answered, _, status = line.strip().partition(" ")
        if answered == str(run_id):
            return status
    return None


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
