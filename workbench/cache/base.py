"""The Cache interface: JSON values and (through ``read_through``) DataFrames with TTLs,
read-through with a last-good fallback, per-family counters and a cross-process lock.

A backend implements a handful of byte-level primitives (``_get_raw`` ... ``_lock_impl``) on
keys that already carry the namespace; everything a caller uses is written once, here, so the
Redis and the embedded backend behave the same (one contract test suite runs on both).

Keys inside a namespace ``ns``: ``ns:v:KEY`` value, ``ns:g:KEY`` last-good copy,
``ns:l:NAME`` lock; counters are kept per backend (see there).
"""

from __future__ import annotations

import math
import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self

from workbench.cache.codecs import (
    Entry,
    decode,
    encode_json,
    encode_value,
)
from workbench.cache.readthrough import (
    DEFAULT_FALLBACK_ON,
    DEFAULT_LAST_GOOD_TTL,
    Cached,
    read_through,
)
from workbench.errors import OperationalError, RejectedError, TemporaryError
from workbench.timeutil import from_epoch

NAMESPACE_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
STAT_FIELDS = ("hits", "misses", "stale_served", "fetch_errors")
LOCK_POLL_SECONDS = 0.01


class LockBusyError(TemporaryError):
    """Another process holds the lock; try again later."""


class LockLostError(OperationalError):
    """The lock expired while held (the work took longer than its timeout)."""


@dataclass(frozen=True, slots=True)
class FamilyStats:
    """Counters of one key family, shared by every process using the backend."""

    hits: int = 0
    misses: int = 0
    stale_served: int = 0
    fetch_errors: int = 0
    last_refresh: datetime | None = None


@dataclass(frozen=True, slots=True)
class HeldLock:
    """What ``Cache.lock`` yields while the lock is held."""

    name: str
    timeout: float
    acquired_at: datetime


class LockImpl(Protocol):
    """A backend's lock on one key, owned by one random token."""

    def acquire(self, *, blocking: bool, wait: float | None) -> bool:
        """Take the lock; False if it is held elsewhere (after ``wait`` when blocking)."""
        ...

    def release(self) -> bool:
        """Give the lock back; False if it had expired or another owner holds it now."""
        ...


