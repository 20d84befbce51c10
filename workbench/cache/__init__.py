"""One Cache interface, two backends (Redis; embedded diskcache), picked by ``get_cache()``.

>>> from workbench.cache import get_cache
>>> cache = get_cache()                                               # doctest: +SKIP
>>> got = cache.read_through("BTC/USDT:5m", fetch, ttl=60, family="candles")  # doctest: +SKIP
>>> got.value, got.stale, got.fetched_at                              # doctest: +SKIP

Values: JSON (``get_json``/``set_json``) and DataFrames as Arrow IPC (``get_frame``/
``set_frame``), each with a TTL. ``read_through`` serves a last-good copy (``stale=True``)
when upstream fails; ``stats()`` counts hits/misses per family across processes;
``rate_limit`` is a sliding window; ``lock`` is exclusive across processes and machines.
"""

from workbench.cache.base import (
    Cache,
    FamilyStats,
    HeldLock,
    LockBusyError,
    LockLostError,
    RateLimit,
    RateLimitedError,
)
from workbench.cache.codecs import Entry
from workbench.cache.embedded import EmbeddedCache
from workbench.cache.factory import get_cache
from workbench.cache.readthrough import Cached, read_through
from workbench.cache.redis_backend import RedisCache, redact_url

__all__ = [
    "Cache",
    "Cached",
    "EmbeddedCache",
    "Entry",
    "FamilyStats",
    "HeldLock",
    "LockBusyError",
    "LockLostError",
    "RateLimit",
    "RateLimitedError",
    "RedisCache",
    "get_cache",
    "read_through",
    "redact_url",
]
