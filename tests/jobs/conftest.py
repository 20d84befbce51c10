"""Job tests: tiny notebooks in tests/jobs/notebooks, run by a real kernel and papermill."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from workbench.db.engine import session_scope
from workbench.db.models.jobs import RunStatus
from workbench.jobs.runs import finish_run, mark_running

NOTEBOOKS = Path(__file__).parent / "notebooks"


@pytest.fixture
def notebooks() -> Path:
    return NOTEBOOKS


class RecordingExecutor:
    """An executor whose jobs are instant: it records each run id and finishes the run.

    A real implementation of the executor interface (``submit``), walking each run
    through the real lifecycle, for tests that drive many slots quickly.
    """

    def __init__(self, engine: Engine, *, finish: bool = True) -> None:
        self.engine = engine
        self.finish = finish
        self.run_ids: list[int] = []

    def submit(self, run_id: int) -> None:
        self.run_ids.append(run_id)
        if self.finish:
            self.complete(run_id)

    def complete(self, run_id: int, status: RunStatus = RunStatus.SUCCEEDED) -> None:
        now = datetime.now().astimezone()
        mark_running(engine=self.engine, run_id=run_id, output_path="(instant)", now=now)
        finish_run(engine=self.engine, run_id=run_id, status=status, now=now)


def count_rows(engine: Engine, sql: str) -> int:
    import sqlalchemy as sa

    with session_scope(engine) as session:
        return int(session.execute(sa.text(sql)).scalar_one())
