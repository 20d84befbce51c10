"""CLI start and a 500,000-candle import, timed as a user times them (the whole command).

    python bench/bench_cli.py [--repeat 7] [--rows 500000]

1. ``workbench --help`` against ``python -c "import typer, sqlalchemy"`` (the floor any
   typer + SQLAlchemy command pays): median of --repeat runs each, and the ratio
   (target: within 1.5x).
2. ``workbench data import FILE`` of --rows one-minute candles (a CSV written here) into a
   fresh PostgreSQL database, the whole command, against ``upsert_candles`` itself (the
   binary COPY) on the same rows in this process, and the ratio.

Uses the ``workbench`` script beside this interpreter and a scratch database on
WORKBENCH_BENCH_PG_URL (default: the local server's `test` database as admin), created and
dropped by the run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get(
    "WORKBENCH_BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
WORKBENCH = str(Path(sys.executable).with_name("workbench"))


def run_seconds(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def median_seconds(command: list[str], repeat: int) -> float:
    run_seconds(command)  # warm the file cache and the bytecode
    return statistics.median(run_seconds(command) for _ in range(repeat))


def bench_help(repeat: int) -> None:
    floor = median_seconds([sys.executable, "-c", "import typer, sqlalchemy"], repeat)
    ours = median_seconds([WORKBENCH, "--help"], repeat)
    print(f"1. CLI start, median of {repeat} runs")
    print(f"   python -c 'import typer, sqlalchemy'   {floor:7.3f} s")
    print(f"   workbench --help                      {ours:7.3f} s")
    print(f"   ratio                                 {ours / floor:7.2f}x (target: within 1.5x)")


def scratch_database(admin: sa.Engine) -> str:
    name = f"wb_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(admin: sa.Engine, url: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


def bench_import(rows: int) -> None:
    from workbench.db import Base, make_engine
    from workbench.db.migrate import upgrade
    from workbench.market import candles as store
    from workbench.market.sample import sample_candles

    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    frame = sample_candles(rows, timeframe="1m", seed=1, start=datetime(2020, 1, 1, tzinfo=UTC))
    key = {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1m"}
    urls = [scratch_database(admin), scratch_database(admin)]
    try:
        with tempfile.TemporaryDirectory() as folder:
            csv = store.write_file(frame, Path(folder) / "candles.csv")
            env = {
                **os.environ,
                "WORKBENCH_HOME": str(Path(folder) / "home"),
                "WORKBENCH_DATABASE_URL": urls[0],
            }
            run_seconds([WORKBENCH, "init"], env)
            options = [f"--{k}={v}" for k, v in key.items()]
            command = run_seconds([WORKBENCH, "data", "import", str(csv), *options], env)
        upgrade(urls[1])
        engine = make_engine(urls[1])
        Base.metadata.create_all(engine)
        start = time.perf_counter()
        store.upsert_candles(engine=engine, frame=frame, **key)
        copy = time.perf_counter() - start
        engine.dispose()
    finally:
        for url in urls:
            drop_database(admin, url)
        admin.dispose()
    print(f"2. `workbench data import` of {rows:,} 1m candles (CSV) into PostgreSQL")
    print(f"   whole command      {command:7.3f} s   {rows / command / 1e3:8.0f}k rows/s")
    print(f"   upsert_candles     {copy:7.3f} s   {rows / copy / 1e3:8.0f}k rows/s (binary COPY)")
    print(f"   ratio              {command / copy:7.2f}x (command / COPY)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rows", type=int, default=500_000)
    args = parser.parse_args()
    bench_help(args.repeat)
    bench_import(args.rows)


if __name__ == "__main__":
    main()
