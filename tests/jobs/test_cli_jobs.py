"""The jobs CLI: run, jobs runs/show, schedule add/list/enable/disable/remove."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.settings import Settings

TIMEOUT = ("--timeout", "120")
SCHEDULER = ("scheduler", "--poll", "0.2")


@pytest.fixture
def cli(settings: Settings) -> CliRunner:
    return CliRunner()


def test_run_success_then_failure_then_list_and_show(cli: CliRunner, notebooks: Path) -> None:
    ok = cli.invoke(
        app,
        ["run", str(notebooks / "greet.ipynb"), "-p", "name", "Cli", "-p", "times", "4", *TIMEOUT],
    )
    assert ok.exit_code == 0, ok.output
    assert "run 1 succeeded" in ok.stdout
    output = ok.stdout.split("output ", 1)[1].split()[0]
    assert output.endswith("1-greet/output.ipynb") and Path(output).is_file()

    failed = cli.invoke(app, ["run", str(notebooks / "fail.ipynb"), "-p", "limit", "-2"])
    assert failed.exit_code == 1
    assert "run 2 failed" in failed.stdout
    assert "error (cell 3): ValueError: boom -2" in failed.stderr  # fail.ipynb has 4 cells

    listed = cli.invoke(app, ["jobs", "runs", "--json", "--limit", "5"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["status"]) for r in rows] == [(2, "failed"), (1, "succeeded")]
    assert rows[1]["parameters"] == {"name": "Cli", "times": 4}
    assert rows[0]["parameters"] == {"limit": -2} and rows[0]["error_cell"] is not None

    shown = cli.invoke(app, ["jobs", "show", "2", "--json"])
    assert json.loads(shown.stdout)["error"] == "ValueError: boom -2"
    table = cli.invoke(app, ["jobs", "runs"])
    assert "fail.ipynb" in table.stdout and "succeeded" in table.stdout
    missing = cli.invoke(app, ["jobs", "show", "99"])
    assert missing.exit_code == 2 and "no job run with id 99" in missing.stderr


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_run_refuses_secrets_and_bad_arguments(cli: CliRunner, notebooks: Path) -> None:
    nb = str(notebooks / "greet.ipynb")
    secret = cli.invoke(app, ["run", nb, "-p", "api_key", "abc"])
    assert secret.exit_code == 2 and "api_key: looks like a secret" in secret.stderr
    half = cli.invoke(app, ["run", nb, "-p", "name"])
    assert half.exit_code == 2 and "-p needs a NAME and a VALUE" in half.stderr
    typo = cli.invoke(app, ["run", nb, "--timout", "3"])
    assert typo.exit_code == 2 and "--timout: no such option" in typo.stderr
    gone = cli.invoke(app, ["run", "nowhere.ipynb"])
    assert gone.exit_code == 2 and "does not exist" in gone.stderr
    assert json.loads(cli.invoke(app, ["jobs", "runs", "--json"]).stdout) == []


def test_schedule_add_list_disable_enable_remove(cli: CliRunner, notebooks: Path) -> None:
    nb = str(notebooks / "greet.ipynb")
    added = cli.invoke(
        app,
        [
            *("schedule", "add", nb, "--cron", "*/15 * * * *", "--tz", "Europe/Berlin"),
            *("-p", "name", "desk", "-p", "ratio", "0.25", "--name", "desk report"),
            *("--missed", "run_once", "--timeout", "300"),
        ],
    )
    assert added.exit_code == 0, added.output
    assert "added schedule 1 'desk report': */15 * * * * (Europe/Berlin)" in added.stdout

    listed = json.loads(cli.invoke(app, ["schedule", "list", "--json"]).stdout)
    [row] = listed
    assert row["name"] == "desk report" and row["enabled"] is True
    assert row["parameters"] == {"name": "desk", "ratio": 0.25}
    assert (row["missed_runs"], row["timeout_seconds"], row["timezone"]) == (
        "run_once",
        300,
        "Europe/Berlin",
    )
    assert row["next_slot"] and row["notebook"] == str(Path(nb).resolve())

    assert cli.invoke(app, ["schedule", "disable", "1"]).exit_code == 0
    assert json.loads(cli.invoke(app, ["schedule", "list", "--json"]).stdout)[0]["enabled"] is False
    assert "no" in cli.invoke(app, ["schedule", "list"]).stdout
    enabled = cli.invoke(app, ["schedule", "enable", "1"])
    assert enabled.exit_code == 0 and "enabled" in enabled.stdout

    removed = cli.invoke(app, ["schedule", "remove", "1"])
    assert removed.exit_code == 0 and "schedule 1 removed" in removed.stdout
    assert json.loads(cli.invoke(app, ["schedule", "list", "--json"]).stdout) == []
    again = cli.invoke(app, ["schedule", "remove", "1"])
    assert again.exit_code == 2 and "no schedule with id 1" in again.stderr


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_schedule_add_names_the_bad_field(cli: CliRunner, notebooks: Path) -> None:
    nb = str(notebooks / "greet.ipynb")
    bad_cron = cli.invoke(app, ["schedule", "add", nb, "--cron", "0 25 * * *"])
    assert bad_cron.exit_code == 2 and "cron: hour field '25'" in bad_cron.stderr
    bad_tz = cli.invoke(app, ["schedule", "add", nb, "--cron", "@hourly", "--tz", "Nowhere/X"])
    assert bad_tz.exit_code == 2 and "timezone: unknown timezone" in bad_tz.stderr
    bad_missed = cli.invoke(app, ["schedule", "add", nb, "--cron", "@daily", "--missed", "all"])
    assert bad_missed.exit_code == 2 and "missed" in bad_missed.stderr
    bad_executor = cli.invoke(app, ["scheduler", "--executor", "threads"])
    assert bad_executor.exit_code == 2 and "executor" in bad_executor.stderr


@pytest.mark.parametrize("executor", ["local", "warm"])
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_scheduler_command_stops_cleanly_on_sigterm(settings: Settings, executor: str) -> None:
    args = [*SCHEDULER, "--executor", executor]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from workbench.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert "scheduler: polling every 0.2 s" in first and f"{executor} executor" in first
    time.sleep(1)  # a few ticks
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "scheduler stopped" in out and "Traceback" not in out
