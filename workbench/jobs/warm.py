"""Warm kernels: job runs executed one after another in a kernel kept running.

A run of the live-bot notebook spends most of its time before its first line (a Python
process, papermill, a kernel, the imports of pandas, numba and the ORM); the tick itself
takes a fraction of a second. Fifty bots on 1-minute bars are fifty of those a minute,
more than two cores do. A :class:`WarmKernel` keeps one kernel (and so its imports,
numba's loaded functions and database connections) between runs; each run is still a
papermill run of its own notebook, recorded in its own ``job_runs`` row with its own
output notebook, HTML page and log, exactly as :func:`~workbench.jobs.runner.run_notebook`
records any run:

- after each run the kernel's namespace is emptied (no variable or output of an earlier
  run is visible to the next, cells count from 1); modules stay imported;
- a failing cell fails that run only; a kernel that dies (or is killed at a run's
  timeout, or when the run is cancelled) fails or ends that run, and the next run gets a
  new kernel; the kernel is also renewed every ``max_runs`` runs and when a run needs
  another working folder or environment.

``python -m workbench.jobs.warm`` is a worker process for
:class:`~workbench.jobs.executors.WarmExecutor`: it reads run ids, one a line, on stdin,
executes each in its warm kernel and answers ``RUN_ID STATUS`` on stdout. It stops at
the end of its input (its executor is gone), after the run in progress.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_core.utils import run_sync

from workbench.db.models.jobs import RunStatus
from workbench.errors import RejectedError
from workbench.jobs.kernel import start_kernel
from workbench.jobs.notebooks import prepare_html_export
from workbench.jobs.outcome import Outcome, outcome_of
from workbench.jobs.runner import execute_run
from workbench.jobs.timing import heartbeat_seconds

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0
RESET_TIMEOUT = 30.0
MAX_RUNS = 500  # a new kernel after this many runs (bounds whatever a kernel accumulates)
# Run in the kernel after each run (in a namespace of its own, so it leaves no name): what
# IPython's reset() does to the user's namespace, without its gc.collect() over a heap of
# pandas and numba objects (a few tenths of a second each run).
RESET_BODY = """
ns = ip.user_ns
for name in [n for n in ns if n not in ip.user_ns_hidden]:
    del ns[name]
ns["_oh"].clear()
ip.history_manager.input_hist_parsed[:] = [""]
ip.history_manager.input_hist_raw[:] = [""]
for attr in ("_", "__", "___"):
    setattr(ip.displayhook, attr, "")
