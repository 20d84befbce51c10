"""Candle store against pandas on PostgreSQL: ingest 500,000 and read back 200,000 candles.

    python bench/bench_candles.py [--rows 500000] [--read 200000]

Uses a scratch database on WORKBENCH_BENCH_PG_URL (default: the local server's `test`
database as admin), created and dropped by the run. Peers: ``DataFrame.to_sql`` (default
method, one INSERT per row batch as pandas does it) and ``pandas.read_sql`` of the same rows.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from workbench.db import Base, make_engine
from workbench.market import candles as store
from workbench.market.sample import sample_candles

ADMIN_URL = os.environ.get(
    "WORKBENCH_BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--read", type=int, default=200_000)
    args = parser.parse_args()

    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"wb_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(ADMIN_URL).set(database=name).render_as_string(False))
    try:
        Base.metadata.create_all(engine)
        frame = sample_candles(
            args.rows, timeframe="1m", seed=1, start=datetime(2020, 1, 1, tzinfo=UTC)
        )
        key = {"exchange": "bench", "symbol": "BTC/USDT", "timeframe": "1m"}

        ours = timed(lambda: store.upsert_candles(engine=engine, frame=frame, **key))
        again = timed(lambda: store.upsert_candles(engine=engine, frame=frame, **key))
        peer_frame = frame.reset_index()
        peer_frame.insert(0, "open_time", peer_frame.pop("time").astype("int64") // 10**6)
        peer = timed(
            lambda: peer_frame.to_sql("candles_to_sql", engine, index=False, chunksize=10_000)
        )
        print(f"ingest {args.rows:,} 1m candles into PostgreSQL")
        print(f"  candle store upsert   {ours:6.2f} s  {args.rows / ours:12,.0f} rows/s")
        print(f"  (same rows again)     {again:6.2f} s  {args.rows / again:12,.0f} rows/s")
        print(f"  DataFrame.to_sql      {peer:6.2f} s  {args.rows / peer:12,.0f} rows/s")
        print(f"  ratio                 {peer / ours:6.1f}x faster (target: >= 300,000 rows/s, 8x)")

        start = frame.index[0].to_pydatetime()
        end = frame.index[args.read].to_pydatetime()
        result: dict[str, pd.DataFrame] = {}

        def read_ours() -> None:
            result["ours"] = store.read_candles(engine=engine, start=start, end=end, **key)

        def read_peer() -> None:
            query = sa.text(
                "SELECT c.open_time, c.open, c.high, c.low, c.close, c.volume FROM candles c "
                "JOIN candle_series s ON s.id = c.series_id WHERE s.exchange = :e AND "
                "s.symbol = :s AND s.timeframe = :t AND c.open_time >= :a AND c.open_time < :b "
                "ORDER BY c.open_time"
            )
            params = {
                "e": "bench",
                "s": "BTC/USDT",
                "t": "1m",
                "a": int(start.timestamp() * 1000),
                "b": int(end.timestamp() * 1000),
            }
            raw = pd.read_sql(query, engine, params=params)
            raw.index = pd.to_datetime(raw.pop("open_time"), unit="ms", utc=True)
            result["peer"] = raw

        read_ours()  # warm both paths once
        read_peer()
        ours_read = min(timed(read_ours) for _ in range(5))
        peer_read = min(timed(read_peer) for _ in range(5))
        assert len(result["ours"]) == len(result["peer"]) == args.read
        print(f"read {args.read:,} candles into a DataFrame (best of 5)")
        print(f"  candle store read     {ours_read * 1000:8.1f} ms")
        print(f"  pandas.read_sql       {peer_read * 1000:8.1f} ms")
        print(f"  ratio                 {peer_read / ours_read:6.1f}x faster (target: 10x)")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
