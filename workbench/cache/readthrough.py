"""Read-through caching with a last-good fallback.

``read_through(cache, key, fetch, ttl=..., family=...)``:

1. a live value under ``key`` is a hit: returned as is (``hit=True``);
2. on a miss ``fetch()`` runs; its value is stored for ``ttl`` seconds and, together with it,
   as the key's *last good* copy for ``last_good_ttl`` seconds (a week by default);
3. if ``fetch()`` raises one of ``fallback_on`` - by default TemporaryError, OperationalError
   and OSError (network, timeouts: what an unreachable upstream raises) - the last good copy
   is served with ``stale=True``, its original ``fetched_at`` and the error text; with no
   last good copy the error is re-raised.

What is *not* covered by default, and why: RejectedError (the request is wrong, so old data
would only hide the mistake - never served stale, even if listed in ``fallback_on``) and
programming errors such as TypeError or KeyError (a bug in ``fetch`` must surface, not be
papered over with week-old data). Pass ``fallback_on=(Exception,)`` to fall back on anything.

Counters of the ``family`` (hits, misses, stale_served, fetch_errors, last_refresh) live in
the backend, so ``cache.stats()`` is the same in every process. Works for JSON values and
DataFrames alike (a DataFrame is stored as Arrow, anything else as JSON).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from workbench.cache.codecs import Entry
from workbench.errors import OperationalError, RejectedError, TemporaryError
from workbench.timeutil import from_epoch

T = TypeVar("T")

DEFAULT_LAST_GOOD_TTL = 7 * 24 * 3600.0
DEFAULT_FALLBACK_ON: tuple[type[BaseException], ...] = (TemporaryError, OperationalError, OSError)


@dataclass(frozen=True, slots=True)
class Cached(Generic[T]):
    """A value from ``read_through``: ``stale`` when upstream failed and the last good copy
    was served (``error`` says why); ``hit`` when it came from the cache without fetching."""

    value: T
    stale: bool
    fetched_at: datetime
    hit: bool = False
    error: str | None = None


class ReadThroughStore(Protocol):
    """What ``read_through`` needs of a cache (``workbench.cache.Cache`` has it)."""

    def get_entry(self, key: str, *, last_good: bool = False) -> Entry | None: ...

    def record(self, family: str, field: str, amount: int = 1) -> None: ...

    def store_with_last_good(
        self, key: str, value: Any, *, ttl: float, last_good_ttl: float, at: float | None = None
    ) -> None: ...

    def mark_refreshed(self, family: str, at: float | None = None) -> None: ...


def read_through(
    cache: ReadThroughStore,
    key: str,
    fetch: Callable[[], T],
    *,
    ttl: float,
    family: str,
    last_good_ttl: float = DEFAULT_LAST_GOOD_TTL,
    fallback_on: tuple[type[BaseException], ...] = DEFAULT_FALLBACK_ON,
) -> Cached[T]:
    """The cached value of ``key``, else ``fetch()`` (stored with a last-good copy), else the
    last good value marked stale; re-raises when there is nothing to fall back on."""
    ttl, last_good_ttl = _positive(ttl, "ttl"), _positive(last_good_ttl, "last_good_ttl")
    entry = cache.get_entry(key)
    if entry is not None:
        cache.record(family, "hits")
        return Cached(entry.value, stale=False, fetched_at=entry.stored_at, hit=True)
    cache.record(family, "misses")
    try:
        value = fetch()
    except Exception as e:
        cache.record(family, "fetch_errors")
        if isinstance(e, RejectedError) or not isinstance(e, fallback_on):
            raise
        good = cache.get_entry(key, last_good=True)
        if good is None:
            raise
        cache.record(family, "stale_served")
        return Cached(
            good.value, stale=True, fetched_at=good.stored_at, error=f"{type(e).__name__}: {e}"
        )
    now = time.time()
    cache.store_with_last_good(key, value, ttl=ttl, last_good_ttl=last_good_ttl, at=now)
    cache.mark_refreshed(family, now)
    return Cached(value, stale=False, fetched_at=from_epoch(now))


def _positive(seconds: float, what: str) -> float:
    if not isinstance(seconds, int | float) or not 0 < seconds < math.inf:
        raise RejectedError(f"read_through {what} must be a positive number of seconds")
    return float(seconds)
