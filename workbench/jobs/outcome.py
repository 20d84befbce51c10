"""How a job run's notebook execution ended (:class:`Outcome`), and what executes one
(:class:`Launch`: :func:`workbench.jobs.kernel.run_in_kernel` or a warm kernel's
:meth:`~workbench.jobs.warm.WarmKernel.launch`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from workbench.types import RunStatus


@dataclass(frozen=True)
class Outcome:
    status: RunStatus
    cell: int | None = None
    ename: str = ""
    evalue: str = ""


class Launch(Protocol):
    """Executes a notebook for a run and says how it ended:
    :func:`~workbench.jobs.kernel.run_in_kernel` (a new kernel) or
    :meth:`workbench.jobs.warm.WarmKernel.launch` (a kept one)."""

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
    ) -> Outcome: ...


def outcome_of(result: dict[str, Any]) -> Outcome:
    """The outcome :func:`workbench.jobs.papermill_run.run` reported."""
    if result["status"] == RunStatus.SUCCEEDED:
        return Outcome(RunStatus.SUCCEEDED)
    return Outcome(RunStatus.FAILED, result.get("cell"), result["ename"], result["evalue"])
