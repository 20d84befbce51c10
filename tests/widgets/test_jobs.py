"""The job dashboard: schedules edited through the form, run now, runs and their outputs."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.db import session_scope
from workbench.db.models import JobRun, JobSchedule, MissedRuns, RunStatus
from workbench.jobs import LocalExecutor, remove_schedule, run_notebook
from workbench.settings import Settings
from workbench.widgets.jobs import LAB_ROOT_ENV, JobDashboard, lab_href, parse_parameters

NOTEBOOKS = Path(__file__).parents[1] / "jobs" / "notebooks"
GREET = str(NOTEBOOKS / "greet.ipynb")
FAIL = str(NOTEBOOKS / "fail.ipynb")
sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def schedules(engine: Engine) -> list[JobSchedule]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(JobSchedule).order_by(JobSchedule.id)))


def runs(engine: Engine) -> list[JobRun]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(JobRun).order_by(JobRun.id)))


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


def fill(board: JobDashboard, notebook: str, cron: str, parameters: str = "") -> None:
    board.notebook.value = notebook
    board.cron.value = cron
    board.parameters.value = parameters


def test_add_edit_enable_remove(settings: Settings, engine: Engine) -> None:
    board = JobDashboard(engine)
    assert board.schedule.value is None and board.remove.disabled and board.run_now.disabled
    assert "greet" not in board.schedules.value
    fill(board, GREET, "*/5 * * * *", "name=desk\ntimes = 3\nflag=True")
    board.timezone.value = "Europe/Berlin"
    board.missed_runs.value = MissedRuns.RUN_ONCE
    board.timeout.value = "120"
    board.save.click()
    [row] = schedules(engine)
    assert (row.name, row.cron, row.timezone, row.missed_runs, row.timeout_seconds) == (
        "greet",
        "*/5 * * * *",
        "Europe/Berlin",
        MissedRuns.RUN_ONCE,
        120,
    )
    assert row.parameters == {"name": "desk", "times": 3, "flag": True}  # as `-p` reads them
    assert row.notebook == GREET and row.enabled
    assert board.field_errors() == {} and f"saved schedule {row.id} (greet)" in board.message.text
    assert board.schedule.value == row.id and not board.remove.disabled
    assert "greet.ipynb" in board.schedules.value and "Europe/Berlin" in board.schedules.value
    assert json.loads(board.parameters.value) == row.parameters  # the stored row, as JSON

    board.cron.value = "0 * * * *"
    board.parameters.value = '{"name": "ops", "times": 2}'
    board.name.value = ""  # cleared: the name is kept
    board.save.click()
    [row] = schedules(engine)
    assert (row.cron, row.name) == ("0 * * * *", "greet")
    assert row.parameters == {"name": "ops", "times": 2}
    assert board.name.value == "greet"

    board.toggle.click()
    assert schedules(engine)[0].enabled is False
    assert board.toggle.description == "Enable" and board.enabled.value is False
    assert "disabled" in board.message.text
    board.toggle.click()
    assert schedules(engine)[0].enabled is True and board.toggle.description == "Disable"

    board.remove.click()
    assert schedules(engine) == [] and "removed schedule" in board.message.text
    assert board.schedule.value is None and board.notebook.value == ""
    assert "nothing to show" in board.schedules.value


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"cron": "every minute"}, "cron", "expected 5: minute hour day-of-month"),
        ({"cron": "61 * * * *"}, "cron", "minute field '61' is not valid"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown timezone 'Mars/Olympus'"),
        ({"parameters": '{"api_secret": "abc"}'}, "parameters", "api_secret: looks like a secret"),
        ({"parameters": "password=abc"}, "parameters", "password: looks like a secret"),
        ({"parameters": "{not json"}, "parameters", "not valid JSON"),
        ({"parameters": "[1, 2]"}, "parameters", "line 1 ('[1, 2]') is not name=value"),
        ({"parameters": "1x=3"}, "parameters", "must be a Python identifier"),
        ({"timeout": "soon"}, "timeout_seconds", "whole number of seconds"),
        ({"timeout": "-5"}, "timeout_seconds", "greater than 0"),
        ({"notebook": "nowhere.ipynb"}, "notebook", "does not exist"),
    ],
)
def test_bad_input_is_named_beside_its_field_and_nothing_is_saved(
    settings: Settings, engine: Engine, change: dict[str, str], field: str, text: str
) -> None:
    board = JobDashboard(engine)
    fill(board, GREET, "*/5 * * * *")
    for name, value in change.items():
        getattr(board, name).value = value
    assert board.save_schedule() is None
    errors = board.field_errors()
    assert list(errors) == [field] and text in errors[field]
    assert text in board.message.text
    assert "abc" not in board.message.text  # a secret-looking value is never echoed
    assert schedules(engine) == []


def test_bad_edit_keeps_the_stored_schedule(settings: Settings, engine: Engine) -> None:
    board = JobDashboard(engine)
    fill(board, GREET, "*/5 * * * *")
    board.save.click()
    board.cron.value = "not a cron"
    board.save.click()
    assert "cron" in board.field_errors() and schedules(engine)[0].cron == "*/5 * * * *"
    board.cron.value = "*/10 * * * *"
    board.save.click()
    assert board.field_errors() == {} and schedules(engine)[0].cron == "*/10 * * * *"


@sqlite_only
def test_refresh_keeps_unsaved_edits_and_notices_removals(
    settings: Settings, engine: Engine
) -> None:
    board = JobDashboard(engine)
    fill(board, GREET, "*/5 * * * *")
    board.save.click()
    board.cron.value = "0 0 * * *"  # not saved yet
    board.refresh_button.click()
    assert board.cron.value == "0 0 * * *"

    with session_scope(engine) as session:  # removed from elsewhere (another user, the CLI)
        remove_schedule(session=session, schedule_id=schedules(engine)[0].id)
    board.toggle.click()  # the dashboard still shows it
    assert "no schedule with id" in board.message.text
    board.refresh_button.click()
    assert board.schedule.value is None and board.notebook.value == ""


@sqlite_only
def test_actions_need_a_saved_schedule(settings: Settings, engine: Engine) -> None:
    board = JobDashboard(engine)
    fill(board, GREET, "*/5 * * * *")
    assert board.start_run() is None and "save the schedule" in board.message.text
    assert board.toggle_enabled() is None and "choose a saved schedule" in board.message.text
    assert runs(engine) == [] and schedules(engine) == []


def test_run_now_records_runs_the_table_shows(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LAB_ROOT_ENV, str(settings.home.parent))  # as `workbench lab` sets it
    executor = LocalExecutor(engine=engine)  # the default, kept to collect its processes
    board = JobDashboard(engine, executor=executor)
    fill(board, GREET, "0 0 * * *", "name=desk")
    board.save.click()
    good = board.start_run()
    board.schedule.value = None
    fill(board, FAIL, "0 0 * * *", "limit=7")
    board.save.click()
    bad = board.start_run()
    assert good and bad and "click Refresh" in board.message.text
    assert {r.status for r in runs(engine)} <= {RunStatus.QUEUED, RunStatus.RUNNING}
    assert "queued" in board.runs.value or "running" in board.runs.value

    assert executor.running == sorted([good, bad])  # Run now returned while they run
    succeeded, failed = wait_for_run(engine, good), wait_for_run(engine, bad)
    assert executor.wait(timeout=60) == {good: 0, bad: 1}
    assert succeeded.status == RunStatus.SUCCEEDED and succeeded.parameters == {"name": "desk"}
    assert failed.status == RunStatus.FAILED and failed.error == "ValueError: boom 7"
    assert [r.schedule_id for r in (succeeded, failed)] == [s.id for s in schedules(engine)]
    board.refresh_button.click()
    assert "succeeded" in board.runs.value and "failed" in board.runs.value
    assert "ValueError: boom 7" in board.runs.value
    assert f"<td>{failed.error_cell}</td>" in board.runs.value
    assert f"<td>{succeeded.duration_seconds:.1f}</td>" in board.runs.value
    assert board.run.value == bad  # the run started last stays chosen

    board.run.value = good
    for path in (succeeded.output_path, succeeded.html_path):
        assert path and Path(path).is_file() and path in board.links.value
    relative = Path(succeeded.html_path or "").relative_to(settings.home.parent).as_posix()
    assert f"href='/files/{relative}' target='_blank'>open HTML" in board.links.value
    assert "href='/lab/tree/" in board.links.value and "open output notebook" in board.links.value
    board.show_html.click()
    assert board.viewer.value.startswith("<iframe srcdoc=") and "desk x1" in board.viewer.value

    monkeypatch.setenv(LAB_ROOT_ENV, str(NOTEBOOKS))  # the runs are not under the server root
    board.run.value = bad
    assert "href" not in board.links.value and "outside what JupyterLab serves" in board.links.value
    assert failed.output_path and failed.output_path in board.links.value


@sqlite_only
def test_a_run_that_cannot_start_is_failed_not_left_queued(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    board = JobDashboard(engine, executor=LocalExecutor(python=str(tmp_path / "no-python")))
    fill(board, GREET, "0 0 * * *")
    board.save.click()
    assert board.start_run() is None
    assert "could not start a process" in board.message.text
    [run] = runs(engine)
    assert run.status == RunStatus.FAILED and "could not start" in (run.error or "")
    assert "failed" in board.runs.value


def test_parse_parameters_reads_json_or_name_value_lines() -> None:
    assert parse_parameters("") == {}
    assert parse_parameters('{"bots": [1, 2], "date": null}') == {"bots": [1, 2], "date": None}
    assert parse_parameters("bot_id=1\n\nratio = 0.5\nsymbol=BTC/USDT\nx=None") == {
        "bot_id": 1,
        "ratio": 0.5,
        "symbol": "BTC/USDT",
        "x": None,
    }


def test_lab_href(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LAB_ROOT_ENV, str(tmp_path))
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    assert lab_href(tmp_path / "runs" / "1 a" / "output.html") == "/files/runs/1%20a/output.html"
    assert lab_href(tmp_path / "runs" / "output.ipynb") == "/lab/tree/runs/output.ipynb"
    assert lab_href(tmp_path / ".workbench" / "runs" / "output.html") is None  # hidden
    assert lab_href(tmp_path.parent / "output.html") is None  # outside the root
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ann/")
    assert lab_href(tmp_path / "a.ipynb") == "/user/ann/lab/tree/a.ipynb"


@sqlite_only
def test_links_open_in_a_real_jupyterlab(
    settings: Settings, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard's links, followed on a JupyterLab server whose root holds the runs."""
    run = run_notebook(GREET, {"name": "lab"}, engine=engine)
    monkeypatch.setenv(LAB_ROOT_ENV, str(tmp_path))
    board = JobDashboard(engine)
    html_href = lab_href(Path(run.html_path or ""))
    notebook_href = lab_href(Path(run.output_path or ""))
    assert html_href and notebook_href and html_href in board.links.value
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = "dashboard-links"
    log = (tmp_path / "lab.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={tmp_path}",
         f"--IdentityProvider.token={token}", "--allow-root"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def get(path: str) -> tuple[str, str]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.headers.get_content_type(), response.read().decode()

    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None and time.monotonic() < deadline
            try:
                get("/api/status")
                break
            except OSError:
                time.sleep(0.3)
        kind, page = get(html_href)
        assert kind == "text/html" and "lab x1" in page
        kind, _ = get(notebook_href)  # JupyterLab's page, which opens the notebook
        assert kind == "text/html"
        _, model = get(notebook_href.replace("/lab/tree/", "/api/contents/"))
        assert json.loads(model)["type"] == "notebook"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
