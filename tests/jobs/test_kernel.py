"""A run's kernel: started first, warmed up by the notebook's declared function while
papermill loads, and nothing of the warm-up visible to the notebook or its output."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest
from sqlalchemy import Engine

from workbench.db.models.jobs import RunStatus
from workbench.jobs import run_notebook
from workbench.jobs.kernel import KernelLaunch, run_env
from workbench.jobs.notebooks import notebooks_folder
from workbench.settings import Settings

sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

WARM_TARGET = """
import time
WARMED = []

def warm_up():
    WARMED.append(time.time())

def broken():
    raise RuntimeError("the warm-up broke")
"""
# Runs first, before importing anything: what the kernel already holds.
PROBE = """
import sys
target = sys.modules.get("warm_target")
print("WARMED", len(target.WARMED) if target else 0)
print("NAMES", sorted(n for n in globals() if not n.startswith("_")))
"""


def _notebook(folder: Path, warm_up: Any = None) -> Path:
    (folder / "warm_target.py").write_text(WARM_TARGET)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if warm_up is not None:
        nb.metadata["workbench"] = {"warm_up": warm_up}
    params = nbformat.v4.new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(PROBE)]
    path = folder / "warm.ipynb"
    nbformat.write(nb, path)
    return path


def _printed(output: str) -> str:
    nb = nbformat.read(output, as_version=4)
    return "".join(str(o.get("text", "")) for c in nb.cells for o in c.get("outputs", []))


@sqlite_only
def test_the_declared_warm_up_runs_before_the_first_cell_and_leaves_no_name(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    run = run_notebook(_notebook(tmp_path, "warm_target:warm_up"), timeout=120, engine=engine)
    assert run.status == RunStatus.SUCCEEDED, run.error
    warm = _printed(run.output_path or "").splitlines()
    cold_run = run_notebook(_notebook(tmp_path), timeout=120, engine=engine)
    cold = _printed(cold_run.output_path or "").splitlines()
    assert warm[0] == "WARMED 1" and cold[0] == "WARMED 0"  # without one, nothing is loaded
    assert "'x'" in warm[1] and warm[1] == cold[1]  # the same names: the warm-up left none


@sqlite_only
def test_a_failing_warm_up_leaves_the_run_to_its_cells(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    run = run_notebook(_notebook(tmp_path, "warm_target:broken"), timeout=120, engine=engine)
    assert run.status == RunStatus.SUCCEEDED, run.error
    printed = _printed(run.output_path or "")
    assert "WARMED 0" in printed and "the warm-up broke" not in printed


@sqlite_only
@pytest.mark.parametrize("declared", ["warm_target", "warm_target:warm_up()", 7])
def test_a_malformed_warm_up_fails_the_run_naming_the_field(
    settings: Settings, engine: Engine, tmp_path: Path, declared: Any
) -> None:
    run = run_notebook(_notebook(tmp_path, declared), timeout=120, engine=engine)
    assert run.status == RunStatus.FAILED
    assert run.error == (
        "ValidationError: invalid notebook warm.ipynb: metadata.workbench.warm_up: "
        f"{declared!r} is not 'module:function'"
    )


TICK_AFTER_WARM_UP = """
import json, sys
import workbench as wb
wb.init(sample=True)
frame = wb.candles()
bot = wb.create_bot(name="warm", **frame.attrs["market"], is_active=True, dry_run=True)
moment = frame.index[-2].isoformat()

from numba.core.registry import CPUDispatcher
from workbench.bots import job

def loaded():  # every compiled function of the workbench, and how many versions it holds
    return {
        f"{name}.{attr}": len(value.overloads)
        for name, module in list(sys.modules.items())
        if name.startswith("workbench.") and module is not None
        for attr, value in vars(module).items()
        if isinstance(value, CPUDispatcher)
    }

before = loaded()
job.warm_up()
warmed = loaded()
job.tick(bot, as_of=moment)
print(json.dumps({"before": before, "warmed": warmed, "ticked": loaded()}))
"""


def test_the_live_bot_warm_up_loads_every_compiled_function_its_tick_uses(
    tmp_path: Path,
) -> None:
    book = nbformat.read(notebooks_folder() / "jobs" / "live_bot.ipynb", as_version=4)
    assert book.metadata["workbench"]["warm_up"] == "workbench.bots.job:warm_up"
    env = {"WORKBENCH_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(TICK_AFTER_WARM_UP)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["warmed"]["workbench.rules.engine.on_close"] == 1
    assert got["ticked"] != got["before"]  # the tick does use compiled functions
    assert got["ticked"] == got["warmed"]  # and none the warm-up had not loaded
    assert got["warmed"]["workbench.strategies.ema_cross.cross_pass"] >= 1


CLI = [sys.executable, "-c", "from workbench.cli import main; main()"]
WHEN_AND_WHERE = """
import os, psutil
print("KERNEL_STARTED", psutil.Process().create_time())
print("HOME", os.environ["WORKBENCH_HOME"])
print("HISTORY", get_ipython().history_manager.enabled)
"""


def _probe_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(WHEN_AND_WHERE)]
    path = folder / "probe.ipynb"
    nbformat.write(nb, path)
    return path


@sqlite_only
def test_workbench_run_starts_the_kernel_before_it_records_the_run(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    done = subprocess.run(
        [*CLI, "run", str(_probe_notebook(tmp_path)), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    printed = _printed(run["output_path"]).splitlines()
    started = datetime.fromisoformat(run["started_at"]).replace(tzinfo=UTC).timestamp()
    assert float(printed[0].split()[1]) < started  # up before the run was marked running
    assert printed[1] == f"HOME {settings.home}"
    # no IPython history database: a warm kernel counting cells from 1 again collides with it
    assert printed[2] == "HISTORY False"


@sqlite_only
def test_a_kernel_started_for_another_environment_is_not_used(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    notebook = _probe_notebook(tmp_path)
    with KernelLaunch(
        notebook, run_env("sqlite:///elsewhere.db", tmp_path / "elsewhere")
    ) as launch:
        run = run_notebook(notebook, timeout=120, engine=engine, launch=launch)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert _printed(run.output_path or "").splitlines()[1] == f"HOME {settings.home}"
