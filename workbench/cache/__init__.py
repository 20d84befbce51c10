"""One Cache interface, two backends (Redis; embedded diskcache), picked by ``get_cache()``.

>>> from workbench.cache import get_cache
>>> cache = get_cache()                                               # doctest: +SKIP
>>> got = cache.read_through("BTC/USDT:5m", fetch, ttl=60, family="candles")  # doctest: +SKIP
>>> got.value, got.stale, got.fetched_at                              # doctest: +SKIP

Values: JSON (``get_json``/``set_json``) and, through ``read_through``, DataFrames as Arrow
IPC, each with a TTL. ``read_through`` serves a last-good copy (``stale=True``)
when upstream fails; ``stats()`` counts hits/misses per family across processes
(``workbench data cache`` shows them); ``lock`` is exclusive across processes and machines.
"""

from workbench.cache.base import (
    Cache,
    FamilyStats,
    HeldLock,
    LockBusyError,
    LockLostError,
)
from workbench.cache.codecs import Entry
from workbench.cache.embedded import EmbeddedCache
from workbench.cache.factory import get_cache
from workbench.cache.readthrough import Cached, read_through
from workbench.cache.redis_backend import RedisCache
from workbench.redact import redact_url

__all__ = [
    "Cache",
    "Cached",
    "EmbeddedCache",
    "Entry",
    "FamilyStats",
    "HeldLock",
    "LockBusyError",
    "LockLostError",
    "RedisCache",
    "get_cache",
    "read_through",
    "redact_url",
]
