"""The embedded backend: diskcache (SQLite in WAL mode plus files) in one local directory.

Every process that opens the same directory - a notebook kernel, a papermill job, the
scheduler - shares values, counters and locks; diskcache's SQLite transactions
make ``incr``, ``add`` and ``transact`` atomic across processes. The directory must be on a
local disk (SQLite locking is unreliable on network file systems).

Two diskcache stores live under the directory: ``data/`` for values (evicts the least recently
stored entries past ``size_limit``) and ``control/`` for counters and locks
(never evicted, so a lock cannot vanish under its holder).

The lock is not diskcache's ``Lock`` recipe: that one releases by deleting the key whatever
its owner, so a holder that overran its expiry would delete the next holder's lock. Here the
key holds a random token, is taken with ``add(expire=timeout)`` (atomic; an expired row counts
as absent, so a dead holder's lock frees itself after ``timeout``) and is released only by
the token's owner inside a transaction.

Values are bytes, str, int or float only; the store never pickles or unpickles.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import diskcache
from diskcache.core import MODE_PICKLE, UNKNOWN

from workbench.cache.base import LOCK_POLL_SECONDS, Cache, new_token
from workbench.errors import OperationalError, TemporaryError

DEFAULT_SIZE_LIMIT = 2**30
SQLITE_TIMEOUT = 10.0
_DATA_KINDS = ("v", "g")


class PlainDisk(diskcache.Disk):
    """diskcache's Disk without pickle: keys and values are bytes, str, int or float."""

    def put(self, key: Any) -> tuple[Any, bool]:
        """Database form of a key; refuses keys diskcache would pickle."""
        _plain(key, "key")
        return super().put(key)

    def get(self, key: Any, raw: bool) -> Any:
        """Python form of a stored key; refuses pickled keys."""
        if not raw:
            raise OperationalError("embedded cache holds a pickled key; refusing to unpickle it")
        return super().get(key, raw)

    def store(self, value: Any, read: bool, key: Any = UNKNOWN) -> tuple[Any, ...]:
        """Database form of a value; refuses values diskcache would pickle."""
        if not read:
            _plain(value, "value")
        return super().store(value, read, key=key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        """Python form of a stored value; refuses pickled values."""
        if mode == MODE_PICKLE:
            raise OperationalError("embedded cache holds a pickled value; refusing to unpickle")
        return super().fetch(mode, filename, value, read)


class EmbeddedCache(Cache):
    """Cache in a local directory, shared by every process on this machine that opens it."""

    backend = "embedded"

    def __init__(
        self,
        directory: str | Path,
        *,
        namespace: str = "wb",
        size_limit: int = DEFAULT_SIZE_LIMIT,
    ) -> None:
        super().__init__(namespace=namespace)
        self.directory = Path(directory)
        self._size_limit = size_limit

    def __repr__(self) -> str:
        return f"EmbeddedCache({str(self.directory)!r}, namespace={self.namespace!r})"

    @cached_property
    def _data(self) -> diskcache.Cache:
        with self._guard():
            return diskcache.Cache(
                str(self.directory / "data"),
                disk=PlainDisk,
                timeout=SQLITE_TIMEOUT,
                size_limit=self._size_limit,
            )

    @cached_property
    def _control(self) -> diskcache.Cache:
        with self._guard():
            return diskcache.Cache(
                str(self.directory / "control"),
                disk=PlainDisk,
                timeout=SQLITE_TIMEOUT,
                eviction_policy="none",
            )

    def _store(self, key: str) -> diskcache.Cache:
        return self._data if key.split(":", 2)[1] in _DATA_KINDS else self._control

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except diskcache.Timeout as e:
            raise TemporaryError(f"embedded cache at {self.directory} is busy; retry") from e
        except (sqlite3.DatabaseError, OSError) as e:
            raise OperationalError(f"embedded cache at {self.directory} failed: {e}") from e

    # ---- primitives -----------------------------------------------------------------------

    def _get_raw(self, key: str) -> bytes | None:
        with self._guard():
            value = self._store(key).get(key)
        return value if isinstance(value, bytes) else None

    def _set_raw(self, items: Sequence[tuple[str, bytes, float]]) -> None:
        with self._guard(), self._data.transact():
            for key, data, ttl in items:
                self._store(key).set(key, data, expire=ttl)

    def _delete_raw(self, keys: Sequence[str]) -> int:
        with self._guard():
            return sum(bool(self._store(key).delete(key)) for key in keys)

    def _exists_raw(self, key: str) -> bool:
        with self._guard():
            return key in self._store(key)

    def _stat_key(self, field: str, family: str) -> str:
        return f"{self.namespace}:s:{field}:{family}"

    def _stat_add(self, family: str, field: str, amount: int) -> None:
        with self._guard():
            self._control.incr(self._stat_key(field, family), amount)

    def _stat_refresh(self, family: str, at: float) -> None:
        key = self._stat_key("last_refresh", family)
        with self._guard(), self._control.transact():
            current = self._control.get(key)
            if current is None or at > current:
                self._control.set(key, at)

    def _stat_read(self) -> dict[str, dict[str, float]]:
        prefix = f"{self.namespace}:s:"
        out: dict[str, dict[str, float]] = {}
        with self._guard():
            for key in self._keys(self._control, prefix):
                value = self._control.get(key)
                if isinstance(value, int | float):
                    field, family = key[len(prefix) :].split(":", 1)
                    out.setdefault(family, {})[field] = value
        return out

    def _lock_impl(self, key: str, timeout: float) -> _DiskLock:
        return _DiskLock(self, key, timeout)

    # ---- housekeeping ---------------------------------------------------------------------

    def clear(self) -> int:
        """Delete every key of this namespace; other namespaces in the directory stay."""
        prefix = f"{self.namespace}:"
        removed = 0
        with self._guard():
            for store in (self._data, self._control):
                for key in list(self._keys(store, prefix)):
                    removed += bool(store.delete(key))
        return removed

    def close(self) -> None:
        """Close the SQLite connections (the cache reopens them on next use)."""
        for name in ("_data", "_control"):
            store = self.__dict__.pop(name, None)
            if store is not None:
                store.close()

    @staticmethod
    def _keys(store: diskcache.Cache, prefix: str) -> Iterator[str]:
        return (k for k in store.iterkeys() if isinstance(k, str) and k.startswith(prefix))


class _DiskLock:
    """A token lock on one control key (see the module docstring)."""

    def __init__(self, cache: EmbeddedCache, key: str, timeout: float) -> None:
        self._cache, self._key, self._timeout = cache, key, timeout
        self._token = new_token()

    def acquire(self, *, blocking: bool, wait: float | None) -> bool:
        """Take the lock, polling while blocking until ``wait`` seconds pass."""
        deadline = None if wait is None else time.monotonic() + wait
        store = self._cache._control
        while True:
            with self._cache._guard():
                if store.add(self._key, self._token, expire=self._timeout):
                    return True
            if not blocking or (deadline is not None and time.monotonic() >= deadline):
                return False
            time.sleep(LOCK_POLL_SECONDS)

    def release(self) -> bool:
        """Delete the key if this token still owns it; False if it expired meanwhile."""
        store = self._cache._control
        with self._cache._guard(), store.transact():
            if store.get(self._key) != self._token:
                return False
            store.delete(self._key)
            return True


def _plain(obj: Any, what: str) -> None:
    if type(obj) not in (bytes, str, int, float):
        raise TypeError(f"embedded cache stores bytes, str, int or float {what}s only")
