"""The scheduler: every (schedule, slot) started exactly once, however many schedulers."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from tests.jobs.conftest import RecordingExecutor
from workbench.db.engine import session_scope
from workbench.db.models.jobs import JobRun, RunStatus
from workbench.jobs import LocalExecutor, TickResult, add_schedule, get_run, tick
from workbench.jobs.runs import mark_running
from workbench.jobs.scheduler import run_forever
from workbench.jobs.timing import running_expiry
from workbench.settings import Settings

T0 = datetime(2024, 10, 26, 23, 0, 5, tzinfo=UTC)  # the steps cross Berlin's fall back
MIN = timedelta(minutes=1)


def _runs(engine: Engine) -> list[tuple[int, datetime, str]]:
    with session_scope(engine) as session:
        rows = session.execute(sa.select(JobRun.schedule_id, JobRun.slot, JobRun.status)).all()
    return [(sid, slot, status) for sid, slot, status in rows]


def _add(engine: Engine, notebook: Path, cron: str, **kwargs: object) -> int:
    with session_scope(engine) as session:
        return add_schedule(
            session=session,
            notebook=notebook,
            cron=cron,
            start=T0 - timedelta(seconds=10),
            **kwargs,
        ).id  # type: ignore[arg-type]


def test_two_schedulers_start_every_slot_exactly_once(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    nb = notebooks / "greet.ipynb"
    every_minute = _add(engine, nb, "* * * * *")
    every_5 = _add(engine, nb, "*/5 * * * *", missed_runs="run_once", timezone="Europe/Berlin")
    every_3 = _add(engine, nb, "*/3 * * * *", missed_runs="run_all", timezone="America/New_York")
    steps = 90
    # Every step is one fake minute; both schedulers tick at it, at the same moment.
    clock = [T0 + timedelta(minutes=k) for k in range(steps)]
    barrier = threading.Barrier(2, timeout=60)
    executors = [RecordingExecutor(engine), RecordingExecutor(engine)]
    results: list[list[TickResult]] = [[], []]
    errors: list[BaseException] = []

    def scheduler(i: int) -> None:
        try:
            for now in clock:
                barrier.wait()
                results[i].append(tick(now, engine=engine, executor=executors[i]))
        except BaseException as e:
            errors.append(e)
            barrier.abort()
            raise

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)

    runs = _runs(engine)
    started = Counter((sid, slot) for sid, slot, _ in runs)
    assert max(started.values()) == 1  # no double runs
    minute = [T0.replace(second=0) + timedelta(minutes=k) for k in range(steps)]
    expected = (
        {(every_minute, m) for m in minute}
        | {(every_5, m) for m in minute if m.minute % 5 == 0}
        | {(every_3, m) for m in minute if m.minute % 3 == 0}
    )
    assert set(started) == expected  # no missed runs
    recorded = executors[0].run_ids + executors[1].run_ids
    assert len(recorded) == len(set(recorded)) == len(runs)  # each handed over once
    claims = [c for r in results for tr in r for c in tr.claimed]
    assert len(claims) == len(expected)
    assert {status for _, _, status in runs} == {RunStatus.SUCCEEDED}
    # The slots one scheduler passed over were the other's, never skipped for overlap.
    reasons = {s.reason.split(" (")[0] for r in results for tr in r for s in tr.skipped}
    assert reasons <= {"claimed by another scheduler", "already claimed"}
    assert not any(tr.waiting for r in results for tr in r)


def test_a_schedule_never_overlaps_itself(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    executor = RecordingExecutor(engine, finish=False)  # runs stay queued until completed
    skip = _add(engine, notebooks / "greet.ipynb", "* * * * *")
    catch_up = _add(engine, notebooks / "greet.ipynb", "* * * * *", missed_runs="run_all")

    m = T0.replace(second=0)  # slots are whole minutes; the schedules start just before m
    first = tick(T0 + timedelta(minutes=1), engine=engine, executor=executor)
    assert {(c.schedule_id, c.slot) for c in first.claimed} == {(skip, m + MIN), (catch_up, m)}
    second = tick(T0 + timedelta(minutes=2), engine=engine, executor=executor)
    assert second.claimed == []
    [skipped] = second.skipped
    assert (skipped.schedule_id, skipped.slot) == (skip, m + 2 * MIN)
    assert "still queued" in skipped.reason
    with session_scope(engine) as session:  # the passed-over slot is in the history
        recorded = session.scalars(
            sa.select(JobRun).where(JobRun.schedule_id == skip, JobRun.slot == m + 2 * MIN)
        ).one()
    assert recorded.status == RunStatus.SKIPPED and "still queued" in (recorded.error or "")
    assert [(w.schedule_id, w.slot) for w in second.waiting] == [
        (catch_up, m + MIN),
        (catch_up, m + 2 * MIN),
    ]

    for run_id in executor.run_ids:
        executor.complete(run_id)
    third = tick(T0 + timedelta(minutes=3), engine=engine, executor=executor)
    slots = {c.schedule_id: c.slot for c in third.claimed}
    assert slots == {skip: m + 3 * MIN, catch_up: m + MIN}  # skip dropped m+2; run_all waited


def test_run_all_catches_up_one_run_at_a_time(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    executor = RecordingExecutor(engine)
    schedule_id = _add(engine, notebooks / "greet.ipynb", "*/10 * * * *", missed_runs="run_all")
    now = T0 + timedelta(hours=1)
    claimed = []
    for _ in range(10):
        claimed += tick(now, engine=engine, executor=executor).claimed
    assert [c.slot.minute for c in claimed] == [0, 10, 20, 30, 40, 50, 0]  # 23:00 to 00:00
    assert {c.schedule_id for c in claimed} == {schedule_id}


def test_runs_without_a_heartbeat_are_reaped(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    executor = RecordingExecutor(engine, finish=False)
    _add(engine, notebooks / "greet.ipynb", "* * * * *")  # no timeout: expiry still applies
    [claim] = tick(T0 + timedelta(minutes=1), engine=engine, executor=executor).claimed
    mark_running(engine=engine, run_id=claim.run_id, output_path="x", now=claim.slot)
    just_before = claim.slot + running_expiry() - timedelta(seconds=1)
    assert tick(just_before, engine=engine, executor=executor).reaped == []
    assert running_expiry() < MIN
    result = tick(claim.slot + MIN, engine=engine, executor=executor)
    assert result.reaped == [claim.run_id]
    with session_scope(engine) as session:
        run = get_run(session=session, run_id=claim.run_id)
    assert run.status == RunStatus.FAILED and "no heartbeat since" in (run.error or "")
    assert len(result.claimed) == 1  # the schedule is free again


def test_run_forever_stops_when_asked(settings: Settings, engine: Engine) -> None:
    stop = threading.Event()
    ticks: list[datetime] = []

    def clock() -> datetime:
        ticks.append(datetime.now(UTC))
        if len(ticks) == 3:
            stop.set()
        return ticks[-1]

    thread = threading.Thread(
        target=run_forever,
        args=(0.01,),
        kwargs={
            "engine": engine,
            "executor": RecordingExecutor(engine),
            "stop": stop,
            "clock": clock,
        },
    )
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive() and len(ticks) == 3


def test_local_executor_runs_the_notebook_in_a_child_process(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        add_schedule(
            session=session,
            notebook=notebooks / "greet.ipynb",
            cron="* * * * *",
            parameters={"name": "local"},
            timeout_seconds=120,
            start=now - timedelta(minutes=1, seconds=1),
        )
    executor = LocalExecutor(engine=engine)
    result = tick(now, engine=engine, executor=executor)
    [claim] = result.claimed
    assert executor.running == [claim.run_id]  # tick returned while the run goes on
    assert executor.wait(timeout=180) == {claim.run_id: 0}
    with session_scope(engine) as session:
        run = get_run(session=session, run_id=claim.run_id)
    assert run.status == RunStatus.SUCCEEDED
    assert run.slot == claim.slot and run.parameters == {"name": "local"}
    assert Path(run.output_path or "").is_file() and Path(run.html_path or "").is_file()
    assert "local x1" in Path(run.html_path or "").read_text()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_tick_needs_an_aware_now(settings: Settings, engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        tick(datetime(2024, 1, 1), engine=engine, executor=RecordingExecutor(engine))
