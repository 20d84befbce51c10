"""The scheduler: claim each due (schedule, slot) once and hand it to an executor.

Any number of schedulers may tick against one database. A slot is claimed by INSERTing
its ``job_runs`` row (status queued); the unique (schedule_id, slot, attempt)
constraint lets exactly one insert win, and the loser passes over the slot. A schedule
never overlaps itself: while one of its runs is queued or running, no new run starts. A
slot that comes due meanwhile is recorded as a ``skipped`` run (``skip`` policy) or waits
(``run_once``/``run_all``), and at most one run per schedule is claimed per tick, so
catch-ups run one after another.

Each tick first ends lost runs (:func:`reap_stale_runs`: queued or running past their
expiry, see :mod:`workbench.jobs.timing`), then retries a schedule's latest run when it
failed with a temporary error and the schedule allows more attempts (after
``retry_delay_seconds`` doubled at each attempt; a newer slot supersedes a pending
retry), then claims due slots, then delivers due alerts (``workbench.notify``): failed
runs, and a scheduler that stops.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.exc import OperationalError as DBOperationalError

from workbench.db.engine import default_engine, session_scope
from workbench.db.models.jobs import JobRun, JobSchedule, MissedRuns, RunStatus
from workbench.errors import TemporaryError, WorkbenchError
from workbench.jobs import cron as cronlib
from workbench.jobs.executors import Executor
from workbench.jobs.runs import ACTIVE, create_run, end_run
from workbench.jobs.schedules import MAX_CATCH_UP, due_slots, list_schedules
from workbench.notify import AlertKind, deliver_after, queue_alert

log = logging.getLogger(__name__)


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
    retried: list[Claimed] = field(default_factory=list)


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
        if schedule.max_retries and _retry(engine, schedule, now, executor, result):
            continue
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
            if MissedRuns(schedule.missed_runs) is MissedRuns.SKIP:
                _record_missed(session, schedule, slot, result)
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
                    for slot_ in slots:  # recorded, so the history shows every slot
                        _record_skipped(session, schedule, slot_, reason, now=result.now)
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
            exists = session.get(JobSchedule, schedule.id) is not None
            if other is not None:
                _advance(session, schedule.id, slot)
        if other is not None:
            reason = f"claimed by another scheduler (run {other})"
        elif exists:  # it recorded a missed slot first; this slot is due again next tick
            reason = "claimed by another scheduler (recording missed slots)"
        else:
            reason = "schedule removed"
        result.skipped.append(Skipped(schedule.id, slot, reason))
        return
    result.claimed.append(Claimed(schedule.id, slot, run_id))
    _submit(engine, executor, run_id)


def _submit(engine: Engine, executor: Executor, run_id: int) -> None:
    try:
        executor.submit(run_id)
    except WorkbenchError as e:
        log.error("job run %s could not be handed to the executor: %s", run_id, e)
        end_run(
            engine=engine,
            run_id=run_id,
            status=RunStatus.FAILED,
            error=f"could not be handed to the executor: {e}",
            retryable=isinstance(e, TemporaryError),
        )


def _record_missed(session: Any, schedule: JobSchedule, slot: datetime, result: TickResult) -> None:
    """Record as skipped the slots before ``slot`` that no tick reached (the scheduler was
    down or late); the ``skip`` policy passes over them, the history still shows them."""
    last = session.scalar(select(JobSchedule.last_slot).where(JobSchedule.id == schedule.id))
    if last is None:
        return
    missed = cronlib.slots_between(
        schedule.cron,
        schedule.timezone,
        last,
        slot - timedelta(microseconds=1),
        limit=MAX_CATCH_UP,
    )
    if not missed:
        return
    recorded = set(
        session.scalars(
            select(JobRun.slot).where(JobRun.schedule_id == schedule.id, JobRun.slot.in_(missed))
        )
    )
    reason = "missed: no scheduler ticked between this slot and the next"
    for old in missed:
        if old not in recorded:
            _record_skipped(session, schedule, old, reason, now=result.now)
            result.skipped.append(Skipped(schedule.id, old, reason))


def _record_skipped(
    session: Any, schedule: JobSchedule, slot: datetime, reason: str, *, now: datetime
) -> None:
    session.add(
        JobRun(
            notebook=schedule.notebook,
            parameters=dict(schedule.parameters or {}),
            schedule_id=schedule.id,
            slot=slot,
            status=RunStatus.SKIPPED,
            finished_at=now,
            error=f"skipped: {reason}",
        )
    )
    session.flush()


def retry_delay(schedule: JobSchedule, attempt: int) -> timedelta:
    """How long after attempt ``attempt`` failed the next one starts (doubling each time)."""
    return timedelta(seconds=schedule.retry_delay_seconds * 2 ** (attempt - 1))


def _retry(
    engine: Engine, schedule: JobSchedule, now: datetime, executor: Executor, result: TickResult
) -> bool:
    """Start the next attempt of the schedule's latest run when it failed temporarily and
    its backoff has passed; True when a retry is started or still pending."""
    with session_scope(engine) as session:
        latest = session.scalars(
            select(JobRun)
            .where(JobRun.schedule_id == schedule.id, JobRun.status != RunStatus.SKIPPED)
            .order_by(JobRun.id.desc())
            .limit(1)
        ).first()
        if (
            latest is None
            or latest.status != RunStatus.FAILED
            or not latest.retryable
            or latest.attempt > schedule.max_retries
            or latest.finished_at is None
        ):
            return False
        if now < latest.finished_at + retry_delay(schedule, latest.attempt):
            return due_slots(schedule, now) == []  # a newer slot supersedes the retry
        slot, attempt = latest.slot, latest.attempt + 1
    try:
        with session_scope(engine) as session:
            run_id = create_run(
                session=session,
                notebook=schedule.notebook,
                parameters=dict(schedule.parameters or {}),
                schedule_id=schedule.id,
                slot=slot,
                attempt=attempt,
                now=now,
            ).id
    except IntegrityError:  # another scheduler started this attempt
        return True
    log.info("schedule %s slot %s: attempt %s as run %s", schedule.id, slot, attempt, run_id)
    if slot is not None:
        result.retried.append(Claimed(schedule.id, slot, run_id))
    _submit(engine, executor, run_id)
    return True


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
    """End the active runs past their expiry as failed; return their ids.

    A queued run past its expiry was never started (its process died first, or its
    Celery message was lost); a running one stopped renewing its heartbeat (its process
    died; the notebook died with it). Its output notebook, when there is one, is marked
    with the same end, so the files and the row agree.
    """
    engine = engine or default_engine()
    with session_scope(engine) as session:
        rows = session.execute(
            select(JobRun.id, JobRun.status, JobRun.heartbeat_at).where(
                JobRun.status.in_(ACTIVE), JobRun.expires_at < now
            )
        ).all()
    reaped = []
    for run_id, status, beat in rows:
        if status == RunStatus.QUEUED:
            error = (
                "expired: queued and never started (the process or Celery message that "
                "was to run it was lost)"
            )
        else:
            error = (
                f"expired: no heartbeat since {beat:%Y-%m-%d %H:%M:%S} UTC; the process "
                "running it died"
            )
        if end_run(
            engine=engine,
            run_id=run_id,
            status=RunStatus.FAILED,
            error=error,
            now=now,
            only_from=(status,),
        ):
            log.warning("job run %s %s", run_id, error)
            _mark_output(engine, run_id)
            reaped.append(run_id)
    return reaped


def _mark_output(engine: Engine, run_id: int) -> None:
    """Show the reaper's end in the run's output notebook and HTML (best effort)."""
    from workbench.jobs.runner import mark_ended_output

    try:
        mark_ended_output(engine, run_id)
    except Exception:  # the row's end stands; the files are a courtesy
        log.exception("job run %s: could not mark its output", run_id)


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
                deliver_after(engine or default_engine())
            stop.wait(poll_seconds)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _alert_stopped(engine or default_engine(), datetime.now(UTC))  # wall time, for people


def _alert_stopped(engine: Engine, now: datetime) -> None:
    """Say that this scheduler stopped (a killed one cannot: watch the job runs' heartbeats)."""
    host = f"{socket.gethostname()} pid {os.getpid()}"
    try:
        with session_scope(engine) as session:
            queue_alert(
                session=session,
                kind=AlertKind.SCHEDULER_STOPPED,
                dedupe_key=f"scheduler-stopped:{host}:{now.isoformat()}",
                title=f"scheduler stopped on {host}",
                body=f"no scheduled run starts from it now (stopped {now:%Y-%m-%d %H:%M} UTC)",
            )
    except SQLAlchemyError:
        log.exception("could not queue the scheduler-stopped alert")
        return
    deliver_after(engine)
