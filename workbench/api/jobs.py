"""Notebook jobs: run one now, list recent runs."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from workbench.db import default_engine, session_scope

if TYPE_CHECKING:
    from workbench.db.models import JobRun


def list_runs(limit: int = 20) -> pd.DataFrame:
    """Recent job runs, newest first: notebook, status, start, duration, error, output."""
    from workbench.jobs import RunView, read_runs

    with session_scope(default_engine()) as session:
        views = read_runs(session=session, limit=limit)
    return pd.DataFrame([v.as_dict() for v in views], columns=[f.name for f in fields(RunView)])


def run_notebook(
    notebook: str | Path, parameters: dict[str, Any] | None = None, *, timeout: float | None = None
) -> JobRun:
    """Run a notebook with papermill now, as a recorded job (see :func:`list_runs`);
    ``timeout`` stops the whole run after that many seconds."""
    from workbench.jobs import run_notebook as run

    return run(notebook, parameters or {}, timeout=timeout)
