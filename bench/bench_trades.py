"""The trade browser's queries with a million trades, on PostgreSQL and SQLite.

    python bench/bench_trades.py [--trades 1000000] [--only postgresql|sqlite]

Fills a scratch database of each kind (PostgreSQL on WORKBENCH_BENCH_PG_URL, created and
dropped by the run; SQLite in a temporary file) with trades of 20 bots over 5 symbols and
two years, bot, symbol and side spread by a hash of the row number (the same rows on both).
Then times what the browser asks for (median of 5 runs): pages by key and by number,
filtered pages, totals, PnL per day (which is what Apply runs: the totals come from it),
the symbol list, and the widget itself. Peer: reading every trade into pandas and
filtering there (once).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from workbench.bots.trades import cursor_of, pnl_per_day, query_trades, trade_symbols, trade_totals
from workbench.db import Base, make_engine
from workbench.widgets.trades import TradeBrowser

ADMIN_URL = os.environ.get(
    "WORKBENCH_BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
BOTS = """
INSERT INTO users (email, hashed_password) VALUES ('bench@local', 'x');
INSERT INTO bot_configs (user_id, name, exchange, symbol, timeframe, strategy, is_active,
    dry_run, position_type, initial_capital, position_size_perc, trailing_stop_active,
    max_daily_trades, check_interval_seconds, ema_fast, ema_slow, ema_period, rsi_period,
    rsi_oversold, rsi_overbought, leverage, auto_transfer_funds)
SELECT 1, 'bot' || i, 'paper', 'BTC/USDT', '5m', 'ema_cross', false, true, 'spot', 1000, 100,
    false, 10, 60, 12, 26, 200, 14, 30, 70, 1, false
FROM {numbers} WHERE i <= 20
"""
TRADES = """
INSERT INTO trades (bot_config_id, user_id, exchange, exchange_order_id, client_order_id, symbol,
    side, order_type, price, quantity_filled, quote_quantity_filled, commission_amount,
    realized_pnl, timestamp)
SELECT 1 + h / 65536 % 20, 1, 'paper', 'o' || i, 'c' || i,
    CASE h / 256 % 5 WHEN 0 THEN 'BTC/USDT' WHEN 1 THEN 'ETH/USDT' WHEN 2 THEN 'SOL/USDT'
        WHEN 3 THEN 'XRP/USDT' ELSE 'ADA/USDT' END,
    CASE WHEN h / 1048576 % 2 = 0 THEN 'buy' ELSE 'sell' END, 'market', 100 + i % 50, 0.5,
    50 + (i % 50) / 2.0, 0.05, CASE WHEN h / 1048576 % 2 = 1 THEN (i % 7) - 3 END, {time}
FROM (SELECT i, {hash} AS h FROM {numbers}) AS g
"""
DIALECT = {
    "postgresql": {
        "numbers": "generate_series(1, :n) AS s(i)",
        "hash": "i::bigint * 2654435761 % 4294967296",
        "time": "timestamptz '2023-01-01 00:00+00' + i * interval '63 seconds'",
        "after": "VACUUM ANALYZE trades",  # what autovacuum does soon after a bulk load
    },
    "sqlite": {
        "numbers": "n",
        "hash": "i * 2654435761 % 4294967296",
        "time": "strftime('%Y-%m-%d %H:%M:%S', '2023-01-01', '+' || (i * 63) || ' seconds')"
        " || '.000000'",
        "after": "ANALYZE",
    },
}
SQLITE_NUMBERS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :n) "


def median_ms(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@contextmanager
def scratch(kind: str) -> Iterator[Engine]:
    """An empty database of ``kind`` with every table, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
            Base.metadata.create_all(engine)
            yield engine
            engine.dispose()
        return
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"wb_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(ADMIN_URL).set(database=name).render_as_string(False))
    try:
        Base.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def fill(engine: Engine, trades: int) -> float:
    kind = engine.dialect.name
    parts = DIALECT[kind]
    prefix = SQLITE_NUMBERS if kind == "sqlite" else ""
    start = time.perf_counter()
    with engine.begin() as conn:
        for statement in (*BOTS.split(";"), TRADES):
            if statement.strip():
                sql = prefix + statement.format(**parts)
                conn.execute(sa.text(sql), {"n": trades})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(parts["after"]))
    return time.perf_counter() - start


def bench(engine: Engine, trades: int) -> None:
    kind = engine.dialect.name
    filled = fill(engine, trades)
    window = {"start": datetime(2023, 6, 1, tzinfo=UTC), "end": datetime(2023, 7, 1, tzinfo=UTC)}
    narrow = {"bot_id": 7, "symbol": "XRP/USDT", "side": "sell", **window}
    deep = trades // 50 // 2
    with Session(engine) as session:
        middle = cursor_of(query_trades(session=session, page=deep).iloc[-1])
        shown = {
            "narrow": len(query_trades(session=session, page_size=10_000, **narrow)),
            "bot": trade_totals(session=session, bot_id=7)["count"],
        }
        figures = {
            "first page (50 newest)": lambda: query_trades(session=session),
            f"next page by key at row {deep * 50:,}": lambda: query_trades(
                session=session, before=middle
            ),
            f"page {deep:,} by number (OFFSET {deep * 50:,})": lambda: query_trades(
                session=session, page=deep
            ),
            "oldest page": lambda: query_trades(session=session, from_oldest=True),
            f"page: bot, symbol, side, a month ({shown['narrow']} rows)": lambda: query_trades(
                session=session, **narrow
            ),
            f"page: one bot ({shown['bot']:,} rows)": lambda: query_trades(
                session=session, bot_id=7
            ),
            "page: sells": lambda: query_trades(session=session, side="sell"),
            "totals, all trades": lambda: trade_totals(session=session),
            "totals, bot, symbol, side, a month": lambda: trade_totals(session=session, **narrow),
            "PnL per day (Apply), all trades": lambda: pnl_per_day(session=session),
            "PnL per day (Apply), one bot": lambda: pnl_per_day(session=session, bot_id=7),
            "symbol list": lambda: trade_symbols(session=session),
        }
        timings = {label: median_ms(fn) for label, fn in figures.items()}

        def peer() -> None:
            frame = pd.read_sql(sa.text("SELECT * FROM trades"), session.connection())
            chosen = frame[(frame.bot_config_id == 7) & (frame.symbol == "XRP/USDT")]
            chosen.sort_values("timestamp").tail(50)

        peer_ms = median_ms(peer, runs=1)
    opened = median_ms(lambda: TradeBrowser(engine), runs=1)
    browser = TradeBrowser(engine)
    older = median_ms(browser.next_page.click)
    print(f"\n{trades:,} trades on {kind} (filled in {filled:.1f} s; median of 5 runs)")
    for label, ms in timings.items():
        print(f"  {label:48} {ms:9.1f} ms")
    print(f"  {'TradeBrowser() (totals, plots, first page)':48} {opened:9.1f} ms")
    print(f"  {'TradeBrowser: Older click':48} {older:9.1f} ms")
    print(f"  {'peer: read all into pandas and filter':48} {peer_ms:9.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["postgresql", "sqlite"])
    args = parser.parse_args()
    for kind in ("postgresql", "sqlite"):
        if args.only in (None, kind):
            with scratch(kind) as engine:
                bench(engine, args.trades)


if __name__ == "__main__":
    main()
