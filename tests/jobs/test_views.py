"""The read models of runs, schedules and bots: built once from the rows, shown alike by
the CLI, the widgets and the notebook API."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.conftest import MakeBot
from workbench.bots.views import BotView, read_bots
from workbench.db.models import BotState
from workbench.db.models.jobs import MissedRuns, RunStatus
from workbench.errors import NotFoundError
from workbench.jobs import (
    ScheduleView,
    add_schedule,
    read_run,
    read_runs,
    read_schedule,
    read_schedules,
    run_fields,
    schedule_fields,
)
from workbench.jobs.runs import create_run, finish_run, mark_running
from workbench.settings import Settings


def test_runs_newest_first_with_their_outcome(
    settings: Settings, engine: Engine, session: Session, notebooks: Path
) -> None:
    nb = str(notebooks / "greet.ipynb")
    first = create_run(session=session, notebook=nb, parameters={"name": "a"})
    second = create_run(session=session, notebook=nb, parameters={"name": "b"})
    session.commit()
    start = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    mark_running(engine=engine, run_id=first.id, output_path="/out/1.ipynb", now=start)
    finish_run(
        engine=engine,
        run_id=first.id,
        status=RunStatus.FAILED,
        now=start.replace(second=12),
        error="boom",
        error_cell=3,
    )
    session.expire_all()  # ended by another connection

    views = read_runs(session=session)
    assert [v.id for v in views] == [second.id, first.id]
    failed = read_run(session=session, run_id=first.id)
    assert (failed.status, failed.error, failed.error_cell) == (RunStatus.FAILED, "boom", 3)
    assert failed.notebook_name == "greet.ipynb" and failed.parameters == {"name": "a"}
    assert failed.seconds_text == "12.0" and views[0].seconds_text == ""
    assert [v.id for v in read_runs(session=session, status=RunStatus.QUEUED)] == [second.id]
    assert run_fields(first) == failed.as_dict() and list(failed.as_dict())[:2] == [
        "id",
        "schedule_id",
    ]
    with pytest.raises(FrozenInstanceError):
        failed.error = "changed"  # type: ignore[misc]
    with pytest.raises(NotFoundError, match="no job run with id 999"):
        read_run(session=session, run_id=999)


def test_a_schedule_shows_its_next_slot_on_its_own_clock(
    settings: Settings, session: Session, notebooks: Path
) -> None:
    start = datetime(2024, 3, 30, 12, 0, tzinfo=UTC)  # Berlin moves to summer time next night
    made = add_schedule(
        session=session,
        notebook=notebooks / "greet.ipynb",
        cron="0 3 * * *",
        timezone="Europe/Berlin",
        missed_runs="run_all",
        start=start,
    )
    utc_one = add_schedule(
        session=session, notebook=notebooks / "greet.ipynb", cron="@daily", start=start
    )
    view = ScheduleView.of(made, now=start)
    assert view.next_slot == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)
    assert view.next_local_text == "2024-03-31 03:00:00 CEST (Europe/Berlin)"
    assert view.missed_runs is MissedRuns.RUN_ALL and view.notebook_name == "greet.ipynb"
    assert ScheduleView.of(utc_one, now=start).next_local_text == "2024-03-31 00:00:00 UTC"
    assert schedule_fields(made, now=start) == view.as_dict()
    assert [s.id for s in read_schedules(session=session, now=start)] == [made.id, utc_one.id]
    assert read_schedule(session=session, schedule_id=made.id).name == made.name


def test_bots_with_their_state(session: Session, make_bot: MakeBot) -> None:
    quiet = make_bot(name="quiet")
    ticked = make_bot(name="ticked", symbol="ETH/BTC", is_active=True)
    state = session.query(BotState).filter_by(bot_config_id=ticked.id).one()
    state.last_execution = datetime(2024, 1, 2, tzinfo=UTC)
    state.status_message = "hold: no signal"
    session.commit()

    first, second = read_bots(session=session)
    assert first == BotView(
        id=quiet.id,
        name="quiet",
        exchange="binance",
        symbol="BTC/USDT",
        timeframe="5m",
        strategy="ema_cross",
        is_active=False,
        dry_run=True,
        last_execution=None,
        status_message=None,
    )
    assert (second.symbol, second.is_active, second.status_message) == (
        "ETH/BTC",
        True,
        "hold: no signal",
    )
    assert second.last_execution == datetime(2024, 1, 2, tzinfo=UTC)
