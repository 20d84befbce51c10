"""Each of the product's job notebooks, ended every way a run can end but succeeding: a
failing cell, the run's timeout, a killed kernel. papermill records each, with its output."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest

import workbench as wb
from workbench.db.models import JobRun, RunStatus
from workbench.jobs import run_notebook
from workbench.jobs.notebooks import notebooks_folder, output_index
from workbench.settings import get_settings

JOBS = notebooks_folder() / "jobs"
BOTH = pytest.mark.parametrize("name", ["live_bot", "daily_report"])
# The first cell after the parameters: it imports the workbench, which takes a while.
# The cell of each job notebook that does its work (and fails, times out or dies there).
WORK_CELLS = {"live_bot": "job.tick(", "daily_report": "wb.connect()"}


def _outputs(run: JobRun) -> tuple[nbformat.NotebookNode, str]:
    assert run.output_path and run.html_path
    nb = nbformat.read(run.output_path, as_version=4)
    return nb, Path(run.html_path).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "parameters", "error"),
    [
        ("live_bot", {"bot_id": 999}, "no bot with id 999"),
        ("daily_report", {"date": "not-a-date"}, "expected a date or time"),
    ],
)
def test_a_failing_cell_is_recorded(
    home: Path, name: str, parameters: dict[str, object], error: str
) -> None:
    wb.init(sample=True)
    run = run_notebook(JOBS / f"{name}.ipynb", parameters, timeout=300)
    assert run.status == RunStatus.FAILED and error in (run.error or "")
    assert run.parameters == parameters and run.duration_seconds
    nb, page = _outputs(run)
    assert (
        run.error_cell is not None
        and WORK_CELLS[name] in nb.cells[output_index(nb, run.error_cell) or 0].source
    )
    assert any(
        o.output_type == "error" for o in nb.cells[output_index(nb, run.error_cell) or 0].outputs
    )
    assert error in page


@BOTH
def test_a_run_past_its_timeout_is_recorded_timed_out(home: Path, name: str) -> None:
    wb.init(sample=True)
    started = time.monotonic()
    run = run_notebook(JOBS / f"{name}.ipynb", {}, timeout=1)  # less than a kernel's start
    assert time.monotonic() - started < 30
    assert run.status == RunStatus.TIMED_OUT
    assert run.error == "TimeoutError: the run exceeded its timeout of 1 s and was stopped"
    assert run.duration_seconds is not None and 1 <= run.duration_seconds < 30
    nb, page = _outputs(run)
    assert "exceeded its timeout" in nb.cells[0].source  # the banner on the notebook as given
    assert any(WORK_CELLS[name] in c.source for c in nb.cells) and "exceeded its timeout" in page


@BOTH
def test_a_killed_kernel_is_recorded_failed_at_its_cell(home: Path, name: str) -> None:
    wb.init(sample=True)
    finished: list[JobRun] = []
    thread = threading.Thread(
        target=lambda: finished.append(run_notebook(JOBS / f"{name}.ipynb", {}, timeout=300))
    )
    thread.start()
    try:
        kernel = _kernel_in(get_settings().runs_dir, name, timeout=120)
        kernel.send_signal(signal.SIGKILL)  # as the OOM killer would
    finally:
        thread.join(timeout=300)
    [run] = finished
    assert run.status == RunStatus.FAILED
    assert (run.error or "").startswith("DeadKernelError: Kernel died")
    nb, page = _outputs(run)
    assert (
        run.error_cell is not None
        and WORK_CELLS[name] in nb.cells[output_index(nb, run.error_cell) or 0].source
    )
    assert nb.cells[output_index(nb, run.error_cell) or 0].outputs[-1].ename == "DeadKernelError"
    assert "DeadKernelError" in page


def _kernel_in(runs_dir: Path, name: str, *, timeout: float) -> psutil.Process:
    """This test's kernel, once papermill has saved the work cell as running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(
            _running_work_cell(p, WORK_CELLS[name]) for p in runs_dir.glob(f"*-{name}/output.ipynb")
        ):
            for process in psutil.Process().children(recursive=True):
                try:
                    command = " ".join(process.cmdline())
                except psutil.Error:  # ended, or a zombie of an earlier test
                    continue
                if "ipykernel_launcher" in command:
                    return process
        time.sleep(0.05)
    raise AssertionError(f"the {name} kernel never reached {WORK_CELLS[name]!r}")


def _running_work_cell(output: Path, work_cell: str) -> bool:
    try:
        nb = nbformat.read(output, as_version=4)
    except (OSError, ValueError):
        return False
    return any(
        work_cell in c.source and c.metadata.get("papermill", {}).get("status") == "running"
        for c in nb.cells
    )
