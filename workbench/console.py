"""The ``workbench`` console script.

The command line (:mod:`workbench.cli`) takes half a second to load. For ``workbench run
NOTEBOOK ...`` that half second is spent while the run's kernel, started here first,
loads on the other core (see :class:`~workbench.jobs.kernel.KernelLaunch`): the ``run``
command receives it as its context object. Any other command starts as it always does.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.jobs.kernel import KernelLaunch

# `workbench run`'s options that take values (see workbench.cli.jobs.run)
_PAIR_OPTIONS, _VALUE_OPTIONS = ("-p", "--parameters"), ("--timeout",)


def main() -> None:
    kernel = early_kernel(sys.argv[1:])
    try:
        from workbench.cli import app

        app(obj=kernel)
    finally:
        if kernel is not None:
            kernel.close()


def early_kernel(argv: list[str]) -> KernelLaunch | None:
    """The kernel for ``workbench run NOTEBOOK ...``, started now; None for any other
    command, or when the notebook or the settings are not right (the command itself then
    says what is wrong)."""
    notebook = _notebook(argv)
    if notebook is None:
        return None
    from workbench.errors import WorkbenchError
    from workbench.jobs.kernel import KernelLaunch, run_env
    from workbench.settings import get_settings

    try:
        settings = get_settings()
    except WorkbenchError:
        return None
    return KernelLaunch(notebook, run_env(settings.database_url, settings.home))


def _notebook(argv: list[str]) -> Path | None:
    if argv[:1] != ["run"]:
        return None
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg in _PAIR_OPTIONS:
            i += 3
        elif arg in _VALUE_OPTIONS:
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            path = Path(arg)
            return path if path.suffix == ".ipynb" and path.is_file() else None
    return None
