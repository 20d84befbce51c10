"""Job schedules: add, list, enable, disable, update and remove; which slots are due.

A schedule runs a notebook with fixed parameters at the slots of a cron expression in
its timezone. ``last_slot`` is the newest slot already handled (claimed or skipped) or,
for a new or re-enabled schedule, the moment from which slots count; only slots after
it are due. What happens to slots missed while nothing was ticking is the schedule's
``missed_runs`` policy (see :func:`due_slots`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.db.models.bots import BotConfig
from workbench.db.models.jobs import JobSchedule, MissedRuns
from workbench.errors import ConflictError, NotFoundError, ValidationError
from workbench.jobs import cron as cronlib
from workbench.jobs.params import check_against_notebook, check_parameters
from workbench.jobs.schemas import ScheduleCreate, ScheduleUpdate
from workbench.jobs.scrub import secret_values
from workbench.schemas.base import validate
from workbench.settings import get_settings
from workbench.timeutil import now_utc, utc

# run_all never hands out more than this many missed slots at once.
MAX_CATCH_UP = 100
FIELDS = tuple(ScheduleCreate.model_fields)


def add_schedule(
    *,
    session: Session,
    notebook: str | Path,
    cron: str,
    timezone: str = "UTC",
    name: str | None = None,
    parameters: dict[str, Any] | None = None,
    missed_runs: MissedRuns | str = MissedRuns.SKIP,
    timeout_seconds: int | None = None,
    enabled: bool = True,
    start: datetime | None = None,
    max_retries: int = 0,
    retry_delay_seconds: int = 60,
) -> JobSchedule:
    """Validate and store a schedule; slots after ``start`` (default: now) are due.

    ``notebook`` is stored as an absolute path. Without ``name`` the notebook's name is
    used (with a number added when taken).
    """
    path = _notebook(notebook)
    data = validate(
        ScheduleCreate,
        {
            "notebook": str(path),
            "cron": cron,
            "timezone": timezone,
            "name": name or _free_name(session=session, stem=path.stem),
            "parameters": parameters or {},
            "missed_runs": missed_runs,
            "timeout_seconds": timeout_seconds,
            "enabled": enabled,
            "max_retries": max_retries,
            "retry_delay_seconds": retry_delay_seconds,
        },
    )
    _check_parameters(session=session, data=data)
    _check_unique_name(session=session, name=data.name)
    schedule = JobSchedule(**data.model_dump(), last_slot=utc(start or now_utc()))
    session.add(schedule)
    session.flush()
    return schedule


def get_schedule(*, session: Session, schedule_id: int) -> JobSchedule:
    schedule = session.get(JobSchedule, schedule_id)
    if schedule is None:
        raise NotFoundError(f"no schedule with id {schedule_id}; see `workbench schedule list`")
    return schedule


def list_schedules(*, session: Session, enabled: bool | None = None) -> list[JobSchedule]:
    query = select(JobSchedule).order_by(JobSchedule.id)
    if enabled is not None:
        query = query.where(JobSchedule.enabled.is_(enabled))
    return list(session.scalars(query))


def update_schedule(*, session: Session, schedule_id: int, **changes: Any) -> JobSchedule:
    """Apply ``changes`` (any field of ScheduleCreate); the result must pass every rule."""
    schedule = get_schedule(session=session, schedule_id=schedule_id)
    if "notebook" in changes and changes["notebook"] is not None:
        changes["notebook"] = str(_notebook(changes["notebook"]))
    update = validate(ScheduleUpdate, changes).model_dump(exclude_unset=True)
    merged = schedule_input(schedule) | update
    data = validate(ScheduleCreate, merged)
    _check_parameters(session=session, data=data)
    if data.name != schedule.name:
        _check_unique_name(session=session, name=data.name)
    if data.enabled and not schedule.enabled:
        schedule.last_slot = max(schedule.last_slot or now_utc(), now_utc())
    for field, value in data.model_dump().items():
        setattr(schedule, field, value)
    session.flush()
    return schedule


def set_enabled(
    *, session: Session, schedule_id: int, enabled: bool, now: datetime | None = None
) -> JobSchedule:
    """Enable or disable a schedule. Slots that passed while it was disabled are not due."""
    schedule = get_schedule(session=session, schedule_id=schedule_id)
    if enabled and not schedule.enabled:
        now = utc(now or now_utc())
        schedule.last_slot = max(schedule.last_slot, now) if schedule.last_slot else now
    schedule.enabled = enabled
    session.flush()
    return schedule


def remove_schedule(*, session: Session, schedule_id: int) -> None:
    """Delete a schedule; its runs stay in the history (their schedule_id becomes NULL)."""
    schedule = get_schedule(session=session, schedule_id=schedule_id)
    session.delete(schedule)
    session.flush()


def schedule_input(schedule: JobSchedule) -> dict[str, Any]:
    """The editable fields of ``schedule`` (for forms and updates)."""
    return {field: getattr(schedule, field) for field in FIELDS}


def due_slots(schedule: JobSchedule, now: datetime) -> list[datetime]:
    """The slots of ``schedule`` due at ``now`` (UTC, oldest first), by its missed-run policy.

    Slots after ``last_slot`` and at or before ``now`` are due. Of those, the newest is
    the current slot and the others were missed:

    - ``skip``: only the current slot;
    - ``run_once``: one catch-up for all the missed slots (the newest missed one), then
      the current slot;
    - ``run_all``: every missed slot and the current one, at most MAX_CATCH_UP at once
      (the oldest first; the rest are due on the next call).
    """
    now = utc(now)
    after = schedule.last_slot or schedule.created_at or now
    policy = MissedRuns(schedule.missed_runs)
    if policy is MissedRuns.RUN_ALL:
        return cronlib.slots_between(
            schedule.cron, schedule.timezone, after, now, limit=MAX_CATCH_UP
        )
    count = 2 if policy is MissedRuns.RUN_ONCE else 1
    return cronlib.latest_slots(schedule.cron, schedule.timezone, after, now, count=count)


def _notebook(notebook: str | Path) -> Path:
    path = Path(notebook).expanduser().resolve()
    if not path.is_file():
        raise ValidationError({"notebook": f"{notebook} does not exist"}, entity="schedule")
    return path


def _free_name(*, session: Session, stem: str) -> str:
    taken = set(session.scalars(select(JobSchedule.name).where(JobSchedule.name.like(f"{stem}%"))))
    name, n = stem, 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}"
    return name


def _check_unique_name(*, session: Session, name: str) -> None:
    if session.scalar(select(JobSchedule.id).where(JobSchedule.name == name)) is not None:
        raise ConflictError(f"a schedule named {name!r} exists; choose another --name")


def _check_parameters(*, session: Session, data: ScheduleCreate) -> None:
    """No secrets, only the names the notebook declares, and bots that exist."""
    params = data.parameters
    check_parameters(params, secrets=secret_values(get_settings()), entity="schedule")
    check_against_notebook(params, Path(data.notebook), entity="schedule")
    bot_id = params.get("bot_id")
    if bot_id is None:
        return
    if isinstance(bot_id, bool) or not isinstance(bot_id, int):
        raise ValidationError(
            {"bot_id": f"{bot_id!r} is not a bot id (a whole number)"}, entity="schedule"
        )
    if session.get(BotConfig, bot_id) is None:
        raise ValidationError(
            {"bot_id": f"there is no bot {bot_id}; see `workbench bot list`"}, entity="schedule"
        )
