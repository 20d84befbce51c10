"""Input for job schedules (pydantic): the rules the CLI, widgets and API share.

``ScheduleUpdate`` is ``ScheduleCreate`` with every field optional; an update is merged
over the stored row and the result validated with ``ScheduleCreate``.
"""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, create_model, field_validator

from workbench.db.models.jobs import MissedRuns
from workbench.errors import ValidationError
from workbench.jobs.cron import check_cron
from workbench.jobs.params import check_parameters
from workbench.schemas.base import Schema


class ScheduleCreate(Schema):
    notebook: str = Field(min_length=1, max_length=500)
    cron: str = Field(min_length=1, max_length=100)
    timezone: str = Field(default="UTC", max_length=64)
    name: str = Field(min_length=1, max_length=200)
    parameters: dict[str, Any] = Field(default_factory=dict)
    missed_runs: MissedRuns = MissedRuns.SKIP
    timeout_seconds: int | None = Field(default=None, gt=0, le=7 * 86_400)
    enabled: bool = True
    max_retries: int = Field(default=0, ge=0, le=10)
    retry_delay_seconds: int = Field(default=60, ge=1, le=86_400)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name like UTC or Europe/Berlin"
            ) from None
        return value

    @field_validator("notebook")
    @classmethod
    def _notebook(cls, value: str) -> str:
        if not value.endswith(".ipynb"):
            raise ValueError(f"{value} is not a .ipynb file")
        return value

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            return check_parameters(value)
        except ValidationError as e:
            raise ValueError("; ".join(f"{k}: {m}" for k, m in e.errors.items())) from None


def _optional(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in fields.items():
        annotation: Any = (
            Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        )
        out[name] = (annotation | None, None)
    return out


ScheduleUpdate = create_model(  # every field optional, same per-field bounds
    "ScheduleUpdate", __base__=Schema, **_optional(ScheduleCreate.model_fields)
)
