"""The trade browser's queries with a million trades on PostgreSQL.

    python bench/bench_trades.py [--trades 1000000]

Fills a scratch database (on WORKBENCH_BENCH_PG_URL, created and dropped by the run) with
trades of 20 bots over 5 symbols and two years, then times what the browser asks for: the
first page, a page deep in the history, a filtered page, the totals and PnL per day
(median of 5 runs each). Peer: reading every trade into pandas and filtering there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from workbench.bots.trades import pnl_per_day, query_trades, trade_totals
from workbench.db import Base, make_engine

ADMIN_URL = os.environ.get(
    "WORKBENCH_BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
FILL = """
INSERT INTO users (email, password_hash) VALUES ('bench@local', 'x');
INSERT INTO bot_configs (owner_id, name, exchange, symbol, timeframe, strategy, is_active,
    dry_run, position_type, initial_capital, position_size_perc, trailing_stop_active,
    max_daily_trades, check_interval_seconds, ema_fast, ema_slow, ema_period, rsi_period,
    rsi_oversold, rsi_overbought, leverage, auto_transfer_funds)
SELECT 1, 'bot' || i, 'paper', 'BTC/USDT', '5m', 'ema_cross', false, true, 'spot', 1000, 100,
    false, 10, 60, 12, 26, 200, 14, 30, 70, 1, false
FROM generate_series(1, 20) AS i;
INSERT INTO trades (bot_id, owner_id, exchange, exchange_order_id, client_order_id, symbol,
    side, order_type, price, quantity, quote_quantity, commission, realized_pnl, executed_at)
SELECT 1 + i % 20, 1, 'paper', 'o' || i, 'c' || i,
    (ARRAY['BTC/USDT','ETH/USDT','SOL/USDT','XRP/USDT','ADA/USDT'])[1 + i % 5],
    CASE WHEN i % 2 = 0 THEN 'buy' ELSE 'sell' END, 'market', 100 + i % 50, 0.5,
    50 + (i % 50) / 2.0, 0.05, CASE WHEN i % 2 = 1 THEN (i % 7) - 3 END,
    timestamptz '2023-01-01 00:00+00' + i * interval '1 minute' * 1.05
FROM generate_series(1, :n) AS i;
ANALYZE trades;
"""


def median_ms(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trades", type=int, default=1_000_000)
    args = parser.parse_args()
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"wb_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(ADMIN_URL).set(database=name).render_as_string(False))
    try:
        Base.metadata.create_all(engine)
        with engine.begin() as conn:
            for statement in FILL.split(";"):
                if statement.strip():
                    conn.execute(sa.text(statement), {"n": args.trades})
        window = {
            "start": datetime(2023, 6, 1, tzinfo=UTC),
            "end": datetime(2023, 7, 1, tzinfo=UTC),
        }
        filtered = {"bot_id": 7, "symbol": "XRP/USDT", "side": "sell", **window}
        with Session(engine) as session:
            deep = args.trades // 50 // 2
            figures = {
                "first page (50 newest)": median_ms(lambda: query_trades(session=session)),
                f"page {deep} (offset {deep * 50:,})": median_ms(
                    lambda: query_trades(session=session, page=deep)
                ),
                "filtered page (bot, symbol, side, a month)": median_ms(
                    lambda: query_trades(session=session, **filtered)
                ),
                "totals, all trades": median_ms(lambda: trade_totals(session=session)),
                "totals, filtered": median_ms(lambda: trade_totals(session=session, **filtered)),
                "PnL per day, all trades": median_ms(lambda: pnl_per_day(session=session)),
            }

            def peer() -> None:
                frame = pd.read_sql(
                    sa.select(sa.text("*")).select_from(sa.text("trades")), session.connection()
                )
                chosen = frame[(frame.bot_id == 7) & (frame.symbol == "XRP/USDT")]
                chosen.sort_values("executed_at").tail(50)

            peer_ms = median_ms(peer, runs=1)
        print(f"{args.trades:,} trades on PostgreSQL (median of 5 runs)")
        for label, ms in figures.items():
            print(f"  {label:45} {ms:9.1f} ms")
        filtered_ms = figures["filtered page (bot, symbol, side, a month)"]
        print(
            f"  peer: read all into pandas and filter      {peer_ms:9.1f} ms "
            f"({peer_ms / filtered_ms:.0f}x the filtered page)"
        )
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
