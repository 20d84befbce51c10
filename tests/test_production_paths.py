"""Production paths take no demo shortcuts: job notebooks use the database as it is, tick
exactly the bot they are given, on its own venue, and only while it is active."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from typer.testing import CliRunner

import workbench as wb
from tests.conftest import drop_pg_database, new_pg_database
from workbench.cli import app
from workbench.db.models import JobRun, RunStatus
from workbench.demo import run_demo
from workbench.errors import ConfigError, ConflictError, ValidationError
from workbench.jobs import run_notebook
from workbench.jobs.notebooks import notebooks_folder
from workbench.settings import get_settings

LIVE_BOT = notebooks_folder() / "jobs" / "live_bot.ipynb"


@pytest.fixture
def production(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WORKBENCH_ENV", "production")
    monkeypatch.setenv("WORKBENCH_SECRET_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    return home


def test_a_job_run_on_an_empty_sqlite_production_database_writes_nothing(
    production: Path,
) -> None:
    result = CliRunner().invoke(app, ["run", str(LIVE_BOT), "-p", "bot_id", "1"])
    assert result.exit_code != 0
    assert result.stderr.strip().splitlines() == [
        f"error: no database at {production / 'workbench.db'}; run `workbench init` first"
    ]
    assert not (production / "workbench.db").exists()


@pytest.mark.postgres
def test_a_job_run_on_an_empty_postgres_production_database_writes_nothing(
    production: Path, pg_admin: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = new_pg_database(pg_admin)
    try:
        monkeypatch.setenv("WORKBENCH_DATABASE_URL", url)
        get_settings.cache_clear()
        result = CliRunner().invoke(app, ["run", str(LIVE_BOT), "-p", "bot_id", "1"])
        assert result.exit_code != 0
        assert "has no workbench tables; run `workbench init`" in result.stderr
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
        engine.dispose()
    finally:
        drop_pg_database(pg_admin, url)


def test_nothing_synthetic_is_written_in_production(production: Path) -> None:
    with pytest.raises(ConfigError, match="never written in production"):
        wb.init(sample=True)
    with pytest.raises(ConfigError, match="refused in production"):
        run_demo(say=lambda _: None, progress=False)
    assert wb.init().empty  # a database made ready, and no market invented


def test_the_notebook_api_connects_only_to_a_ready_database(home: Path) -> None:
    with pytest.raises(ConfigError, match="run `workbench init` first"):
        wb.connect()
    assert wb.init().empty  # no sample market unless asked for
    wb.connect()
    with pytest.raises(ValidationError, match="bot_id: no bot given; run the job with"):
        wb.job_bot(None)


def test_the_live_bot_job_ticks_only_the_active_bot_it_is_given_on_its_own_venue(
    home: Path,
) -> None:
    wb.init(sample=True)
    market = wb.candles().attrs["market"]
    moment = wb.candles().index[-30].isoformat()
    idle = wb.create_bot(name="idle", **market)
    live = wb.create_bot(name="live", **market, is_active=True, dry_run=False)
    paper = wb.create_bot(name="paper", **market, is_active=True)

    def run(parameters: dict[str, object]) -> JobRun:
        return run_notebook(LIVE_BOT, parameters, timeout=300)

    missing = run({"as_of": moment})
    assert missing.status == RunStatus.FAILED and "bot_id: no bot given" in (missing.error or "")
    inactive = run({"bot_id": idle, "as_of": moment})
    assert inactive.status == RunStatus.FAILED and "is not active" in (inactive.error or "")
    # A live bot run the documented way goes to its exchange (here: refused for want of a
    # key), never silently to paper; asking for paper is refused rather than mixing state.
    on_exchange = run({"bot_id": live})
    assert on_exchange.status == RunStatus.FAILED
    assert f"bot {live} trades live but has no API key" in (on_exchange.error or "")
    asked_paper = run({"bot_id": live, "paper": True})
    assert asked_paper.status == RunStatus.FAILED
    assert "never ticked on paper" in (asked_paper.error or "")
    ticked = run({"bot_id": paper, "paper": True, "as_of": moment})
    assert ticked.status == RunStatus.SUCCEEDED, ticked.error
    last = wb.list_bots().set_index("id")["last_execution"]
    assert last.notna().to_dict() == {idle: False, live: False, paper: True}


def test_a_manual_tick_of_an_inactive_bot_needs_the_flag(home: Path) -> None:
    wb.init(sample=True)
    bot = wb.create_bot(name="idle", **wb.candles().attrs["market"])
    moment = wb.candles().index[-30]
    with pytest.raises(ConflictError, match="is not active, so it does not tick"):
        wb.tick(bot, as_of=moment)
    assert wb.tick(bot, as_of=moment, inactive=True).bot_id == bot
