"""What a run may write and take: credentials scrubbed, owner-only files, checked
parameters, schedules showing their own clock, retries of temporary failures."""

from __future__ import annotations

import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.jobs.conftest import RecordingExecutor
from workbench.accounts import local_user
from workbench.accounts.api_keys import add_api_key
from workbench.cli import app
from workbench.db.engine import session_scope
from workbench.db.models.jobs import JobRun, RunStatus
from workbench.errors import ValidationError
from workbench.jobs import add_schedule, check_parameters, execute_run, run_notebook, tick
from workbench.jobs.runs import create_run, end_run, mark_running
from workbench.redact import REDACTED
from workbench.settings import Settings

sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
PLAIN_KEY = "AKpLainExchangeKey0123456789"
PLAIN_SECRET = "SeCrEtExchangeValue9876543210zz"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@sqlite_only
def test_decrypted_exchange_credentials_never_reach_the_run_outputs(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    with session_scope(engine) as session:
        user = local_user(session=session)
        key_id = add_api_key(
            session=session,
            user_id=user.id,
            exchange="binance",
            key_name="main",
            api_key=PLAIN_KEY,
            api_secret=PLAIN_SECRET,
        ).id
    run = run_notebook(
        notebooks / "leak_credentials.ipynb", {"key_row": key_id}, timeout=120, engine=engine
    )
    assert run.status == RunStatus.FAILED
    folder = Path(run.output_path or "").parent
    files = {name: (folder / name).read_text() for name in ("output.ipynb", "output.html")}
    files["run.log"] = (folder / "run.log").read_text()
    files["job_runs.error"] = run.error or ""
    for name, text in files.items():
        assert PLAIN_KEY not in text and PLAIN_SECRET not in text, name
    assert f"exchange refused {REDACTED}/{REDACTED}" in files["job_runs.error"]
    assert "secret " + REDACTED in files["output.ipynb"]  # printed, then scrubbed


def test_home_runs_outputs_and_database_are_owner_only(
    tmp_path: Path, notebooks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "fresh-home"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.setenv("WORKBENCH_ENV", "development")
    for var in ("WORKBENCH_DATABASE_URL", "WORKBENCH_REDIS_URL", "WORKBENCH_SECRET_KEY"):
        monkeypatch.delenv(var, raising=False)
    cli = [sys.executable, "-c", "from workbench.cli import main; main()"]
    subprocess.run([*cli, "init"], check=True, capture_output=True)
    ran = subprocess.run(
        [*cli, "run", str(notebooks / "greet.ipynb"), "--timeout", "120"],
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    folder = home / "runs" / "1-greet"
    for path in (home, home / "runs", folder):
        assert _mode(path) == 0o700, path
    for path in (home / "workbench.db", home / "secret.key", *folder.iterdir()):
        assert _mode(path) == 0o600, path
    assert {p.name for p in folder.iterdir()} >= {"output.ipynb", "output.html", "run.log"}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), [1.0, float("nan")]])
