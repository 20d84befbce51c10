"""The scheduler: claim each due (schedule, slot) once and hand it to an executor.

Any number of schedulers may tick against one database. A slot is claimed by INSERTing
its ``job_runs`` row (status queued); the unique (schedule_id, slot) constraint lets
exactly one insert win, and the loser skips the slot. A schedule never overlaps itself:
while one of its runs is queued or running, no new run starts. A slot that comes due
meanwhile is skipped (``skip`` policy) or waits (``run_once``/``run_all``), and at most
one run per schedule is claimed per tick, so catch-ups run one after another.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError as DBOperationalError

from workbench.db.engine import default_engine, session_scope
from workbench.db.models.jobs import JobRun, JobSchedule, MissedRuns, RunStatus
from workbench.errors import TemporaryError, WorkbenchError
from workbench.jobs.executors import Executor
from workbench.jobs.runs import ACTIVE, create_run, finish_run
from workbench.jobs.schedules import due_slots, list_schedules

log = logging.getLogger(__name__)

# A running run whose schedule has a timeout is abandoned (its process died) once this
# long past started_at + timeout; the process that runs it would have stopped it by then.
STALE_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class Claimed:
    schedule_id: int
    slot: datetime
    run_id: int


@dataclass(frozen=True)
class Skipped:
    schedule_id: int
    slot: datetime
    reason: str


@dataclass
class TickResult:
    now: datetime
    claimed: list[Claimed] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # passed over for good
    waiting: list[Skipped] = field(default_factory=list)  # due, started on a later tick
    reaped: list[int] = field(default_factory=list)


def tick(now: datetime, *, engine: Engine | None = None, executor: Executor) -> TickResult:
    """Claim what is due at ``now`` on every enabled schedule and submit it to ``executor``."""
    if now.tzinfo is None:
        raise ValueError("tick needs a timezone-aware now")
    now = now.astimezone(UTC)
    engine = engine or default_engine()
    result = TickResult(now=now, reaped=reap_stale_runs(now, engine=engine))
    with session_scope(engine) as session:
        schedules = list_schedules(session=session, enabled=True)
    for schedule in schedules:
        slots = due_slots(schedule, now)
        if slots:
            _claim_next(engine, schedule, slots, executor, result)
    for skip in result.skipped:
        log.info("schedule %s slot %s skipped: %s", skip.schedule_id, skip.slot, skip.reason)
    return result


def _claim_next(
    engine: Engine,
    schedule: JobSchedule,
    slots: list[datetime],
    executor: Executor,
    result: TickResult,
) -> None:
    slot = slots[0]
    try:
        with session_scope(engine) as session:
            taken = session.scalar(
                select(JobRun.id).where(JobRun.schedule_id == schedule.id, JobRun.slot == slot)
            )
            if taken is not None:
                _advance(session, schedule.id, slot)
                result.skipped.append(Skipped(schedule.id, slot, f"already claimed (run {taken})"))
                return
            active = session.scalars(
                select(JobRun)
                .where(JobRun.schedule_id == schedule.id, JobRun.status.in_(ACTIVE))
                .order_by(JobRun.id)
                .limit(1)
            ).first()
            if active is not None and active.slot == slot:  # inserted since the check above
                _advance(session, schedule.id, slot)
                result.skipped.append(
                    Skipped(schedule.id, slot, f"already claimed (run {active.id})")
                )
                return
            if active is not None:
                reason = f"run {active.id} of this schedule is still {active.status.value}"
                if MissedRuns(schedule.missed_runs) is MissedRuns.SKIP:
                    _advance(session, schedule.id, slots[-1])
                    result.skipped.extend(Skipped(schedule.id, s, reason) for s in slots)
                else:
                    result.waiting.extend(Skipped(schedule.id, s, reason) for s in slots)
                return
            run = create_run(
                session=session,
                notebook=schedule.notebook,
                parameters=dict(schedule.parameters or {}),
                schedule_id=schedule.id,
                slot=slot,
            )
            _advance(session, schedule.id, slot)
            run_id = run.id
    except IntegrityError:
        # Another scheduler inserted this slot first (or the schedule was just removed).
        with session_scope(engine) as session:
            other = session.scalar(
                select(JobRun.id).where(JobRun.schedule_id == schedule.id, JobRun.slot == slot)
            )
            if other is None and session.get(JobSchedule, schedule.id) is not None:
                raise
            if other is not None:
                _advance(session, schedule.id, slot)
        reason = f"claimed by another scheduler (run {other})" if other else "schedule removed"
        result.skipped.append(Skipped(schedule.id, slot, reason))
        return
    result.claimed.append(Claimed(schedule.id, slot, run_id))
    try:
        executor.submit(run_id)
    except WorkbenchError as e:
        log.error("job run %s could not be handed to the executor: %s", run_id, e)
        finish_run(
            engine=engine,
            run_id=run_id,
            status=RunStatus.FAILED,
            error=f"could not be handed to the executor: {e}",
        )


def _advance(session: Any, schedule_id: int, slot: datetime) -> None:
    """last_slot = slot, never moving backwards (another scheduler may be ahead)."""
    session.execute(
        update(JobSchedule)
        .where(
            JobSchedule.id == schedule_id,
            or_(JobSchedule.last_slot.is_(None), JobSchedule.last_slot < slot),
        )
        .values(last_slot=slot)
    )


def reap_stale_runs(now: datetime, *, engine: Engine | None = None) -> list[int]:
    """Mark failed the running runs whose process must have died; return their ids.

    Only runs of schedules with a timeout can be judged: one still ``running`` well past
    started_at + timeout was abandoned (the process that enforces the timeout is gone),
    and would otherwise block its schedule for good.
    """
    engine = engine or default_engine()
    with session_scope(engine) as session:
        rows = session.execute(
            select(JobRun.id, JobRun.started_at, JobSchedule.timeout_seconds)
            .join(JobSchedule, JobRun.schedule_id == JobSchedule.id)
            .where(JobRun.status == RunStatus.RUNNING, JobSchedule.timeout_seconds.is_not(None))
        ).all()
    stale = [
        run_id
        for run_id, started, timeout in rows
        if started is not None and started + timedelta(seconds=timeout or 0) + STALE_GRACE < now
    ]
    for run_id in stale:
        finish_run(
            engine=engine,
            run_id=run_id,
            status=RunStatus.FAILED,
            error="abandoned: the process running it stopped without recording an end",
            now=now,
        )
        log.warning("job run %s was abandoned by its process; marked failed", run_id)
    return stale


def run_forever(
    poll_seconds: float = 30.0,
    *,
    engine: Engine | None = None,
    executor: Executor,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """Tick every ``poll_seconds`` until SIGTERM/SIGINT (or ``stop`` is set).

    A signal ends the loop after the current tick; runs already handed to the executor
    go on. A database that is briefly unreachable is logged and retried next tick.
    """
    stop = stop or threading.Event()
    clock = clock or (lambda: datetime.now(UTC))
    previous: dict[signal.Signals, Any] = {}

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler: %s received, stopping", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, _stop)
    try:
        while not stop.is_set():
            try:
                result = tick(clock(), engine=engine, executor=executor)
            except (DBOperationalError, TemporaryError) as e:
                log.warning("scheduler tick failed, retrying in %ss: %s", poll_seconds, e)
            else:
                for claim in result.claimed:
                    log.info(
                        "schedule %s slot %s: run %s", claim.schedule_id, claim.slot, claim.run_id
                    )
            stop.wait(poll_seconds)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
