"""The ``job_runs`` rows: queries and the lifecycle transitions.

queued -> running -> succeeded | failed | timed_out. Each transition is its own committed
transaction so other processes (the CLI, widgets, another scheduler) see it at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from workbench.db.engine import session_scope
from workbench.db.models.jobs import JobRun, RunStatus
from workbench.errors import ConflictError, NotFoundError

ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.TIMED_OUT)


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


def run_fields(run: JobRun) -> dict[str, Any]:
    """A run as a plain dict (for JSON and tables)."""
    return {
        "id": run.id,
        "schedule_id": run.schedule_id,
        "slot": run.slot,
        "notebook": run.notebook,
        "parameters": run.parameters,
        "status": run.status,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_seconds": run.duration_seconds,
        "output_path": run.output_path,
        "html_path": run.html_path,
        "error_cell": run.error_cell,
        "error": run.error,
    }


def create_run(
    *,
    session: Session,
    notebook: str,
    parameters: dict[str, Any],
    schedule_id: int | None = None,
    slot: datetime | None = None,
) -> JobRun:
    """A new ``queued`` run (flushed, so it has an id)."""
    run = JobRun(
        notebook=notebook,
        parameters=parameters,
        schedule_id=schedule_id,
        slot=slot,
        status=RunStatus.QUEUED,
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
            .values(status=RunStatus.RUNNING, started_at=now, output_path=output_path)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            run = get_run(session=session, run_id=run_id)
            raise ConflictError(
                f"job run {run_id} is {run.status.value}, not queued; it is not started again"
            )


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
    """running (or queued) -> a final status, with finished_at and duration; committed."""
    if status not in FINISHED:
        raise ValueError(f"{status} is not a final status")
    now = now or datetime.now(UTC)
    with session_scope(engine) as session:
        run = get_run(session=session, run_id=run_id)
        run.status = status
        run.finished_at = now
        run.duration_seconds = (now - run.started_at).total_seconds() if run.started_at else None
        run.html_path = html_path
        run.error_cell = error_cell
        run.error = error
        session.flush()
        return run
