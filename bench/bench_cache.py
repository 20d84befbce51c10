"""Cache hit of a 100,000-row candle DataFrame (Redis, embedded) vs reading it from PostgreSQL.

    python bench/bench_cache.py [--rows 100000] [--repeat 30]

Uses the local Redis (WORKBENCH_BENCH_REDIS_URL, default redis://127.0.0.1:6379/15) and
PostgreSQL (WORKBENCH_BENCH_PG_URL, default postgresql+psycopg2://postgres@127.0.0.1:5432/test);
the PostgreSQL rows live in a scratch schema that is dropped afterwards. Prints the median
milliseconds of each and the ratios. Target: a cache hit under 10 ms.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from workbench.cache import Cache, EmbeddedCache, RedisCache, redact_url

REDIS_URL = os.environ.get("WORKBENCH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
PG_URL = os.environ.get(
    "WORKBENCH_BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
TARGET_MS = 10.0


def make_candles(rows: int) -> pd.DataFrame:
    """A random-walk candle frame with a 1-minute UTC DatetimeIndex."""
    rng = np.random.default_rng(42)
    index = pd.date_range("2020-01-01", periods=rows, freq="1min", tz="UTC", name="ts")
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 1e-3, rows)))
    spread = np.abs(rng.normal(0, 5, rows))
    return pd.DataFrame(
        {
            "open": np.roll(close, 1),
            "high": close + spread,
            "low": close - spread,
            "close": close,
            "volume": rng.gamma(2.0, 3.0, rows),
        },
        index=index,
    )


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``fn`` in milliseconds after two warm-up calls."""
    fn()
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_cache(cache: Cache, frame: pd.DataFrame, repeat: int) -> tuple[float, float]:
    """(get_entry ms, read_through hit ms) on ``cache``."""
    cache.store_with_last_good("candles", frame, ttl=600, last_good_ttl=600)
    got = cache.get_entry("candles")
    assert got is not None
    pd.testing.assert_frame_equal(got.value, frame, check_exact=True)
    cache.read_through("rt-candles", lambda: frame, ttl=600, family="bench")
    get_ms = median_ms(lambda: cache.get_entry("candles"), repeat)
    rt_ms = median_ms(
        lambda: cache.read_through("rt-candles", lambda: frame, ttl=600, family="bench"), repeat
    )
    return get_ms, rt_ms


def bench_postgres(frame: pd.DataFrame, repeat: int) -> float:
    """read_sql of the same rows from a scratch schema, in ms."""
    schema = f"bench_cache_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            conn.execute(
                sa.text(
                    f'CREATE TABLE "{schema}".candles (ts timestamptz PRIMARY KEY, '
                    "open float8 NOT NULL, high float8 NOT NULL, low float8 NOT NULL, "
                    "close float8 NOT NULL, volume float8 NOT NULL)"
                )
            )
            buf = io.StringIO()
            frame.to_csv(buf, header=False, float_format="%.17g", date_format="%Y-%m-%dT%H:%M:%SZ")
            buf.seek(0)
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cur = raw.cursor()
            try:
                cur.copy_expert(f'COPY "{schema}".candles FROM STDIN WITH (FORMAT csv)', buf)
            finally:
                cur.close()
            conn.execute(sa.text(f'ANALYZE "{schema}".candles'))
        query = sa.text(
            f'SELECT ts, open, high, low, close, volume FROM "{schema}".candles ORDER BY ts'
        )
        with engine.connect() as conn:

            def read() -> pd.DataFrame:
                return pd.read_sql(query, conn, index_col="ts")

            got = read()
            pd.testing.assert_frame_equal(got, frame, check_freq=False, check_index_type=False)
            return median_ms(read, repeat)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def main() -> None:
    """Run the benchmark and print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    frame = make_candles(args.rows)
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    print(f"{args.rows:,} candle rows, {args.repeat} runs each, median ms")
    print(f"redis {redact_url(REDIS_URL)}, postgresql {sa.make_url(PG_URL)!r}")

    results: dict[str, float] = {}
    with RedisCache(REDIS_URL, namespace=namespace) as redis_cache:
        try:
            results["redis get_entry"], results["redis read_through hit"] = bench_cache(
                redis_cache, frame, args.repeat
            )
        finally:
            redis_cache.clear()
    with (
        tempfile.TemporaryDirectory() as directory,
        EmbeddedCache(directory, namespace=namespace) as embedded,
    ):
        results["embedded get_entry"], results["embedded read_through hit"] = bench_cache(
            embedded, frame, args.repeat
        )
    results["postgresql read_sql"] = bench_postgres(frame, args.repeat)

    pg = results["postgresql read_sql"]
    width = max(map(len, results))
    for name, ms in results.items():
        ratio = "" if name.startswith("postgresql") else f"  {pg / ms:6.1f}x faster than PG"
        flag = "" if name.startswith("postgresql") or ms < TARGET_MS else "  (over target)"
        print(f"{name:<{width}}  {ms:8.2f} ms{ratio}{flag}")


if __name__ == "__main__":
    main()
