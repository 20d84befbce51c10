"""Scheduled notebook jobs and every run of one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db.base import Base, Timestamps, str_enum
from workbench.types import MissedRuns, RunStatus


class JobSchedule(Timestamps, Base):
    __tablename__ = "job_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    notebook: Mapped[str] = mapped_column(String(500))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    enabled: Mapped[bool] = mapped_column(default=True, server_default="1")
    missed_runs: Mapped[MissedRuns] = mapped_column(
        str_enum(MissedRuns, "missed_runs"), default=MissedRuns.SKIP, server_default="skip"
    )
    timeout_seconds: Mapped[int | None]
    last_slot: Mapped[datetime | None]
    # A run failing with a temporary error is run again (same slot, next attempt) up to
    # max_retries times, after retry_delay_seconds doubled at each attempt.
    max_retries: Mapped[int] = mapped_column(default=0, server_default="0")
    retry_delay_seconds: Mapped[int] = mapped_column(default=60, server_default="60")


class JobRun(Timestamps, Base):
    __tablename__ = "job_runs"
    __table_args__ = (
        # One run per (schedule, slot, attempt): two schedulers cannot both start it.
        UniqueConstraint("schedule_id", "slot", "attempt"),
        Index("ix_job_runs_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("job_schedules.id", ondelete="SET NULL"), index=True
    )
    slot: Mapped[datetime | None]
    notebook: Mapped[str] = mapped_column(String(500))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[RunStatus] = mapped_column(
        str_enum(RunStatus, "run_status"), default=RunStatus.QUEUED, server_default="queued"
    )
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_seconds: Mapped[float | None]
    output_path: Mapped[str | None] = mapped_column(String(1000))
    html_path: Mapped[str | None] = mapped_column(String(1000))
    error_cell: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    # 1 for a slot's first run, 2 for its first retry, ...
    attempt: Mapped[int] = mapped_column(default=1, server_default="1")
    # True when the run failed with a temporary error (its schedule may retry it).
    retryable: Mapped[bool] = mapped_column(default=False, server_default="0")
    # The process running it renews heartbeat_at and pushes expires_at ahead; an active
    # (queued or running) run past expires_at was lost and the reaper ends it.
    heartbeat_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
