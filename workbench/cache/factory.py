"""Pick the cache backend from Settings: Redis when WORKBENCH_REDIS_URL is set, else embedded."""

from __future__ import annotations

from workbench.cache.base import Cache
from workbench.cache.embedded import EmbeddedCache
from workbench.cache.redis_backend import RedisCache
from workbench.settings import Settings, get_settings


def get_cache(settings: Settings | None = None, *, namespace: str = "wb") -> Cache:
    """A Redis cache if ``settings.redis_url`` is set, else an embedded one in ``cache_dir``.

    Nothing connects until first use. Make one per process and reuse it.
    """
    settings = settings or get_settings()
    if settings.redis_url is not None and settings.redis_url.get_secret_value().strip():
        return RedisCache(settings.redis_url, namespace=namespace)
    return EmbeddedCache(settings.cache_dir, namespace=namespace)
