"""Backtest, sweep and tick speed, each against a peer measured in the same run.

    python bench/bench_backtest.py [--bars 500000] [--sweep-bars 100000] [--ticks 300]
                                   [--only backtest,sweep,memory,tick]

1. One EMA-cross backtest with stop loss and take profit over 500,000 one-minute bars:
   the workbench (strategy -> engine -> trades -> stats, as ``run_backtest(...).stats()``)
   against backtesting.py on the same data and rules (target: 100x), and against the bare
   compiled engine loop (``simulate``) over the same arrays (target: within 3x).
2. A sweep of every ema_fast x ema_slow pair from 5 to 54 (1,225 sets) over 100,000 bars,
   in bar-sets per second, against the best vectorbt configuration available here
   (MA.run_combs + Portfolio.from_signals on its numba engine, and on its Rust engine when
   the vectorbt-rust package is importable) (target: 50 M bar-sets/s on 2 cores, and 10x).
3. Memory of a sweep of 10,000 sets over the same bars, in a fresh process: peak resident
   memory, and what the sweep added to it (bounded: the sets are run in chunks and no
   flag matrices are kept).
4. One paper tick with candles in memory: median latency (target: under 20 ms).
Compilation is warmed up first for every engine; all data is synthetic (sample_candles).
Timings are the best of several runs (backtesting.py: of two), as the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.accounts import local_user
from workbench.backtest import run_backtest, run_sweep
from workbench.bots import create_bot
from workbench.bots.runner import run_tick
from workbench.db import Base, make_engine, session_scope
from workbench.market.candles import upsert_candles
from workbench.market.paper import PaperExchange, PaperTerms
from workbench.market.prices import ReplayPrices
from workbench.market.sample import sample_candles
from workbench.rules import RuleParams, simulate
from workbench.strategies import get_strategy
from workbench.strategies import indicators as ind

FEE, SL, TP, FAST, SLOW = 0.001, 0.02, 0.04, 12, 26


def best_seconds(fn: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs: on a shared machine the others measure the load."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_backtest(bars: int) -> None:
    from backtesting import Backtest, Strategy

    candles = sample_candles(bars, timeframe="1m", seed=3)
    rules = RuleParams(fee=FEE, stop_loss=SL, take_profit=TP)
    params = {"ema_fast": FAST, "ema_slow": SLOW}
    run_backtest(candles.iloc[:1000], strategy="ema_cross", params=params, rules=rules).stats()
    ours = run_backtest(candles, strategy="ema_cross", params=params, rules=rules)
    ours_s = best_seconds(
        lambda: run_backtest(candles, strategy="ema_cross", params=params, rules=rules).stats(),
        7,
    )
    signals = get_strategy("ema_cross").signals(candles, **params)
    times = candles.index.as_unit("ms").asi8
    prices = [candles[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close")]
    entries, exits = signals.entries.to_numpy(), signals.exits.to_numpy()
    bare_s = best_seconds(lambda: simulate(times, *prices, entries, exits, rules.to_array()), 7)

    class EmaCross(Strategy):
        def init(self) -> None:
            close = np.asarray(self.data.Close, dtype=float)
            self.fast = self.I(ind.ema, close, FAST)
            self.slow = self.I(ind.ema, close, SLOW)

        def next(self) -> None:
            f, s = self.fast, self.slow
            if f[-1] > s[-1] and f[-2] <= s[-2] and not self.position:
                price = self.data.Close[-1]
                self.buy(sl=price * (1 - SL), tp=price * (1 + TP))
            elif f[-1] < s[-1] and f[-2] >= s[-2] and self.position:
                self.position.close()

    frame = candles.rename(columns=str.capitalize)
    frame.index = frame.index.tz_localize(None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = Backtest(frame, EmaCross, cash=1_000_000, commission=FEE, finalize_trades=False)
        start = time.perf_counter()
        stats = peer.run()
        first_s = time.perf_counter() - start
        peer_s = min(first_s, best_seconds(peer.run, 1))
    print(f"1. EMA cross + SL/TP backtest over {bars:,} 1m bars")
    print(
        f"   workbench run_backtest + stats  {ours_s:8.3f} s   ({len(ours.closed_trades)} trades)"
    )
    print(f"   bare engine loop (simulate)     {bare_s:8.3f} s   same arrays and signals")
    print(
        f"   backtesting.py                  {peer_s:8.3f} s   ({stats['# Trades']} trades; its "
        "stops fill inside the bar, ours at the next open)"
    )
    print(f"   backtesting.py, first run       {first_s:8.3f} s   (the ratio uses the faster run)")
    print(f"   vs backtesting.py               {peer_s / ours_s:8.1f}x faster (target 100x)")
    print(f"   path / bare engine              {ours_s / bare_s:8.2f}x (target: within 3x)")


def vectorbt_peers(close: pd.Series, windows: list[int]) -> dict[str, float]:
    """Seconds of the vectorbt sweep on each engine available here."""
    import vectorbt as vbt
    from vectorbt._engine import is_rust_available

    def vectorbt_sweep(series: pd.Series, engine: str) -> pd.Series:
        fast, slow = vbt.MA.run_combs(
            series, window=windows, r=2, ewm=True, short_names=["fast", "slow"]
        )
        entries, exits = fast.ma_crossed_above(slow), fast.ma_crossed_below(slow)
        portfolio = vbt.Portfolio.from_signals(
            series, entries, exits, fees=FEE, freq="1min", engine=engine
        )
        return portfolio.total_return()

    engines = ["numba", "rust"] if is_rust_available() else ["numba"]
    seconds = {}
    for engine in engines:
        vectorbt_sweep(close.iloc[:2000], engine)
        seconds[engine] = best_seconds(lambda e=engine: vectorbt_sweep(close, e), 2)
    return seconds


def bench_sweep(bars: int) -> None:
    candles = sample_candles(bars, timeframe="1m", seed=4)
    windows = list(range(5, 55))
    grid = {"ema_fast": windows, "ema_slow": windows}
    rules = RuleParams(fee=FEE)
    run_sweep(candles.iloc[:2000], strategy="ema_cross", grid=grid, rules=rules, progress=False)
    sets = len(run_sweep(candles, strategy="ema_cross", grid=grid, rules=rules, progress=False))
    ours_s = best_seconds(
        lambda: run_sweep(candles, strategy="ema_cross", grid=grid, rules=rules, progress=False),
        5,
    )
    peers = vectorbt_peers(candles["close"], windows)
    best = min(peers, key=peers.__getitem__)
    ours_rate = bars * sets / ours_s
    print(f"2. sweep of {sets:,} ema_fast x ema_slow sets over {bars:,} bars")
    print(f"   workbench          {ours_s:8.3f} s   {ours_rate / 1e6:10.1f} M bar-sets/s")
    for engine, seconds in peers.items():
        rate = bars * sets / seconds
        print(f"   vectorbt ({engine:5}) {seconds:8.3f} s   {rate / 1e6:10.1f} M bar-sets/s")
    print(
        f"   vs best vectorbt   {peers[best] / ours_s:8.1f}x (its {best} engine; "
        "target: 10x, and 50 M bar-sets/s)"
    )


MEMORY_CHILD = """
import json, sys
from pathlib import Path
from workbench.backtest import run_sweep
from workbench.market.sample import sample_candles

