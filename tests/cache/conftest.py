"""The ``cache`` fixture: every contract test runs on the embedded and the Redis backend."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from cache_helpers import Child, make_candles

from workbench.cache import Cache, EmbeddedCache, RedisCache

CHILD = Path(__file__).with_name("cache_child.py")


@pytest.fixture
def candles() -> pd.DataFrame:
    return make_candles(1_000)


@pytest.fixture
def open_cache(cache: Cache, child_location: str) -> Callable[[str], Cache]:
    """Open another cache of the same backend and location in the given namespace."""

    def make(namespace: str) -> Cache:
        if isinstance(cache, EmbeddedCache):
            return EmbeddedCache(child_location, namespace=namespace)
        return RedisCache(child_location, namespace=namespace)

    return make


@pytest.fixture
def child_location(cache: Cache, request: pytest.FixtureRequest) -> str:
    """Where a child process finds the same cache: the directory or the Redis URL."""
    if isinstance(cache, EmbeddedCache):
        return str(cache.directory)
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
def spawn(cache: Cache, child_location: str) -> Iterator[Callable[..., Child]]:
    """Start ``cache_child.py ARGS`` on the same backend and namespace as ``cache``."""
    children: list[Child] = []

    def start(*args: str) -> Child:
        env = {**os.environ, "CACHE_CHILD_LOCATION": child_location}
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), cache.backend, cache.namespace, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        children.append(Child(proc))
        return children[-1]

    yield start
    for child in children:
        if child.proc.poll() is None:
            child.proc.kill()
        if child.proc.stdout is not None and not child.proc.stdout.closed:
            child.proc.communicate(timeout=10)
