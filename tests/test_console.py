"""The console script: `workbench run` gets a kernel started before the CLI loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from sqlalchemy import Engine

from workbench.console import early_kernel
from workbench.db.engine import default_engine
from workbench.jobs.kernel import KernelLaunch, run_env
from workbench.settings import Settings

CONSOLE = [sys.executable, "-c", "from workbench.console import main; main()"]


def _notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell("x = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print('X IS', x)")]
    path = folder / "probe.ipynb"
    nbformat.write(nb, path)
    return path


def test_the_console_module_loads_no_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, workbench.console; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = done.stdout
    assert "'typer'" not in loaded and "'workbench.cli'" not in loaded
    assert "'sqlalchemy'" not in loaded


@pytest.mark.parametrize(
    "argv",
    [
        ["bot", "list"],
        ["run"],
        ["run", "--json"],
        ["run", "missing.ipynb"],
        ["run", "-p", "nb.ipynb", "1"],  # a parameter's name, not a notebook
        ["run", "notes.txt"],
    ],
)
def test_no_kernel_for_other_commands_or_without_a_notebook(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not a notebook")
    assert early_kernel(argv) is None


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_early_kernel_is_for_the_notebook_and_the_environment_the_run_gets(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    notebook = _notebook(tmp_path)
    kernel = early_kernel(["run", "--timeout", "60", "-p", "x", "1", str(notebook), "--json"])
    assert isinstance(kernel, KernelLaunch)
    try:
        assert kernel.notebook == notebook.resolve()
        # what the runner gives the kernel of a run on the default database: equal, so the
        # early kernel is the one used
        url = default_engine().url.render_as_string(hide_password=False)
        assert kernel.env == run_env(url, settings.home)
    finally:
        kernel.close()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_workbench_run_through_the_console_script(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    notebook = _notebook(tmp_path)
    done = subprocess.run(
        [*CONSOLE, "run", str(notebook), "-p", "x", "7", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["status"] == "succeeded"
    output = nbformat.read(run["output_path"], as_version=4)
    assert "X IS 7" in "".join(str(o.get("text", "")) for c in output.cells for o in c.outputs)
