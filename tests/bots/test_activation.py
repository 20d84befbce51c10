"""Activating a bot schedules its live-bot job (every check_interval_seconds, a few seconds
after its bar closes); deactivating disables it, deleting removes it. Through the real
schedule tables and the real scheduler."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.jobs.conftest import RecordingExecutor
from workbench.accounts import local_user
from workbench.bots import create_bot, delete_bot, update_bot
from workbench.bots.activation import bar_cron, bot_schedules
from workbench.bots.configs import activate_bot, deactivate_bot
from workbench.db import session_scope
from workbench.errors import ValidationError
from workbench.jobs import cron as cronlib
from workbench.jobs import list_schedules, tick
from workbench.settings import Settings


@pytest.mark.parametrize(
    ("timeframe", "interval", "expected"),
    [
        ("1h", 60, "5 * * * * *"),
        ("5m", 300, "5 */5 * * * *"),
        ("5m", 3600, "5 0 * * * *"),
        ("1h", 3600, "5 0 * * * *"),
        ("4h", 14400, "5 0 */4 * * *"),
        ("1m", 15, "5,20,35,50 * * * * *"),
        ("1m", 2, ",".join(str(s) for s in range(1, 60, 2)) + " * * * * *"),
        ("1d", 86400, "5 0 0 * * *"),
    ],
)
def test_bar_cron_ticks_just_after_bar_closes(timeframe: str, interval: int, expected: str) -> None:
    cron = bar_cron(timeframe, interval)
    assert cron == expected
    close = datetime(2026, 3, 2, tzinfo=UTC)  # a close of every timeframe above
    first = cronlib.next_slot(cron, "UTC", close)
    assert first - close == timedelta(seconds=min(5, interval - 1))
    second = cronlib.next_slot(cron, "UTC", first)
    assert second - first == timedelta(seconds=interval)


@pytest.mark.parametrize(("timeframe", "interval"), [("1h", 90), ("5m", 420), ("1h", 7)])
def test_bar_cron_refuses_intervals_off_the_bars(timeframe: str, interval: int) -> None:
    with pytest.raises(ValidationError) as err:
        bar_cron(timeframe, interval)
    assert "check_interval_seconds" in err.value.errors


def new_bot(engine: Engine, name: str = "sched", **fields: object) -> int:
    with session_scope(engine) as session:
        owner = local_user(session=session)
        market = {"exchange": "binance", "symbol": "ETH/BTC", "timeframe": "5m"}
        return create_bot(
            session=session,
            user_id=owner.id,
            name=name,
            strategy="ema_cross",
            **(market | fields),
        ).id


def schedules_of(engine: Engine, bot_id: int) -> list[tuple[int, bool, str]]:
    with session_scope(engine) as session:
        return [(s.id, s.enabled, s.cron) for s in bot_schedules(session=session, bot_id=bot_id)]


def test_activate_schedules_once_deactivate_disables(settings: Settings, engine: Engine) -> None:
    bot_id = new_bot(engine)
    assert schedules_of(engine, bot_id) == []
    with session_scope(engine) as session:
        activate_bot(session=session, bot_id=bot_id)
    with session_scope(engine) as session:
        activate_bot(session=session, bot_id=bot_id)  # twice: still one schedule
    [(schedule_id, enabled, cron)] = schedules_of(engine, bot_id)
    assert (enabled, cron) == (True, "5 * * * * *")
    with session_scope(engine) as session:
        [row] = list_schedules(session=session)
        assert Path(row.notebook).name == "live_bot.ipynb"
        assert row.parameters == {"bot_id": bot_id} and row.name == f"live-bot-{bot_id}"

    # The scheduler starts its tick a few seconds after the next minute.
    executor = RecordingExecutor(engine, finish=True)
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert [c.schedule_id for c in tick(later, engine=engine, executor=executor).claimed] == [
        schedule_id
    ]

    with session_scope(engine) as session:
        assert deactivate_bot(session=session, bot_id=bot_id) == [schedule_id]
    assert schedules_of(engine, bot_id) == [(schedule_id, False, "5 * * * * *")]
    assert tick(later + timedelta(minutes=5), engine=engine, executor=executor).claimed == []

    # Through update_bot (the form's path) too; a new interval moves the schedule.
    with session_scope(engine) as session:
        update_bot(session=session, bot_id=bot_id, is_active=True, check_interval_seconds=300)
    assert schedules_of(engine, bot_id) == [(schedule_id, True, "5 */5 * * * *")]
    with session_scope(engine) as session:
        update_bot(session=session, bot_id=bot_id, is_active=False)
    assert schedules_of(engine, bot_id) == [(schedule_id, False, "5 */5 * * * *")]


def test_created_active_is_scheduled_and_delete_removes(settings: Settings, engine: Engine) -> None:
    bot_id = new_bot(engine, is_active=True, timeframe="1h", check_interval_seconds=3600)
    [(_, enabled, cron)] = schedules_of(engine, bot_id)
    assert (enabled, cron) == (True, "5 0 * * * *")
    with session_scope(engine) as session:
        delete_bot(session=session, bot_id=bot_id)
    with session_scope(engine) as session:
        assert list_schedules(session=session) == []


def test_unschedulable_interval_leaves_the_bot_inactive(settings: Settings, engine: Engine) -> None:
    bot_id = new_bot(engine, check_interval_seconds=90)
    with (
        pytest.raises(ValidationError, match="check_interval_seconds"),
        session_scope(engine) as session,
    ):
        activate_bot(session=session, bot_id=bot_id)
    with session_scope(engine) as session:
        assert list_schedules(session=session) == []
        assert not update_bot(session=session, bot_id=bot_id).is_active


def test_cli_activate_twice_shows_one_schedule(settings: Settings, engine: Engine) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app

    bot_id = new_bot(engine)
    runner = CliRunner()
    first = runner.invoke(app, ["bot", "activate", str(bot_id)])
    assert first.exit_code == 0, first.output
    assert "cron 5 * * * * * (UTC)" in first.stdout
    again = runner.invoke(app, ["bot", "activate", str(bot_id), "--json"])
    assert again.exit_code == 0, again.output
    [(schedule_id, enabled, _)] = schedules_of(engine, bot_id)
    assert enabled and json.loads(again.stdout)["schedule"]["schedule_id"] == schedule_id
