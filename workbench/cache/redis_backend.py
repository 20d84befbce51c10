"""The Redis backend (redis-py), shared by every process and machine that reaches the server.

Values are plain strings with a millisecond TTL (``SET ... PX``); counters are one hash per
family (``HINCRBY``); the lock is redis-py's ``Lock`` (random token, ``SET NX PX``,
compare-and-delete release), so a crashed holder's lock expires after its timeout. Redis
errors become TemporaryError (unreachable, timeout, loading) or OperationalError
(authentication, wrong setup). The URL's password is
never shown: ``repr`` and messages use ``redact_url``. Use a ``maxmemory-policy`` that does
not evict keys without a TTL (``volatile-*`` or ``noeviction``) so counters stay put.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import redis
from pydantic import SecretStr
from redis.exceptions import LockNotOwnedError
from redis.lock import Lock

from workbench.cache.base import Cache
from workbench.errors import OperationalError, TemporaryError
from workbench.redact import redact_url

SOCKET_TIMEOUT = 5.0
LOCK_SLEEP = 0.02

# KEYS[1] stats hash; ARGV[1] epoch seconds. Keeps the latest refresh time.
_REFRESH_LUA = """
local current = redis.call('HGET', KEYS[1], 'last_refresh')
if not current or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'last_refresh', ARGV[1])
end
return 0
"""


class RedisCache(Cache):
    """Cache on a Redis server; ``url`` may carry a password and is never printed with it."""

    backend = "redis"

    def __init__(
        self,
        url: str | SecretStr,
        *,
        namespace: str = "wb",
        socket_timeout: float = SOCKET_TIMEOUT,
    ) -> None:
        super().__init__(namespace=namespace)
        raw = url.get_secret_value() if isinstance(url, SecretStr) else url
        self.url = redact_url(raw)
        try:
            self._client = redis.Redis.from_url(
                raw,
                socket_timeout=socket_timeout,
                socket_connect_timeout=socket_timeout,
                health_check_interval=30,
            )
        except ValueError as e:
            raise OperationalError(f"Redis URL {self.url} is not valid: {e}") from e
        self._refresh_script = self._client.register_script(_REFRESH_LUA)

    def __repr__(self) -> str:
        return f"RedisCache({self.url!r}, namespace={self.namespace!r})"

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except redis.AuthenticationError as e:
            raise OperationalError(f"Redis at {self.url} refused the credentials: {e}") from e
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as e:
            raise TemporaryError(f"Redis at {self.url} is unreachable: {e}") from e
        except redis.RedisError as e:
            raise OperationalError(f"Redis at {self.url} failed: {e}") from e

    # ---- primitives -----------------------------------------------------------------------

    def _get_raw(self, key: str) -> bytes | None:
        with self._guard():
            return self._client.get(key)  # type: ignore[return-value]

    def _set_raw(self, items: Sequence[tuple[str, bytes, float]]) -> None:
        with self._guard(), self._client.pipeline(transaction=True) as pipe:
            for key, data, ttl in items:
                pipe.set(key, data, px=max(1, round(ttl * 1000)))
            pipe.execute()

    def _delete_raw(self, keys: Sequence[str]) -> int:
        with self._guard():
            return int(self._client.delete(*keys))

    def _exists_raw(self, key: str) -> bool:
        with self._guard():
            return bool(self._client.exists(key))

    def _stat_key(self, family: str) -> str:
        return f"{self.namespace}:s:{family}"

    def _stat_add(self, family: str, field: str, amount: int) -> None:
        with self._guard():
            self._client.hincrby(self._stat_key(family), field, amount)

    def _stat_refresh(self, family: str, at: float) -> None:
        with self._guard():
            self._refresh_script(keys=[self._stat_key(family)], args=[repr(at)])

    def _stat_read(self) -> dict[str, dict[str, float]]:
        prefix = self._stat_key("")
        with self._guard():
            keys = list(self._client.scan_iter(match=f"{prefix}*", count=500))
            with self._client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hgetall(key)
                hashes = pipe.execute()
        return {
            key.decode()[len(prefix) :]: {k.decode(): float(v) for k, v in fields.items()}
            for key, fields in zip(keys, hashes, strict=True)
            if fields
        }

    def _lock_impl(self, key: str, timeout: float) -> _RedisLock:
        return _RedisLock(self, key, timeout)

    # ---- housekeeping ---------------------------------------------------------------------

    def clear(self) -> int:
        """Delete every key of this namespace (SCAN + UNLINK; other namespaces stay)."""
        removed = 0
        with self._guard():
            batch: list[bytes] = []
            for key in self._client.scan_iter(match=f"{self.namespace}:*", count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    removed += self._client.unlink(*batch)
                    batch.clear()
            if batch:
                removed += self._client.unlink(*batch)
        return removed

    def close(self) -> None:
        """Close the connection pool (it reconnects on next use)."""
        self._client.close()


class _RedisLock:
    """redis-py's token Lock, with its errors mapped like every other Redis call."""

    def __init__(self, cache: RedisCache, key: str, timeout: float) -> None:
        self._cache = cache
        self._lock = Lock(cache._client, key, timeout=timeout, sleep=LOCK_SLEEP, thread_local=False)

    def acquire(self, *, blocking: bool, wait: float | None) -> bool:
        """Take the lock (``SET NX PX`` with a random token), waiting up to ``wait``."""
        with self._cache._guard():
            return bool(self._lock.acquire(blocking=blocking, blocking_timeout=wait))

    def release(self) -> bool:
        """Delete the key if our token still owns it; False if it expired meanwhile."""
        with self._cache._guard():
            try:
                self._lock.release()
            except LockNotOwnedError:
                return False
        return True