class Cache(ABC):
    """A shared cache; make one per process (``get_cache()``) and reuse it."""

    backend: ClassVar[str]

    def __init__(self, *, namespace: str = "wb") -> None:
        if not NAMESPACE_PATTERN.fullmatch(namespace):
            raise RejectedError(
                f"cache namespace {namespace!r} must be 1-64 letters, digits, '_', '.' or '-'"
            )
        self.namespace = namespace

    # ---- values -------------------------------------------------------------------------

    def get_json(self, key: str, default: Any = None, *, family: str | None = None) -> Any:
        """The JSON value under ``key``, or ``default`` when missing or expired."""
        entry = self._read(key, family)
        if entry is None:
            return default
        return _expect(entry, "json", key).value

    def set_json(self, key: str, value: Any, *, ttl: float) -> None:
        """Store a JSON-serialisable value for ``ttl`` seconds."""
        self._set_raw([(self._key("v", key), encode_json(value), _check_ttl(ttl))])

    def store_with_last_good(
        self, key: str, value: Any, *, ttl: float, last_good_ttl: float, at: float | None = None
    ) -> None:
        """Store ``value`` (JSON or a DataFrame, stamped with epoch ``at``, default now) for
        ``ttl`` seconds and, together with it, as the key's last-good copy for
        ``last_good_ttl`` (what ``read_through`` writes after a fetch)."""
        data = encode_value(value, stored_at=time.time() if at is None else at)
        self._set_raw(
            [
                (self._key("v", key), data, _check_ttl(ttl)),
                (self._key("g", key), data, _check_ttl(last_good_ttl)),
            ]
        )

    def get_entry(self, key: str, *, last_good: bool = False) -> Entry | None:
        """The value under ``key`` (or its last-good copy) with its kind and stored time."""
        data = self._get_raw(self._key("g" if last_good else "v", key))
        return None if data is None else decode(data)

    def delete(self, key: str, *, last_good: bool = False) -> bool:
        """Remove ``key`` (and its last-good copy when asked); True if the value existed."""
        existed = self._delete_raw([self._key("v", key)]) > 0
        if last_good:
            self._delete_raw([self._key("g", key)])
        return existed

    def exists(self, key: str) -> bool:
        """True while ``key`` holds an unexpired value."""
        return self._exists_raw(self._key("v", key))

    def read_through(
        self,
        key: str,
        fetch: Callable[[], Any],
        *,
        ttl: float,
        family: str,
        last_good_ttl: float = DEFAULT_LAST_GOOD_TTL,
        fallback_on: tuple[type[BaseException], ...] = DEFAULT_FALLBACK_ON,
    ) -> Cached[Any]:
        """Cached value, else ``fetch()`` stored for ``ttl``; on fetch errors the last good
        value marked stale (see ``workbench.cache.readthrough``)."""
        return read_through(
            self,
            key,
            fetch,
            ttl=ttl,
            family=family,
            last_good_ttl=last_good_ttl,
            fallback_on=fallback_on,
        )

    # ---- counters -----------------------------------------------------------------------

    def stats(self) -> dict[str, FamilyStats]:
        """Counters and last refresh time per key family, as every process sees them."""
        out = {}
        for family, fields in sorted(self._stat_read().items()):
            refreshed = fields.get("last_refresh")
            out[family] = FamilyStats(
                **{f: int(fields.get(f, 0)) for f in STAT_FIELDS},
                last_refresh=None if refreshed is None else from_epoch(refreshed),
            )
        return out

    def record(self, family: str, field: str, amount: int = 1) -> None:
        """Add ``amount`` to one counter (``hits``, ``misses``, ...) of ``family``."""
        if field not in STAT_FIELDS:
            raise RejectedError(f"unknown cache counter {field!r}; use one of {STAT_FIELDS}")
        self._stat_add(_check_name(family, "family"), field, amount)

    def mark_refreshed(self, family: str, at: float | None = None) -> None:
        """Record that ``family`` was refreshed from upstream now (or at epoch ``at``)."""
        self._stat_refresh(_check_name(family, "family"), time.time() if at is None else at)

    # ---- locks --------------------------------------------------------------------------

    @contextmanager
    def lock(
        self,
        name: str,
        *,
        timeout: float,
        blocking: bool = False,
        wait: float | None = None,
        busy_message: str | None = None,
    ) -> Iterator[HeldLock]:
        """Hold an exclusive lock across processes and machines for at most ``timeout`` s.

        Non-blocking (default) raises LockBusyError (a TemporaryError, message
        ``busy_message`` if given) when held elsewhere; blocking waits up to ``wait`` seconds
        (forever if None). A holder that dies releases the lock when ``timeout`` runs out.
        Embedded locks span the processes of one machine; Redis locks span machines.
        Leaving the block after the lock expired raises LockLostError.
        """
        impl = self._lock_impl(self._key("l", _check_name(name, "lock name")), _check_ttl(timeout))
        if not impl.acquire(blocking=blocking, wait=wait):
            raise LockBusyError(busy_message or f"lock {name!r} is held by another process")
        started = time.monotonic()
        try:
            yield HeldLock(name, timeout, datetime.now(UTC))
        except BaseException as e:
            if not impl.release():
                e.add_note(_lost_lock(name, timeout, time.monotonic() - started))
            raise
        if not impl.release():
            raise LockLostError(
                f"{_lost_lock(name, timeout, time.monotonic() - started)}; another process "
                "may have run at the same time"
            )

    # ---- housekeeping -------------------------------------------------------------------

    @abstractmethod
    def clear(self) -> int:
        """Delete every key of this namespace (values, counters, limits, locks)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections and file handles."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- backend primitives: keys already carry the namespace ---------------------------

    @abstractmethod
    def _get_raw(self, key: str) -> bytes | None: ...

    @abstractmethod
    def _set_raw(self, items: Sequence[tuple[str, bytes, float]]) -> None:
        """Store (key, data, ttl seconds) items together."""

    @abstractmethod
    def _delete_raw(self, keys: Sequence[str]) -> int:
        """Delete keys; the number that existed."""

    @abstractmethod
    def _exists_raw(self, key: str) -> bool: ...

    @abstractmethod
    def _stat_add(self, family: str, field: str, amount: int) -> None: ...

    @abstractmethod
    def _stat_refresh(self, family: str, at: float) -> None: ...

    @abstractmethod
    def _stat_read(self) -> dict[str, dict[str, float]]: ...

    @abstractmethod
    def _lock_impl(self, key: str, timeout: float) -> LockImpl: ...

    # ---- helpers ------------------------------------------------------------------------

    def _key(self, kind: str, key: str) -> str:
        return f"{self.namespace}:{kind}:{_check_name(key, 'key')}"

    def _read(self, key: str, family: str | None) -> Entry | None:
        entry = self.get_entry(key)
        if family is not None:
            self.record(family, "misses" if entry is None else "hits")
        return entry


def _lost_lock(name: str, timeout: float, held: float) -> str:
    """What happened to a lock that was no longer ours at release, in the user's terms."""
    if held >= timeout:
        return f"lock {name!r} expired: held {held:.1f}s, longer than its timeout={timeout}s"
    return (
        f"lock {name!r} was lost after {held:.1f}s, before its timeout={timeout}s: the lock "
        "server no longer had it (restarted, flushed or failed over)"
    )


def new_token() -> str:
    """A random owner token for a lock."""
    return uuid.uuid4().hex


def _check_ttl(ttl: float) -> float:
    if not isinstance(ttl, int | float) or not math.isfinite(ttl) or ttl <= 0:
        raise RejectedError(f"cache TTL must be a positive number of seconds, got {ttl!r}")
    return float(ttl)


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise RejectedError(f"cache {what} must be a non-empty string, got {name!r}")
    return name


def _expect(entry: Entry, kind: str, key: str) -> Entry:
    if entry.kind != kind:
        names = {"frame": "a DataFrame", "json": "JSON"}
        raise RejectedError(f"cache key {key!r} holds {names[entry.kind]}, not {names[kind]}")
    return entry