ip.execution_count = 1
"""
RESET = f'exec({RESET_BODY!r}, {{"ip": get_ipython()}})'


class WarmKernel:
    """One kernel that executes runs one after another (not thread-safe: one caller)."""

    def __init__(self, *, max_runs: int = MAX_RUNS) -> None:
        self.max_runs = max_runs
        self.started = 0  # kernels started so far
        self._km: Any = None
        self._pid = 0
        self._key: tuple[str, tuple[tuple[str, str], ...]] | None = None
        self._runs = 0
        self._folder = Path(tempfile.mkdtemp(prefix="workbench-warm-"))  # owner-only

    def launch(
        self,
        path: Path,
        output: Path,
        params: dict[str, Any],
        *,
        timeout: float | None,
        log_path: Path,
        env: dict[str, str],
        alive: Callable[[], bool],
    ) -> Outcome:
        """Execute ``path`` into ``output`` in the warm kernel (a runner ``Launch``)."""
        from workbench.jobs.papermill_run import run

        try:
            self._ready(path.parent, env)
        except Exception as e:  # the kernel did not start or reset: this run fails
            self._stop_kernel()
            _append(log_path, f"warm kernel not ready: {type(e).__name__}: {e}")
            return Outcome(RunStatus.FAILED, None, type(e).__name__, str(e) or "kernel not ready")
        stopped: list[Outcome] = []
        done = threading.Event()
        watchdog = threading.Thread(
            target=self._watch,
            args=(timeout, alive, stopped, done),
            name="warm-kernel-watchdog",
            daemon=True,
        )
        watchdog.start()
        prepare_html_export()  # for the runner's export at the end
        spec = {"input": str(path), "output": str(output), "parameters": params}
        try:
            result = run(
                spec, km=self._km, start_timeout=START_TIMEOUT, stopped=lambda: bool(stopped)
            )
        finally:
            done.set()
            watchdog.join()
        self._runs += 1
        if stopped or self._runs >= self.max_runs or not self._reset():
            self._stop_kernel()
        self._close_run_clients()
        if stopped:
            return stopped[0]
        if result["status"] != RunStatus.SUCCEEDED:
            _append(log_path, f"{result['ename']}: {result['evalue']}")
        return outcome_of(result)

    def shutdown(self) -> None:
        self._stop_kernel()

    def _watch(
        self,
        timeout: float | None,
        alive: Callable[[], bool],
        stopped: list[Outcome],
        done: threading.Event,
    ) -> None:
        """Renew the run's heartbeat; kill the kernel past the timeout or when the run
        was ended elsewhere (cancelled, expired)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        beat = heartbeat_seconds()
        while True:
            wait = beat if deadline is None else max(0.0, min(beat, deadline - time.monotonic()))
            if done.wait(wait):
                return
            if deadline is not None and time.monotonic() >= deadline:
                stopped.append(Outcome(RunStatus.TIMED_OUT))
            elif not alive():
                stopped.append(Outcome(RunStatus.CANCELLED))  # _finish reads the row's end
            else:
                continue
            with contextlib.suppress(ProcessLookupError):  # no event loop in this thread
                os.kill(self._pid, signal.SIGKILL)
            return

    def _ready(self, cwd: Path, env: dict[str, str]) -> None:
        key = (str(cwd), tuple(sorted(env.items())))
        if self._km is not None and (key != self._key or not self._alive()):
            self._stop_kernel()
        if self._km is None:
            self._start_kernel(cwd, env)
            self._key = key

    def _start_kernel(self, cwd: Path, env: dict[str, str]) -> None:
        self.started += 1
        self._km, self._pid = start_kernel(
            connection_file=self._folder / f"kernel-{self.started}.json",
            cwd=cwd,
            env=env,
            out=sys.stderr,  # stdout of a worker is its answers to the executor
        )
        self._runs = 0  # papermill waits until it is ready

    def _alive(self) -> bool:
        return bool(run_sync(self._km.is_alive)())

    def _reset(self) -> bool:
        """Through the run's own client (papermill's, still connected): the namespace
        emptied (variables, outputs, input history), imports kept, cells counted from 1.
        False when the kernel did not answer (it died): it is replaced."""
        if not self._km.clients or not self._alive():
            return False
        client = self._km.clients[-1]
        try:
            msg_id = client.execute(RESET, silent=True, store_history=False)
            deadline = time.monotonic() + RESET_TIMEOUT
            while True:
                left = max(0.1, deadline - time.monotonic())
                reply = run_sync(client.get_shell_msg)(timeout=left)
                if reply["parent_header"].get("msg_id") == msg_id:
                    return bool(reply["content"]["status"] == "ok")
        except Empty:
            return False

    def _close_run_clients(self) -> None:
        if self._km is None:
            return
        for client in self._km.clients:
            client.stop_channels()
        self._km.clients.clear()

    def _stop_kernel(self) -> None:
        km, self._km, self._key = self._km, None, None
        if km is None:
            return
        for client in km.clients:
            client.stop_channels()
        km.clients.clear()
        try:
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # already dead: its process is reaped below
            log.warning("warm kernel did not shut down cleanly", exc_info=True)


def _append(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.write(line + "\n")


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    """Serve run ids from stdin until it closes; answer ``RUN_ID STATUS`` per run."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go to the log
    os.umask(0o077)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    signal.signal(signal.SIGTERM, _terminate)
    kernel = WarmKernel(max_runs=int(os.environ.get("WORKBENCH_WARM_MAX_RUNS", MAX_RUNS)))
    try:
        for line in sys.stdin:
            if not line.strip().isdigit():
                continue
            run_id = int(line)
            try:
                status = execute_run(run_id, launch=kernel.launch).status.value
            except RejectedError as e:
                log.error("job run %s not run: %s", run_id, e)
                status = "rejected"
            answers.write(f"{run_id} {status}\n")
    finally:
        kernel.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
