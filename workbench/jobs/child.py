"""The process that runs papermill for one job run: ``python -m workbench.jobs.child SPEC``.

It is a separate process so the parent can enforce a whole-run timeout by killing it
(and its kernel) and always regain control. SPEC is a JSON file naming the input and
output notebooks, the parameters and the working folder; the outcome is written as JSON
to the spec's ``result`` path:

    {"status": "succeeded"}
    {"status": "failed", "cell": 3, "ename": "ValueError", "evalue": "..."}

The output notebook is written by papermill as the run goes (at each cell start and end)
and, on any failure, shows the failing cell with its error.

It dies with its parent: a watchdog thread notices when the process that started it (and
waits for its result) is gone, kills the kernel and exits, so a killed execute process
or worker never leaves a notebook running unsupervised. Everything it writes (and its
kernel) is owner-only (umask 077).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.jobs.notebooks import (
    cell_error,
    find_failing_cell,
    mark_failure,
    read_notebook,
    write_notebook,
)


class AtomicWrites:
    """A papermill I/O handler for one path that never leaves half a file behind.

    papermill rewrites the output at every cell start and end; when the parent kills this
    process at the run's timeout, the last complete notebook must still be there.
    """

    @staticmethod
    def read(path: str) -> str:
        return Path(path).read_text(encoding="utf-8")

    @staticmethod
    def listdir(path: str) -> list[str]:
        return [str(p) for p in Path(path).iterdir()]

    @staticmethod
    def write(buf: str, path: str) -> None:
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(buf, encoding="utf-8")
        os.replace(tmp, target)

    @staticmethod
    def pretty_path(path: str) -> str:
        return path


def run(
    spec: dict[str, Any], *, stopped: Callable[[], bool] = lambda: False, **options: Any
) -> dict[str, Any]:
    """Execute the spec's notebook with papermill; ``options`` go to papermill's engine
    (``km``: a running kernel's manager to use instead of starting one). When the run
    fails because it was ``stopped()`` (its kernel killed at its timeout or cancel), the
    output is left for the caller to mark: ``{"status": "stopped"}``."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    output = Path(spec["output"])
    register_atomic_writes(output)
    try:
        pm.execute_notebook(
            spec["input"],
            str(output),
            parameters=spec.get("parameters") or None,
            cwd=spec.get("cwd"),
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=True,
            autosave_cell_every=spec.get("autosave_seconds", 10),
            # The output is complete when the last cell ends: the kernel is stopped, not
            # asked to finalize its interpreter (seconds with pandas and numba loaded).
            shutdown_kernel="immediate",
            **options,
        )
    except PapermillExecutionError as e:
        if stopped():
            return {"status": "stopped"}
        # papermill already wrote the notebook with its error banner and anchor.
        nb = read_notebook(output)
        cell = find_failing_cell(nb) if nb is not None else None
        ename, evalue = e.ename, e.evalue
        if nb is not None and cell is not None and cell_error(nb.cells[cell]):
            ename, evalue = cell_error(nb.cells[cell]) or (ename, evalue)
        return {"status": "failed", "cell": cell, "ename": ename, "evalue": evalue}
    except Exception as e:  # the kernel died, did not start, or papermill itself failed
        if stopped():
            return {"status": "stopped"}
        traceback.print_exc()  # into the run's log
        ename = type(e).__name__
        evalue = str(e) or ename
        if ename == "DeadKernelError":
            evalue = (
                f"{evalue}: the kernel process exited while running this cell "
                "(os._exit, a signal, or out of memory)"
            )
        nb = read_notebook(output)
        cell = None
        if nb is not None:
            cell = mark_failure(nb, find_failing_cell(nb), ename, evalue)
            write_notebook(nb, output)
        return {"status": "failed", "cell": cell, "ename": ename, "evalue": evalue}
    return {"status": "succeeded"}


def register_atomic_writes(path: Path) -> None:
    """Write notebooks under ``path`` (a file or a folder) with :class:`AtomicWrites`
    (papermill's I/O handlers match by path prefix)."""
    from papermill.iorw import papermill_io

    if not isinstance(papermill_io.get_handler(str(path)), AtomicWrites):  # once per folder
        papermill_io.register(str(path), AtomicWrites())


PARENT_POLL_SECONDS = 0.5


def die_with_parent(parent_pid: int) -> None:
    """Start a thread that kills this process tree once ``parent_pid`` is not our parent."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            threading.Event().wait(PARENT_POLL_SECONDS)
        print(f"parent process {parent_pid} is gone: stopping the kernel and exiting", flush=True)
        kill_descendants()
        os._exit(1)

    if os.getppid() != parent_pid:  # gone before we started
        os._exit(1)
    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def kill_descendants() -> None:
    import psutil

    try:
        children = psutil.Process().children(recursive=True)
    except psutil.NoSuchProcess:
        return
    for child in children:
        try:
            child.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(children, timeout=5)


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text())
    os.umask(0o077)
    if spec.get("parent_pid"):
        die_with_parent(int(spec["parent_pid"]))
    result = run(spec)
    tmp = Path(spec["result"] + ".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(spec["result"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
