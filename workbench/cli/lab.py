"""``workbench lab``: JupyterLab on the notebooks, sharing this workbench's home."""

from __future__ import annotations

import os
import subprocess
import sys

import typer

from workbench.jobs.notebooks import notebooks_folder
from workbench.settings import get_settings

EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def lab(ctx: typer.Context) -> None:
    """Start JupyterLab in the notebooks folder (other options go to JupyterLab, e.g.
    --port 8890 --no-browser)."""
    folder = notebooks_folder()
    home = get_settings().home.resolve()  # kernels run in the notebooks' folder: pin the home
    env = dict(os.environ, WORKBENCH_HOME=str(home))
    typer.echo(f"JupyterLab in {folder} (workbench home {home}); start with 00_start_here")
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}", *ctx.args]
    raise typer.Exit(subprocess.call(command, env=env))