def test_non_finite_parameters_are_refused(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        check_parameters({"ratio": value})
    assert caught.value.errors == {"ratio": "must be a finite number: nan and inf are refused"}


@pytest.mark.parametrize("name", ["import", "class", "None", "1x", "a-b"])
def test_parameter_names_must_be_identifiers_and_not_keywords(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_parameters({name: 1})
    assert name in caught.value.errors


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_run_refuses_nan_keywords_and_unknown_parameters_before_any_row(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    cli = CliRunner()
    nb = str(notebooks / "greet.ipynb")
    nan = cli.invoke(app, ["run", nb, "-p", "ratio", "nan"])
    assert nan.exit_code == 2 and "ratio: must be a finite number" in nan.stderr
    unknown = cli.invoke(app, ["run", nb, "-p", "nosuchparam", "1"])
    assert unknown.exit_code == 2
    assert "nosuchparam: is not a parameter of greet.ipynb" in unknown.stderr
    assert "flag, name, ratio, times" in unknown.stderr
    keyword = cli.invoke(app, ["run", nb, "-p", "import", "1"])
    assert keyword.exit_code == 2 and "import: is a Python keyword" in keyword.stderr
    for result in (nan, unknown, keyword):
        assert "Traceback" not in result.output and result.stderr.count("\n") == 1
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0


@sqlite_only
def test_schedule_add_checks_parameters_and_bot_ids_and_list_shows_its_timezone(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    cli = CliRunner()
    greet = str(notebooks / "greet.ipynb")
    live_bot = str(Path(__file__).resolve().parents[2] / "notebooks" / "jobs" / "live_bot.ipynb")
    bad_bot = cli.invoke(
        app, ["schedule", "add", live_bot, "--cron", "@hourly", "-p", "bot_id", "999"]
    )
    assert bad_bot.exit_code == 2 and "bot_id: there is no bot 999" in bad_bot.stderr
    unknown = cli.invoke(app, ["schedule", "add", greet, "--cron", "@hourly", "-p", "nope", "1"])
    assert unknown.exit_code == 2 and "nope: is not a parameter of greet.ipynb" in unknown.stderr

    added = cli.invoke(
        app, ["schedule", "add", greet, "--cron", "0 9 * * *", "--tz", "Europe/Berlin"]
    )
    assert added.exit_code == 0, added.output
    listed = cli.invoke(app, ["schedule", "list"])
    assert "09:00:00 CET (Europe/Berlin)" in listed.stdout or "09:00:00 CEST (Europe/Berlin)" in (
        listed.stdout
    )
    assert "09:00:00 CE" in added.stdout


@sqlite_only
def test_a_temporary_failure_is_recognised_by_a_real_run(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    with session_scope(engine) as session:
        run_id = create_run(
            session=session, notebook=str(notebooks / "temporary.ipynb"), parameters={}
        ).id
    run = execute_run(run_id, engine=engine)
    assert run.status == RunStatus.FAILED and run.retryable
    assert run.error == "TemporaryError: exchange down"
    failed = run_notebook(notebooks / "fail.ipynb", {}, engine=engine)
    assert failed.status == RunStatus.FAILED and not failed.retryable


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_temporary_failures_are_retried_with_backoff_up_to_the_schedule_limit(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    t0 = datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC)
    with session_scope(engine) as session:
        schedule_id = add_schedule(
            session=session,
            notebook=notebooks / "temporary.ipynb",
            cron="0 * * * *",
            max_retries=2,
            retry_delay_seconds=60,
            start=t0,
        ).id
    executor = RecordingExecutor(engine, finish=False)

    def fail_temporarily(run_id: int, at: datetime) -> None:
        mark_running(engine=engine, run_id=run_id, output_path="x", now=at)
        end_run(
            engine=engine,
            run_id=run_id,
            status=RunStatus.FAILED,
            error="TemporaryError: exchange down",
            retryable=True,
            now=at,
        )

    first = tick(t0 + timedelta(minutes=30), engine=engine, executor=executor)  # 13:00 slot
    [claim] = tick(t0 + timedelta(minutes=60), engine=engine, executor=executor).claimed
    assert first.claimed == []
    failed_at = claim.slot + timedelta(seconds=5)
    fail_temporarily(claim.run_id, failed_at)
    early = tick(failed_at + timedelta(seconds=59), engine=engine, executor=executor)
    assert early.retried == [] and early.claimed == []
    [retry1] = tick(failed_at + timedelta(seconds=60), engine=engine, executor=executor).retried
    fail_temporarily(retry1.run_id, failed_at + timedelta(seconds=61))
    # the second retry waits twice as long: 120 s
    assert tick(failed_at + timedelta(seconds=180), engine=engine, executor=executor).retried == []
    [retry2] = tick(failed_at + timedelta(seconds=182), engine=engine, executor=executor).retried
    fail_temporarily(retry2.run_id, failed_at + timedelta(seconds=183))
    last = tick(failed_at + timedelta(seconds=3600 - 10), engine=engine, executor=executor)
    assert last.retried == []  # max_retries reached
    with session_scope(engine) as session:
        attempts = session.execute(
            sa.select(JobRun.slot, JobRun.attempt).where(JobRun.schedule_id == schedule_id)
        ).all()
    assert sorted(a for _, a in attempts) == [1, 2, 3]
    assert {s for s, _ in attempts} == {claim.slot}
    assert executor.run_ids == [claim.run_id, retry1.run_id, retry2.run_id]