def kb(field):  # this process's memory (VmHWM: its peak resident set, VmRSS: now)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])

bars = int(sys.argv[1])
candles = sample_candles(bars, timeframe="1m", seed=4)
grid = {"ema_fast": list(range(5, 105)), "ema_slow": list(range(105, 205))}
run_sweep(candles.iloc[:2000], strategy="ema_cross", grid=grid, progress=False)
before = kb("VmRSS")
Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from now
table = run_sweep(candles, strategy="ema_cross", grid=grid, progress=False)
print(json.dumps({"sets": len(table), "before_kb": before, "after_kb": kb("VmHWM")}))
"""


def bench_memory(bars: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(bars)], capture_output=True, text=True, check=True
    )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    sets = got["sets"]
    flags_mb = 2 * sets * bars / 1e6
    lines_mb = 200 * bars * 8 / 1e6
    print(f"3. memory of a sweep of {sets:,} sets over {bars:,} bars (fresh process)")
    print(f"   resident before    {got['before_kb'] / 1e3:8.0f} MB   (imports, candles, code)")
    print(f"   peak during sweep  {got['after_kb'] / 1e3:8.0f} MB")
    print(
        f"   added at the peak {(got['after_kb'] - got['before_kb']) / 1e3:8.0f} MB   "
        f"(its 200 EMA lines: {lines_mb:.0f} MB; flag matrices would be {flags_mb:,.0f} MB)"
    )


def bench_tick(ticks: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'tick.db'}")
        Base.metadata.create_all(engine)
        candles = sample_candles(1000 + ticks, timeframe="1m", seed=5)
        upsert_candles(
            engine=engine, exchange="synthetic", symbol="BTC/USDT", timeframe="1m", frame=candles
        )
        with session_scope(engine) as session:
            owner = local_user(session=session)
            bot_id = create_bot(
                session=session,
                user_id=owner.id,
                name="bench",
                exchange="synthetic",
                symbol="BTC/USDT",
                timeframe="1m",
                strategy="ema_cross",
                ema_fast=5,
                ema_slow=13,
            ).id
        prices = ReplayPrices(
            engine=engine,
            exchange="synthetic",
            timeframe="1m",
            symbols=["BTC/USDT"],
            start=candles.index[1000].to_pydatetime(),
        )
        paper = PaperExchange(
            engine=engine,
            prices=prices,
            terms=PaperTerms(),
            initial_balances={"USDT": Decimal(1000)},
        )
        times = []
        for moment in candles.index[1000:]:
            prices.advance_to(moment.to_pydatetime())
            start = time.perf_counter()
            run_tick(bot_id, engine=engine, exchange=paper, history=1000)
            times.append(time.perf_counter() - start)
        engine.dispose()
    warm = times[5:]
    print(f"4. paper tick (SQLite, 1,000 bars of history in memory), {len(warm)} ticks")
    print(
        f"   median           {statistics.median(warm) * 1000:8.2f} ms   "
        f"p95 {np.percentile(warm, 95) * 1000:.2f} ms (target: under 20 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=500_000)
    parser.add_argument("--sweep-bars", type=int, default=100_000)
    parser.add_argument("--ticks", type=int, default=300)
    parser.add_argument("--only", default="backtest,sweep,memory,tick")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if "backtest" in parts:
        bench_backtest(args.bars)
    if "sweep" in parts:
        bench_sweep(args.sweep_bars)
    if "memory" in parts:
        bench_memory(args.sweep_bars)
    if "tick" in parts:
        bench_tick(args.ticks)


if __name__ == "__main__":
    main()
