"""Time, one policy: every moment is a timezone-aware UTC datetime.

A naive datetime (or a timestamp, or ISO text without an offset) is taken as UTC, never as
the machine's local time; an aware one is converted to UTC. Bars are keyed by their open
time in epoch milliseconds (``to_ms``/``from_ms``). Every module that reads, stores or
compares a moment goes through here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, overload

from workbench.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd


def utc(moment: datetime | pd.Timestamp) -> datetime:
    """``moment`` as an aware UTC datetime (naive is taken as UTC)."""
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if hasattr(moment, "to_pydatetime"):  # a pandas Timestamp
        moment = moment.to_pydatetime()
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


def to_ms(moment: datetime | pd.Timestamp) -> int:
    """Epoch milliseconds of ``moment`` (naive is taken as UTC)."""
    return int(utc(moment).timestamp() * 1000)


def from_ms(ms: float) -> datetime:
    """The UTC datetime of epoch milliseconds ``ms``."""
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def from_epoch(seconds: float) -> datetime:
    """The UTC datetime of epoch ``seconds`` (``time.time()``)."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def utc_index(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """A DatetimeIndex in UTC (naive is taken as UTC)."""
    return index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")


@overload
def parse_moment(value: None, field: str, *, entity: str = ...) -> None: ...
@overload
def parse_moment(value: str | date | datetime, field: str, *, entity: str = ...) -> datetime: ...
@overload
def parse_moment(value: Any, field: str, *, entity: str = ...) -> datetime | None: ...
def parse_moment(value: Any, field: str, *, entity: str = "input") -> datetime | None:
    """A date or time a person typed or passed (ISO text like 2024-01-31 or
    2024-01-31T12:00, a date, a datetime, a Timestamp or a numpy datetime64) as UTC; None
    stays None. Bad input is a ValidationError naming ``field``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        return day_start(value)
    try:
        if isinstance(value, str):
            return utc(datetime.fromisoformat(value.strip()))
        import pandas as pd

        stamp = pd.Timestamp(value)
        if stamp is not pd.NaT:
            return utc(stamp)
    except (ValueError, TypeError):
        pass
    raise ValidationError(
        {field: f"expected a date or time like 2024-01-31 or 2024-01-31T12:00, got {value!r}"},
        entity=entity,
    )


def day_start(day: date | None, offset: int = 0) -> datetime | None:
    """The UTC start of ``day`` plus ``offset`` days (a DatePicker's value as a bound)."""
    if day is None:
        return None
    return datetime.combine(day, time(), tzinfo=UTC) + timedelta(days=offset)
