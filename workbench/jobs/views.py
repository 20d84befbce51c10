"""Read models of job runs and schedules: what the CLI, the widgets and the notebook API
show, built once from the rows (``.as_dict()`` for JSON and tables)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from workbench.db.models.jobs import JobRun, JobSchedule, MissedRuns, RunStatus
from workbench.jobs import cron as cronlib
from workbench.jobs.runs import get_run, list_runs
from workbench.jobs.schedules import get_schedule, list_schedules


@dataclass(frozen=True)
class RunView:
    """One job run as recorded."""

    id: int
    schedule_id: int | None
    slot: datetime | None
    notebook: str
    parameters: dict[str, Any]
    status: RunStatus
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    output_path: str | None
    html_path: str | None
    error_cell: int | None
    error: str | None
    attempt: int
    heartbeat_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def of(cls, run: JobRun) -> RunView:
        return cls(**{f.name: getattr(run, f.name) for f in fields(cls)})

    @property
    def notebook_name(self) -> str:
        return Path(self.notebook).name

    @property
    def seconds_text(self) -> str:
        """The duration as ``12.3``, or empty while unknown."""
        return "" if self.duration_seconds is None else f"{self.duration_seconds:.1f}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScheduleView:
    """One schedule with the next slot it runs at (UTC and on its own clock)."""

    id: int
    notebook: str
    cron: str
    timezone: str
    name: str
    parameters: dict[str, Any]
    missed_runs: MissedRuns
    timeout_seconds: int | None
    enabled: bool
    max_retries: int
    retry_delay_seconds: int
    last_slot: datetime | None
    next_slot: datetime
    # the same moment as next_slot on the schedule's own clock, with its offset
    next_local: datetime

    @classmethod
    def of(cls, schedule: JobSchedule, *, now: datetime | None = None) -> ScheduleView:
        now = now or datetime.now(UTC)
        after = max(now, schedule.last_slot) if schedule.last_slot else now
        next_slot = cronlib.next_slot(schedule.cron, schedule.timezone, after)
        stored = {f.name: getattr(schedule, f.name) for f in fields(cls) if f.name[:5] != "next_"}
        return cls(
            **stored,
            next_slot=next_slot,
            next_local=next_slot.astimezone(ZoneInfo(schedule.timezone)),
        )

    @property
    def notebook_name(self) -> str:
        return Path(self.notebook).name

    @property
    def next_local_text(self) -> str:
        """``2024-03-31 03:00:00 CEST (Europe/Berlin)``: the next slot on its own clock."""
        label = self.next_local.strftime("%Z")
        zone = "" if self.timezone == label else f" ({self.timezone})"
        return f"{self.next_local:%Y-%m-%d %H:%M:%S} {label}{zone}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_runs(
    *,
    session: Session,
    limit: int = 50,
    schedule_id: int | None = None,
    status: RunStatus | None = None,
) -> list[RunView]:
    """The newest runs first."""
    rows = list_runs(session=session, limit=limit, schedule_id=schedule_id, status=status)
    return [RunView.of(r) for r in rows]


def read_run(*, session: Session, run_id: int) -> RunView:
    return RunView.of(get_run(session=session, run_id=run_id))


def read_schedules(
    *, session: Session, enabled: bool | None = None, now: datetime | None = None
) -> list[ScheduleView]:
    """Every schedule (or the enabled or disabled ones) with its next slot after ``now``."""
    now = now or datetime.now(UTC)
    return [ScheduleView.of(s, now=now) for s in list_schedules(session=session, enabled=enabled)]


def read_schedule(*, session: Session, schedule_id: int) -> ScheduleView:
    return ScheduleView.of(get_schedule(session=session, schedule_id=schedule_id))


def run_fields(run: JobRun) -> dict[str, Any]:
    """A run as a plain dict (for JSON and tables): :class:`RunView`'s fields."""
    return RunView.of(run).as_dict()


def schedule_fields(schedule: JobSchedule, *, now: datetime | None = None) -> dict[str, Any]:
    """A schedule as a plain dict (for JSON and tables): :class:`ScheduleView`'s fields."""
    return ScheduleView.of(schedule, now=now).as_dict()
