"""Scheduled notebook jobs and every run of one."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db.base import Base, Timestamps, str_enum


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"


class MissedRuns(enum.StrEnum):
    SKIP = "skip"  # start only the latest due slot
    RUN_ONCE = "run_once"  # run one catch-up for all missed slots
    RUN_ALL = "run_all"  # run every missed slot


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


class JobRun(Timestamps, Base):
    __tablename__ = "job_runs"
    __table_args__ = (
        # One run per (schedule, slot): two schedulers cannot both start it.
        UniqueConstraint("schedule_id", "slot"),
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
