"""A second process for the cache tests: ``python cache_child.py BACKEND NAMESPACE COMMAND ...``.

The location (directory or Redis URL) comes in CACHE_CHILD_LOCATION. Commands:
``hold-lock NAME TIMEOUT`` (prints ``locked``, releases after a line on stdin, prints
``released``) and ``write`` (stores JSON, a frame and one read_through).
"""

from __future__ import annotations

import os
import sys

from cache_helpers import make_candles

from workbench.cache import Cache, EmbeddedCache, RedisCache


def main(backend: str, namespace: str, command: str, *args: str) -> None:
    where = os.environ["CACHE_CHILD_LOCATION"]
    cache: Cache = (
        EmbeddedCache(where, namespace=namespace)
        if backend == "embedded"
        else RedisCache(where, namespace=namespace)
    )
    if command == "hold-lock":
        name, timeout = args[0], float(args[1])
        with cache.lock(name, timeout=timeout):
            print("locked", flush=True)
            sys.stdin.readline()
        print("released", flush=True)
    elif command == "write":
        cache.set_json("shared-json", {"from": "child", "pid": os.getpid()}, ttl=60)
        cache.store_with_last_good("shared-frame", make_candles(1_000), ttl=60, last_good_ttl=60)
        cache.read_through("shared-rt", lambda: [1, 2, 3], ttl=60, family="child")
        print("written", flush=True)
    else:
        raise SystemExit(f"unknown command {command!r}")
    cache.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
