"""Cron expressions: validation that names the bad field, and DST-safe slot arithmetic.

Five fields (minute hour day-of-month month day-of-week) as in crontab; an optional sixth
field in front gives seconds (``*/5 * * * * *``: every 5 seconds), as in Quartz.

Slots are computed by croniter on timezone-aware datetimes in the schedule's timezone
and returned in UTC. Around daylight-saving changes (as cron does):

- a wall time that does not exist (spring forward) runs once, right after the jump;
- a wall time that happens twice (fall back) runs once, at its first occurrence, for
  expressions with a fixed hour; expressions whose hour field is ``*`` or ``*/n`` keep
  running every real hour, so an hourly job runs 25 times on that day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day of month", "1-31"),
    ("month", "1-12 or jan-dec"),
    ("day of week", "0-7 or sun-sat, 0 and 7 are Sunday"),
)
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# Safety bound when walking over slots that are skipped (repeated wall times).
_MAX_STEPS = 100_000


def expand(expr: str) -> str:
    """``expr`` with whitespace normalised and a macro (``@daily``) replaced by its fields."""
    text = " ".join(expr.split())
    return MACROS.get(text.lower(), text)


def check_cron(expr: str) -> str:
    """Return ``expr`` normalised; raise ValueError naming the field that is wrong."""
    text = " ".join(str(expr).split())
    if not text:
        raise ValueError("is empty; expected 5 fields: minute hour day-of-month month day-of-week")
    if text.startswith("@"):
        if text.lower() not in MACROS:
            raise ValueError(f"unknown macro {text!r}; use one of {', '.join(sorted(MACROS))}")
        return text.lower()
    parts = text.split(" ")
    if len(parts) == 6:  # seconds first
        _check_seconds(parts[0])
        check_cron(" ".join(parts[1:]))
        return text
    if len(parts) != 5:
        raise ValueError(
            f"has {len(parts)} fields; expected 5: minute hour day-of-month month day-of-week "
            "(or 6, with seconds first)"
        )
    for i, (field, allowed) in enumerate(FIELDS):
        probe = ["*"] * 5
        probe[i] = parts[i]
        try:
            croniter(" ".join(probe))
        except CroniterError:
            raise ValueError(
                f"{field} field {parts[i]!r} is not valid (values {allowed}; "
                "lists 1,5, ranges 1-5 and steps */15 also work)"
            ) from None
    try:
        croniter(text, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(
            f"day of month field {parts[2]!r} never matches in month field {parts[3]!r}"
        ) from None
    except CroniterBadCronError as e:
        raise ValueError(f"is not valid: {e}") from None
    return text


def _check_seconds(field: str) -> None:
    try:
        croniter(f"{field} * * * * *", second_at_beginning=True)
    except CroniterError:
        raise ValueError(
            f"second field {field!r} is not valid (values 0-59; lists, ranges and steps "
            "*/5 also work)"
        ) from None


def _has_seconds(expr: str) -> bool:
    return len(expand(expr).split(" ")) == 6


def _fixed_hour(expr: str) -> bool:
    parts = expand(expr).split(" ")
    return not parts[2 if len(parts) == 6 else 1].startswith("*")


def _repeated(slot: datetime, tz: ZoneInfo) -> bool:
    """True when ``slot`` is the second occurrence of a wall time repeated by a fall back."""
    wall = slot.replace(tzinfo=None)
    first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return False
    exists_twice = all(
        d.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall for d in (first, second)
    )
    return exists_twice and slot.utcoffset() == second.utcoffset()


def _walk(expr: str, tz: ZoneInfo, start: datetime, *, backwards: bool) -> Iterator[datetime]:
    """Slots strictly after (or, backwards, at or before) ``start``, in UTC."""
    skip_repeats = _fixed_hour(expr)
    origin = start + timedelta(microseconds=1) if backwards else start
    it = croniter(expand(expr), origin.astimezone(tz), second_at_beginning=_has_seconds(expr))
    for _ in range(_MAX_STEPS):
        slot = it.get_prev(datetime) if backwards else it.get_next(datetime)
        if skip_repeats and _repeated(slot, tz):
            continue
        yield slot.astimezone(UTC)


def slots_between(
    expr: str, tz: str, after: datetime, until: datetime, *, limit: int
) -> list[datetime]:
    """The first ``limit`` slots in (``after``, ``until``], oldest first, in UTC."""
    out: list[datetime] = []
    if limit <= 0 or until <= after:
        return out
    for slot in _walk(expr, ZoneInfo(tz), after, backwards=False):
        if slot > until or len(out) >= limit:
            break
        out.append(slot)
    return out


def latest_slots(
    expr: str, tz: str, after: datetime, until: datetime, *, count: int
) -> list[datetime]:
    """The last ``count`` slots in (``after``, ``until``], oldest first, in UTC."""
    out: list[datetime] = []
    if count <= 0 or until <= after:
        return out
    for slot in _walk(expr, ZoneInfo(tz), until, backwards=True):
        if slot <= after or len(out) >= count:
            break
        out.append(slot)
    return out[::-1]


def next_slot(expr: str, tz: str, after: datetime) -> datetime:
    """The first slot strictly after ``after``, in UTC."""
    return next(_walk(expr, ZoneInfo(tz), after, backwards=False))
