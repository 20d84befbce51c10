"""The job dashboard: schedules edited through the form, run now, runs and their outputs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.db import session_scope
from workbench.db.models import JobRun, JobSchedule, RunStatus
from workbench.settings import Settings
from workbench.widgets.jobs import JobDashboard

NOTEBOOKS = Path(__file__).parents[1] / "jobs" / "notebooks"


def schedules(engine: Engine) -> list[JobSchedule]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(JobSchedule).order_by(JobSchedule.id)))


def wait_for_run(engine: Engine, run_id: int, timeout: float = 120) -> JobRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(engine) as session:
            run = session.get(JobRun, run_id)
            assert run is not None
            if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.TIMED_OUT):
                return run
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s")


def fill(board: JobDashboard, notebook: str, cron: str, parameters: str = "{}") -> None:
    board.notebook.value = notebook
    board.cron.value = cron
    board.parameters.value = parameters


def test_add_edit_enable_remove(settings: Settings, engine: Engine) -> None:
    board = JobDashboard(engine)
    fill(board, str(NOTEBOOKS / "greet.ipynb"), "*/5 * * * *", '{"name": "desk"}')
    board.timezone.value = "Europe/Berlin"
    board.save.click()
    [row] = schedules(engine)
    assert (row.cron, row.timezone, row.parameters) == (
        "*/5 * * * *",
        "Europe/Berlin",
        {"name": "desk"},
    )
    assert "greet" in board.schedules.value and board.schedule.value == row.id

    board.cron.value = "0 * * * *"
    board.save.click()
    assert schedules(engine)[0].cron == "0 * * * *"
    board.toggle.click()
    assert schedules(engine)[0].enabled is False and board.toggle.description == "Enable"
    board.toggle.click()
    assert schedules(engine)[0].enabled is True
    board.remove.click()
    assert schedules(engine) == [] and "removed schedule" in board.message.text


@pytest.mark.parametrize(
    ("cron", "timezone", "parameters", "error"),
    [
        ("every minute", "UTC", "{}", "cron"),
        ("*/5 * * * *", "Mars/Olympus", "{}", "timezone"),
        ("*/5 * * * *", "UTC", "{not json", "parameters: not valid JSON"),
        ("*/5 * * * *", "UTC", '{"api_secret": "abc"}', "api_secret"),
    ],
)
def test_bad_input_is_named_and_nothing_is_saved(
    settings: Settings, engine: Engine, cron: str, timezone: str, parameters: str, error: str
) -> None:
    board = JobDashboard(engine)
    fill(board, str(NOTEBOOKS / "greet.ipynb"), cron, parameters)
    board.timezone.value = timezone
    board.save.click()
    assert error in board.message.text
    assert schedules(engine) == []
    assert "abc" not in board.message.text


def test_run_now_records_runs_the_table_shows(settings: Settings, engine: Engine) -> None:
    board = JobDashboard(engine)
    fill(board, str(NOTEBOOKS / "greet.ipynb"), "0 0 * * *", '{"name": "desk"}')
    board.save.click()
    good = board.start_run()
    fill(board, str(NOTEBOOKS / "fail.ipynb"), "0 0 * * *")
    board.schedule.value = None
    fill(board, str(NOTEBOOKS / "fail.ipynb"), "0 0 * * *")
    board.save.click()
    bad = board.start_run()
    assert good and bad
    assert wait_for_run(engine, good).status == RunStatus.SUCCEEDED
    failed = wait_for_run(engine, bad)
    assert failed.status == RunStatus.FAILED
    board.refresh_button.click()
    assert "succeeded" in board.runs.value and "failed" in board.runs.value
    assert failed.error and failed.error.split(":")[0] in board.runs.value

    board.run.value = good
    assert "output notebook" in board.links.value and "HTML" in board.links.value
    for path in (wait_for_run(engine, good).output_path, wait_for_run(engine, good).html_path):
        assert path and Path(path).exists() and path in board.links.value
    board.show_html.click()
    assert board.viewer.value.startswith("<iframe srcdoc=")
