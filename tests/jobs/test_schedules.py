"""Schedules: validation that names the field, CRUD, and which slots are due (DST too)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from workbench.db.models.jobs import JobSchedule, MissedRuns
from workbench.errors import ConflictError, NotFoundError, ValidationError
from workbench.jobs import (
    MAX_CATCH_UP,
    add_schedule,
    due_slots,
    get_schedule,
    list_schedules,
    remove_schedule,
    schedule_fields,
    set_enabled,
    update_schedule,
)
from workbench.settings import Settings


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def schedule(
    cron: str, *, tz: str = "UTC", missed: MissedRuns = MissedRuns.SKIP, last: datetime
) -> JobSchedule:
    return JobSchedule(cron=cron, timezone=tz, missed_runs=missed, last_slot=last)


@pytest.mark.parametrize(
    ("cron", "field"),
    [
        ("61 * * * *", "minute field '61'"),
        ("* 24 * * *", "hour field '24'"),
        ("* * 0 * *", "day of month field '0'"),
        ("* * * 13 *", "month field '13'"),
        ("* * * * 8", "day of week field '8'"),
        ("*/x * * * *", "minute field '*/x'"),
        ("0 0 30 2 *", "day of month field '30' never matches in month field '2'"),
        ("* * * *", "has 4 fields; expected 5"),
        ("* * * * * * *", "has 7 fields; expected 5"),
        ("61 * * * * *", "second field '61' is not valid"),
        ("@reboot", "unknown macro '@reboot'"),
    ],
)
def test_cron_errors_name_the_field(
    settings: Settings, session: Session, notebooks: Path, cron: str, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        add_schedule(session=session, notebook=notebooks / "greet.ipynb", cron=cron)
    assert set(caught.value.errors) == {"cron"}
    assert field in caught.value.errors["cron"]
    assert field in str(caught.value)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_other_fields_are_validated(settings: Settings, session: Session, notebooks: Path) -> None:
    nb = notebooks / "greet.ipynb"
    cases = [
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown timezone"),
        ({"parameters": {"api_key": "x"}}, "parameters", "looks like a secret"),
        ({"missed_runs": "sometimes"}, "missed_runs", "skip"),
        ({"timeout_seconds": 0}, "timeout_seconds", "greater than 0"),
        ({"notebook": notebooks / "missing.ipynb"}, "notebook", "does not exist"),
    ]
    for change, field, message in cases:
        kwargs = {"notebook": nb, "cron": "0 * * * *", **change}
        with pytest.raises(ValidationError) as caught:
            add_schedule(session=session, **kwargs)  # type: ignore[arg-type]
        assert field in caught.value.errors, (change, caught.value.errors)
        assert message in caught.value.errors[field]


def test_add_list_update_enable_remove(
    settings: Settings, session: Session, notebooks: Path
) -> None:
    nb = notebooks / "greet.ipynb"
    start = utc(2024, 1, 1, 12, 0)
    first = add_schedule(
        session=session,
        notebook=nb,
        cron="*/15 9-17 * * mon-fri",
        timezone="Europe/Berlin",
        parameters={"name": "desk", "times": 2},
        missed_runs="run_once",
        timeout_seconds=600,
        start=start,
    )
    second = add_schedule(session=session, notebook=str(nb), cron="@daily")
    assert (first.name, second.name) == ("greet", "greet-2")
    assert first.notebook == str(nb.resolve())
    assert first.missed_runs is MissedRuns.RUN_ONCE and first.last_slot == start
    with pytest.raises(ConflictError):
        add_schedule(session=session, notebook=nb, cron="@daily", name="greet")
    assert [s.id for s in list_schedules(session=session)] == [first.id, second.id]

    fields = schedule_fields(first, now=start)
    assert fields["next_slot"] == utc(2024, 1, 1, 12, 15)  # 13:15 in Berlin, a Monday

    updated = update_schedule(session=session, schedule_id=first.id, cron="0 8 * * *")
    assert updated.cron == "0 8 * * *" and updated.parameters == {"name": "desk", "times": 2}
    with pytest.raises(ValidationError, match="hour field '25'"):
        update_schedule(session=session, schedule_id=first.id, cron="0 25 * * *")

    set_enabled(session=session, schedule_id=first.id, enabled=False)
    assert list_schedules(session=session, enabled=True) == [second]
    later = utc(2024, 3, 1)
    enabled = set_enabled(session=session, schedule_id=first.id, enabled=True, now=later)
    assert enabled.enabled and enabled.last_slot == later  # nothing from the pause is due

    remove_schedule(session=session, schedule_id=first.id)
    with pytest.raises(NotFoundError):
        get_schedule(session=session, schedule_id=first.id)


def test_new_schedule_is_due_only_after_it_was_added() -> None:
    s = schedule("0 * * * *", last=utc(2024, 5, 1, 10, 5))
    assert due_slots(s, utc(2024, 5, 1, 10, 59)) == []
    assert due_slots(s, utc(2024, 5, 1, 11, 0)) == [utc(2024, 5, 1, 11)]  # the slot itself


def test_skip_runs_only_the_latest_slot() -> None:
    s = schedule("*/10 * * * *", last=utc(2024, 5, 1, 10, 0))
    assert due_slots(s, utc(2024, 5, 1, 13, 4)) == [utc(2024, 5, 1, 13, 0)]


def test_run_once_adds_one_catch_up_for_the_missed_slots() -> None:
    s = schedule("*/10 * * * *", missed=MissedRuns.RUN_ONCE, last=utc(2024, 5, 1, 10, 0))
    assert due_slots(s, utc(2024, 5, 1, 13, 4)) == [utc(2024, 5, 1, 12, 50), utc(2024, 5, 1, 13)]
    s.last_slot = utc(2024, 5, 1, 12, 50)
    assert due_slots(s, utc(2024, 5, 1, 13, 4)) == [utc(2024, 5, 1, 13)]


def test_run_all_runs_every_missed_slot_bounded() -> None:
    s = schedule("*/10 * * * *", missed=MissedRuns.RUN_ALL, last=utc(2024, 5, 1, 10, 0))
    due = due_slots(s, utc(2024, 5, 1, 13, 4))
    assert due == [utc(2024, 5, 1, 10) + timedelta(minutes=10 * i) for i in range(1, 19)]
    s.last_slot = utc(2024, 1, 1)
    many = due_slots(s, utc(2024, 5, 1))
    assert len(many) == MAX_CATCH_UP and many[0] == utc(2024, 1, 1, 0, 10)  # oldest first


def test_daily_job_runs_once_a_day_across_both_dst_changes() -> None:
    berlin = schedule(
        "30 2 * * *", tz="Europe/Berlin", missed=MissedRuns.RUN_ALL, last=utc(2024, 1, 1)
    )
    # Spring forward (31 March): 02:30 does not exist; it runs at 03:00 CEST, 01:00 UTC.
    berlin.last_slot = utc(2024, 3, 29, 12)
    assert due_slots(berlin, utc(2024, 4, 1, 12)) == [
        utc(2024, 3, 30, 1, 30),  # 02:30 CET
        utc(2024, 3, 31, 1, 0),  # 03:00 CEST, right after the jump
        utc(2024, 4, 1, 0, 30),  # 02:30 CEST
    ]
    # Fall back (27 October): 02:30 happens twice; it runs once, at the first.
    berlin.last_slot = utc(2024, 10, 25, 12)
    assert due_slots(berlin, utc(2024, 10, 28, 12)) == [
        utc(2024, 10, 26, 0, 30),  # 02:30 CEST
        utc(2024, 10, 27, 0, 30),  # the first 02:30 (CEST), not the second (CET)
        utc(2024, 10, 28, 1, 30),  # 02:30 CET
    ]
    # skip finds the same latest slot walking backwards over the repeated hour.
    berlin.missed_runs = MissedRuns.SKIP
    berlin.last_slot = utc(2024, 10, 26, 12)
    assert due_slots(berlin, utc(2024, 10, 27, 23)) == [utc(2024, 10, 27, 0, 30)]


def test_hourly_job_follows_real_hours_across_dst() -> None:
    hourly = schedule(
        "0 * * * *", tz="Europe/Berlin", missed=MissedRuns.RUN_ALL, last=utc(2024, 1, 1)
    )
    # 27 October in Berlin lasts 25 hours: 25 runs, one every real hour.
    hourly.last_slot = utc(2024, 10, 26, 21, 59)  # 23:59 CEST on the 26th
    fall = due_slots(hourly, utc(2024, 10, 27, 22, 59))  # 23:59 CET on the 27th
    assert len(fall) == 25
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(fall))
    # 31 March lasts 23 hours.
    hourly.last_slot = utc(2024, 3, 30, 22, 59)
    spring = due_slots(hourly, utc(2024, 3, 31, 21, 59))
    assert len(spring) == 23
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(spring))


def test_due_slots_takes_a_naive_now_as_utc() -> None:
    hourly = schedule("0 * * * *", last=utc(2024, 1, 1))
    naive = due_slots(hourly, datetime(2024, 1, 1, 3, 30))
    assert naive == due_slots(hourly, utc(2024, 1, 1, 3, 30))
    assert naive and naive[-1] == utc(2024, 1, 1, 3)
