"""`bot replay` speed: ticks per second of a bot with stops over real 5m candles, on SQLite,
against its peer in the same run: the backtest of the same bot over the same bars.

    python bench/bench_replay.py [--bars 3000] [--data ../shared/data/ETH_BTC-5m.csv]

Prints the replay's ticks/s, the backtest's bars/s (both warm: compiled code cached and
loaded, the replay's by a first replay with trades), their ratio, and whether both made
the same trades (the parity tests are the judge; this only says so for the run measured).
Each figure is given by the wall clock and by this process's CPU time: on a shared machine
the wall clock also counts the time other processes had the cores (the CPU figure is what
an idle core would give).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from workbench.accounts import local_user
from workbench.backtest import backtest_config
from workbench.bots import create_bot
from workbench.bots.replay import replay_bot
from workbench.db import Base, make_engine, session_scope
from workbench.market.candles import read_candles, read_file, upsert_candles

DATA = Path(os.environ.get("WORKBENCH_SHARED_DATA", "/work/shared/data")) / "ETH_BTC-5m.csv"
BOT = {
    "name": "bench",
    "exchange": "binance",
    "symbol": "ETH/BTC",
    "timeframe": "5m",
    "strategy": "ema_cross",
    "ema_fast": 9,
    "ema_slow": 21,
    "stop_loss_perc": "1.5",
    "take_profit_perc": "3",
    "trailing_stop_active": True,
    "trailing_stop_perc": "2",
    "max_daily_trades": 6,
    "initial_capital": "1000",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=3000)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    frame = read_file(args.data).iloc[: args.bars]
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        Base.metadata.create_all(engine)
        upsert_candles(
            engine=engine, exchange="binance", symbol="ETH/BTC", timeframe="5m", frame=frame
        )
        with session_scope(engine) as session:
            bot = create_bot(session=session, user_id=local_user(session=session).id, **BOT)
            bot_id = bot.id
        candles = read_candles(engine=engine, exchange="binance", symbol="ETH/BTC", timeframe="5m")
        with session_scope(engine) as session:
            bot = session.merge(bot)
            backtest_config(candles, bot, fee=0.001)  # compile / load the engine once
            wall, cpu = time.perf_counter(), time.process_time()
            backtest = backtest_config(candles, bot, fee=0.001)
            backtest_s = (time.perf_counter() - wall, time.process_time() - cpu)
        # Warm: the engine's entry and exit code loads on a replay's first trade.
        replay_bot(bot_id, engine=engine, fee=0.001, progress=False, end=candles.index[500])
        wall, cpu = time.perf_counter(), time.process_time()
        replay = replay_bot(bot_id, engine=engine, fee=0.001, progress=False)
        replay_s = (time.perf_counter() - wall, time.process_time() - cpu)
        engine.dispose()
    ticks, bars = len(replay.ticks), len(frame)
    same = replay.trades[["entry_time", "exit_time", "exit_reason"]].equals(
        backtest.trades[["entry_time", "exit_time", "exit_reason"]]
    )
    print(f"bars {bars}  trades {len(backtest.trades)}  same trades: {same}")
    for clock, i in (("wall", 0), ("cpu", 1)):
        print(
            f"{clock:4s}  replay {ticks / replay_s[i]:8.0f} ticks/s ({replay_s[i]:.2f} s)   "
            f"backtest {bars / backtest_s[i]:9.0f} bars/s ({backtest_s[i] * 1000:.1f} ms)   "
            f"backtest / replay: {replay_s[i] / ticks * bars / backtest_s[i]:.0f}x"
        )


if __name__ == "__main__":
    main()
