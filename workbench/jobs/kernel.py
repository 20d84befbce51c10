"""A job run executed by this process: papermill here, the notebook in a kernel started
for the run (:func:`run_in_kernel`, the default ``Launch`` of
:func:`workbench.jobs.runner.run_notebook`), and the kernel start shared with
:mod:`workbench.jobs.warm`.

The kernel is started first. A notebook may name a warm-up in its metadata,

    "metadata": {"workbench": {"warm_up": "workbench.bots.job:warm_up"}}

a function the kernel runs, silently, as soon as it is up: it loads what the cells will
use while this process loads papermill and records the run, so both cores work at once.
It leaves no name and no output; when it fails, the cell that loads the same thing fails
visibly.

papermill runs in a worker thread while this thread supervises the run: it renews the
heartbeat and, past the timeout, when the run was ended elsewhere (cancelled, expired) or
when this process is told to stop (SIGTERM, Ctrl-C), kills the kernel's process group,
lets papermill write what it had, and returns (or re-raises). The kernel writes owner-only
files (umask 077) and its output goes to the run's log; it dies with this process
(ipykernel polls its parent: jupyter_client gives it our pid).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from jupyter_client.manager import AsyncKernelManager

from workbench.errors import ValidationError
from workbench.jobs.outcome import Outcome, outcome_of
from workbench.jobs.timing import heartbeat_seconds
from workbench.types import RunStatus

KERNEL_NAME = "python3"
START_TIMEOUT = 60.0  # papermill's wait for the kernel (and its warm-up) to answer
STOP_WAIT_SECONDS = 30.0  # for papermill to notice its killed kernel and write its output
WARM_UP = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


def start_kernel(
    *, connection_file: Path, cwd: Path, env: dict[str, str], out: IO[Any] | int | None
) -> tuple[Any, int]:
    """Start a local ``python3`` kernel in ``cwd``, talking over Unix sockets beside
    ``connection_file``; return its manager (which remembers the clients made from it,
    see :class:`Manager`) and its pid."""
    from jupyter_core.utils import run_sync

    km = Manager(
        kernel_name=KERNEL_NAME,
        connection_file=str(connection_file),
        # Unix sockets beside the connection file (an owner-only folder), not TCP ports
        transport="ipc",
        ip=str(connection_file.with_suffix("")),
    )
    km.clients = []
    run_sync(km.start_kernel)(
        # No IPython history database: a job's cells are in its output notebook, and a
        # warm kernel counting its cells from 1 again would collide with its own history.
        extra_arguments=["--HistoryManager.enabled=False"],
        cwd=str(cwd),
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        stdout=out,
        stderr=out,
        umask=0o077,  # what the notebook writes is its owner's only
    )
    pid = getattr(km.provisioner, "pid", None)  # a local kernel: killed by pid
    if pid is None:
        run_sync(km.shutdown_kernel)(now=True)
        raise RuntimeError(f"kernel {KERNEL_NAME!r} has no local process to supervise")
    return km, int(pid)


class Manager(AsyncKernelManager):  # type: ignore[misc]
    """jupyter_client's async kernel manager, remembering the clients papermill makes so
    a caller can close them after a run (async, as papermill's own: a blocking client
    would stall its event loop on a dead kernel)."""

    clients: list[Any]

    def client(self, **kwargs: Any) -> Any:
        made = super().client(**kwargs)
        self.clients.append(made)
        return made


def warm_up_code(notebook: Path) -> str | None:
    """The code running the warm-up ``notebook`` declares (``metadata.workbench.warm_up``,
    "module:function"), or None. Raises ValidationError for a malformed declaration."""
    meta = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
    target = (meta.get("workbench") or {}).get("warm_up")
    if target is None:
        return None
    if not isinstance(target, str) or not WARM_UP.fullmatch(target):
        raise ValidationError(
            {"metadata.workbench.warm_up": f"{target!r} is not 'module:function'"},
            entity=f"notebook {notebook.name}",
        )
    module, function = target.split(":")
    return f"__import__('importlib').import_module({module!r}).{function}()"


def send_warm_up(connection_file: Path, code: str) -> Any:
    """Ask the kernel to run ``code`` silently (queued until it is up); return the client,
    to be closed once the run is over (closing it at once could drop the request)."""
    from jupyter_client.blocking import BlockingKernelClient

    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels(iopub=False, stdin=False, hb=False, control=False)
    client.execute(code, silent=True, store_history=False)
    return client


def run_in_kernel(
    path: Path,
    output: Path,
    params: dict[str, Any],
    *,
    timeout: float | None,
    log_path: Path,
    env: dict[str, str],
    alive: Callable[[], bool],
) -> Outcome:
    """Execute ``path`` into ``output`` in a new kernel (a runner ``Launch``)."""
    with KernelLaunch(path, env) as launch:
        return launch(
            path, output, params, timeout=timeout, log_path=log_path, env=env, alive=alive
        )


def run_env(database_url: str, home: Path) -> dict[str, str]:
    """What a run's kernel is told: the database its run is recorded in (in the
    environment, not argv) and this home (its secret key, cache and bot locks)."""
    return {"WORKBENCH_DATABASE_URL": database_url, "WORKBENCH_HOME": str(home)}


class KernelLaunch:
    """A runner ``Launch`` whose kernel (and warm-up) starts when it is made, so a caller
    can start it before checking its database and recording the run
    (``workbench run`` does). Used once; :meth:`close` stops a kernel never used.

    Called for another notebook or environment than it was made for, it runs the notebook
    in a new kernel instead (:func:`run_in_kernel`)."""

    def __init__(self, notebook: Path | str, env: dict[str, str]) -> None:
        self.notebook, self.env = Path(notebook).expanduser().resolve(), dict(env)
        self._tmp = tempfile.TemporaryDirectory(prefix="workbench-run-")  # the kernel's key
        self._run = _KernelRun(self.notebook, self.env, Path(self._tmp.name))
        self._worker = threading.Thread(target=self._run.work, name="papermill", daemon=True)
        self._worker.start()

    def __enter__(self) -> KernelLaunch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._worker.is_alive():
            self._run.stop()
            self._worker.join(STOP_WAIT_SECONDS)
        self._tmp.cleanup()

    def __call__(
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
        if path.resolve() != self.notebook or env != self.env:
            self.close()
            return run_in_kernel(
                path, output, params, timeout=timeout, log_path=log_path, env=env, alive=alive
            )
        deadline = None if timeout is None else time.monotonic() + timeout
        run, worker = self._run, self._worker
        run.begin({"input": str(path), "output": str(output), "parameters": params})
        try:
            stopped = _supervise(worker, deadline, alive)
        except BaseException:  # told to stop (SIGTERM, Ctrl-C): the kernel goes too
            run.stop()
            worker.join(STOP_WAIT_SECONDS)
            raise
        if stopped is not None:
            run.stop()
        worker.join(STOP_WAIT_SECONDS)
        run.copy_log(log_path)
        if stopped is not None:
            return stopped
        if run.error is not None:  # refused, the kernel did not start, or papermill broke
            error = run.error
            name = type(error).__name__
            return Outcome(RunStatus.FAILED, None, name, str(error) or name)
        return outcome_of(run.result or {"status": "failed", "ename": "", "evalue": "no result"})


def _supervise(
    worker: threading.Thread, deadline: float | None, alive: Callable[[], bool]
) -> Outcome | None:
    """Wait for ``worker``, renewing the heartbeat; None when it ended by itself, else why
    the run must be stopped: its timeout passed, or its row was ended meanwhile."""
    beat = heartbeat_seconds()
    while True:
        step = beat if deadline is None else min(beat, deadline - time.monotonic())
        worker.join(max(step, 0))
        if not worker.is_alive():
            return None
        if deadline is not None and time.monotonic() >= deadline:
            return Outcome(RunStatus.TIMED_OUT)
        if not alive():
            return Outcome(RunStatus.CANCELLED)  # placeholder: the runner reads the row's end


class _KernelRun:
    """The worker thread's part: start the kernel (and queue its warm-up) and load
    papermill at once, then wait for the run's notebook and parameters (:meth:`begin`)
    and execute them. The kernel's output goes to a log in ``folder``
    (:meth:`copy_log` hands it to the run's)."""

    def __init__(self, notebook: Path, env: dict[str, str], folder: Path) -> None:
        self.notebook, self.env = notebook, env
        self.connection_file, self.log_path = folder / "kernel.json", folder / "kernel.log"
        self.result: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self.spec: dict[str, Any] | None = None
        self._go = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._pid: int | None = None

    def begin(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self._go.set()

    def stop(self) -> None:
        self._stopped.set()
        self._go.set()
        self._kill()

    def copy_log(self, path: Path) -> None:
        """Append what the kernel wrote to the run's log ``path``."""
        if not self.log_path.is_file():
            return
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as out:
            out.write(self.log_path.read_bytes())

    def work(self) -> None:
        from jupyter_core.utils import ensure_event_loop, run_sync

        loop = ensure_event_loop()  # this thread's, used by every run_sync below
        km = warm_client = None
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8", buffering=1) as log:
            try:
                warm_up = warm_up_code(self.notebook)
                km, pid = start_kernel(
                    connection_file=self.connection_file,
                    cwd=self.notebook.parent,
                    env=self.env,
                    out=log,
                )
                with self._lock:
                    self._pid = pid
                if warm_up is not None:
                    warm_client = send_warm_up(self.connection_file, warm_up)
                from workbench.jobs.notebooks import prepare_html_export
                from workbench.jobs.papermill_run import run

                prepare_html_export()  # for the runner's export at the end
                import papermill  # noqa: F401  (while the kernel starts)

                self._go.wait()
                if self._stopped.is_set() or self.spec is None:
                    return
                self.result = run(
                    self.spec,
                    km=km,
                    start_timeout=START_TIMEOUT,
                    stopped=self._stopped.is_set,
                    log=log,
                )
            except BaseException as e:  # reported by the supervising thread
                self.error = e
            finally:
                if warm_client is not None:
                    warm_client.stop_channels()
                if km is not None:
                    for client in km.clients:
                        client.stop_channels()
                    with contextlib.suppress(Exception):  # already dead: reaped below
                        run_sync(km.shutdown_kernel)(now=True)
                    self._kill()  # whatever the kernel started, in its process group
                loop.close()

    def _kill(self) -> None:
        with self._lock:
            if self._pid is None:
                return
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._pid, signal.SIGKILL)  # the kernel leads its own session
