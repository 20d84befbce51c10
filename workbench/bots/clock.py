"""The tick's time, injected: the wall clock for live ticks, the replayed prices' clock for
replays, so a replayed tick sees exactly the moments a live one would have seen."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from workbench.timeutil import from_ms, now_utc, to_ms


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware UTC."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> datetime:
        return now_utc()


SYSTEM_CLOCK = SystemClock()


def now_ms(clock: Clock) -> int:
    """``clock.now()`` in epoch milliseconds."""
    return to_ms(clock.now())


def iso_ms(moment_ms: int) -> str:
    """An epoch-millisecond moment as ISO 8601 UTC text."""
    return from_ms(moment_ms).isoformat()
