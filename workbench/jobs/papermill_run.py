"""papermill over one notebook, in this process, for a job run (:func:`run`).

The kernel is started by the caller (:mod:`workbench.jobs.kernel` for one run,
:mod:`workbench.jobs.warm` for runs one after another) and passed as ``km``. The output
notebook is written as the run goes (at each cell start and end), never half a file
(:class:`AtomicWrites`, owner-only), and on any failure it shows the failing cell with its
error. The outcome is a small dict:

    {"status": "succeeded"}
    {"status": "failed", "cell": 3, "ename": "ValueError", "evalue": "..."}
    {"status": "stopped"}       (the caller killed the kernel: timeout, cancel, stop)
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from workbench.jobs.notebooks import (
    cell_error,
    find_failing_cell,
    mark_failure,
    read_notebook,
    write_notebook,
    write_private_text,
)


class AtomicWrites:
    """A papermill I/O handler for one path that never leaves half a file behind.

    papermill rewrites the output at every cell start and end; when a run is stopped
    mid-write, the last complete notebook must still be there.
    """

    @staticmethod
    def read(path: str) -> str:
        return Path(path).read_text(encoding="utf-8")

    @staticmethod
    def listdir(path: str) -> list[str]:
        return [str(p) for p in Path(path).iterdir()]

    @staticmethod
    def write(buf: str, path: str) -> None:
        write_private_text(buf, Path(path))

    @staticmethod
    def pretty_path(path: str) -> str:
        return path


def run(
    spec: dict[str, Any],
    *,
    stopped: Callable[[], bool] = lambda: False,
    log: IO[str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Execute the spec's notebook with papermill; ``options`` go to papermill's engine
    (``km``: the running kernel's manager). When the run
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
        traceback.print_exc(file=log)  # into the run's log
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
