"""The ``job_runs`` rows: queries and the lifecycle transitions.

queued -> running -> succeeded | failed | timed_out | cancelled, and ``skipped`` for a
slot passed over. Each transition is its own committed, conditional UPDATE, so other
processes (the CLI, widgets, another scheduler, the reaper) see it at once and only one
of them ends a run: whoever ends it first wins, later attempts change nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from workbench.db.engine import session_scope
from workbench.db.models.jobs import JobRun, RunStatus
from workbench.errors import ConflictError, NotFoundError
from workbench.jobs.timing import queued_expiry, running_expiry

log = logging.getLogger(__name__)

ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
FINISHED = (
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunStatus.TIMED_OUT,
    RunStatus.SKIPPED,
    RunStatus.CANCELLED,
)


def get_run(*, session: Session, run_id: int) -> JobRun:
    run = session.get(JobRun, run_id)
    if run is None:
        raise NotFoundError(f"no job run with id {run_id}; see `workbench jobs runs`")
    return run


def list_runs(
    *,
    session: Session,
    limit: int = 50,
    schedule_id: int | None = None,
    status: RunStatus | None = None,
) -> list[JobRun]:
    """The newest runs first."""
    query = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if schedule_id is not None:
        query = query.where(JobRun.schedule_id == schedule_id)
    if status is not None:
        query = query.where(JobRun.status == status)
    return list(session.scalars(query))


def create_run(
    *,
    session: Session,
    notebook: str,
    parameters: dict[str, Any],
    schedule_id: int | None = None,
    slot: datetime | None = None,
    attempt: int = 1,
    now: datetime | None = None,
) -> JobRun:
    """A new ``queued`` run (flushed, so it has an id) that must start before it expires."""
    now = now or datetime.now(UTC)
    run = JobRun(
        notebook=notebook,
        parameters=parameters,
        schedule_id=schedule_id,
        slot=slot,
        attempt=attempt,
        status=RunStatus.QUEUED,
        expires_at=now + queued_expiry(),
    )
    session.add(run)
    session.flush()
    return run


def mark_running(*, engine: Engine, run_id: int, output_path: str, now: datetime) -> None:
    """queued -> running, committed; ConflictError when the run is not queued any more.

    The conditional UPDATE makes starting a run a claim: a task delivered twice (Celery
    redelivers after a lost worker) starts the notebook only once.
    """
    with session_scope(engine) as session:
        result = session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, JobRun.status == RunStatus.QUEUED)
            .values(
                status=RunStatus.RUNNING,
                started_at=now,
                output_path=output_path,
                heartbeat_at=now,
                expires_at=now + running_expiry(),
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            run = get_run(session=session, run_id=run_id)
            raise ConflictError(
                f"job run {run_id} is {run.status.value}, not queued; it is not started again"
            )


def heartbeat(*, engine: Engine, run_id: int, now: datetime | None = None) -> bool:
    """Renew a running run's heartbeat; False when it is not running any more (it was
    cancelled, or expired by the reaper): its process must then stop the notebook."""
    now = now or datetime.now(UTC)
    with session_scope(engine) as session:
        result = session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, JobRun.status == RunStatus.RUNNING)
            .values(heartbeat_at=now, expires_at=now + running_expiry())
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def end_run(
    *,
    engine: Engine,
    run_id: int,
    status: RunStatus,
    error_cell: int | None = None,
    error: str | None = None,
    retryable: bool = False,
    html_path: str | None = None,
    now: datetime | None = None,
    only_from: tuple[RunStatus, ...] = ACTIVE,
) -> bool:
    """Move an active run (queued or running) to the final ``status``, committed.

    False, and nothing changed, when the run had already ended (cancelled by the user,
    expired by the reaper): the first end recorded stands.
    """
    if status not in FINISHED:
        raise ValueError(f"{status} is not a final status")
    now = now or datetime.now(UTC)
    with session_scope(engine) as session:
        started = session.scalar(select(JobRun.started_at).where(JobRun.id == run_id))
        result = session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, JobRun.status.in_(only_from))
            .values(
                status=status,
                finished_at=now,
                duration_seconds=(now - started).total_seconds() if started else None,
                error_cell=error_cell,
                error=error,
                retryable=retryable,
                html_path=html_path,
                expires_at=None,
            )
        )
        ended = bool(result.rowcount == 1)  # type: ignore[attr-defined]
    if ended and status in (RunStatus.FAILED, RunStatus.TIMED_OUT):
        _alert_failure(engine, run_id)
    return ended


def _alert_failure(engine: Engine, run_id: int) -> None:
    """Queue an alert for a run that has just ended failed or timed out, wherever it ended
    (its process, the reaper, a failed hand-over); sent by the next delivery."""
    from workbench.notify import AlertKind, queue_alert

    with session_scope(engine) as session:
        run = get_run(session=session, run_id=run_id)
        retry = " (its schedule retries it)" if run.retryable else ""
        queue_alert(
            session=session,
            kind=AlertKind.JOB_FAILED,
            dedupe_key=f"run:{run.id}",
            title=f"job run {run.id} {run.status.value}: {Path(run.notebook).name}",
            body=f"{run.error or 'no error recorded'}{retry}; see `workbench jobs show {run.id}`",
        )


def cancel_run(*, engine: Engine, run_id: int, now: datetime | None = None) -> JobRun:
    """Cancel a queued or running run. A queued run never starts; the process of a running
    one sees it at its next heartbeat and stops the notebook (kernel included).

    ConflictError when the run has ended already.
    """
    if not end_run(
        engine=engine,
        run_id=run_id,
        status=RunStatus.CANCELLED,
        error="cancelled by the user",
        now=now,
    ):
        with session_scope(engine) as session:
            run = get_run(session=session, run_id=run_id)
            raise ConflictError(
                f"job run {run_id} is {run.status.value} already; only queued or running runs "
                "can be cancelled"
            )
    with session_scope(engine) as session:
        return get_run(session=session, run_id=run_id)


def set_html_path(*, engine: Engine, run_id: int, html_path: str | None) -> None:
    with session_scope(engine) as session:
        session.execute(update(JobRun).where(JobRun.id == run_id).values(html_path=html_path))


def finish_run(
    *,
    engine: Engine,
    run_id: int,
    status: RunStatus,
    html_path: str | None = None,
    error_cell: int | None = None,
    error: str | None = None,
    now: datetime | None = None,
) -> JobRun:
    """End an active run (see :func:`end_run`) and return the row as stored."""
    end_run(
        engine=engine,
        run_id=run_id,
        status=status,
        error_cell=error_cell,
        error=error,
        html_path=html_path,
        now=now,
    )
    with session_scope(engine) as session:
        return get_run(session=session, run_id=run_id)
