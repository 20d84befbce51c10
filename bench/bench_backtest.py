"""Backtest, sweep and tick speed, each against a peer measured in the same run.

    python bench/bench_backtest.py [--bars 500000] [--sweep-bars 100000] [--ticks 300]

1. One EMA-cross backtest with stop loss and take profit over 500,000 one-minute bars:
   the workbench against backtesting.py on the same data and rules (target: 50x).
2. A sweep of every ema_fast x ema_slow pair from 5 to 54 (1,225 sets) over 100,000 bars,
   in bar-sets per second, against a straightforward vectorbt use (MA.run_combs +
   Portfolio.from_signals) (target: 100 million bar-sets/s, or 10x vectorbt).
3. One paper tick with candles in memory: median latency (target: under 20 ms).
Compilation is warmed up first for every engine; all data is synthetic (sample_candles).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.accounts import local_user
from workbench.backtest import run_backtest, run_sweep
from workbench.bots import create_bot
from workbench.bots.runner import run_tick
from workbench.cache import EmbeddedCache
from workbench.db import Base, make_engine, session_scope
from workbench.market.candles import upsert_candles
from workbench.market.paper import PaperExchange, PaperTerms
from workbench.market.prices import ReplayPrices
from workbench.market.sample import sample_candles
from workbench.rules import RuleParams
from workbench.strategies import indicators as ind

FEE, SL, TP, FAST, SLOW = 0.001, 0.02, 0.04, 12, 26


def bench_backtest(bars: int) -> None:
    from backtesting import Backtest, Strategy

    candles = sample_candles(bars, timeframe="1m", seed=3)
    rules = RuleParams(fee=FEE, stop_loss=SL, take_profit=TP)
    params = {"ema_fast": FAST, "ema_slow": SLOW}
    run_backtest(candles.iloc[:1000], strategy="ema_cross", params=params, rules=rules)
    start = time.perf_counter()
    ours = run_backtest(candles, strategy="ema_cross", params=params, rules=rules)
    ours.stats()
    ours_s = time.perf_counter() - start

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
        start = time.perf_counter()
        stats = Backtest(
            frame, EmaCross, cash=1_000_000, commission=FEE, finalize_trades=False
        ).run()
        peer_s = time.perf_counter() - start
    print(f"1. EMA cross + SL/TP backtest over {bars:,} 1m bars")
    print(f"   workbench        {ours_s:8.3f} s   ({len(ours.closed_trades)} trades)")
    print(
        f"   backtesting.py   {peer_s:8.3f} s   ({stats['# Trades']} trades; its stops fill "
        "inside the bar, ours at the next open)"
    )
    print(f"   ratio            {peer_s / ours_s:8.1f}x faster (target 50x)")


def bench_sweep(bars: int) -> None:
    import vectorbt as vbt

    candles = sample_candles(bars, timeframe="1m", seed=4)
    windows = list(range(5, 55))
    grid = {"ema_fast": windows, "ema_slow": windows}
    rules = RuleParams(fee=FEE)
    run_sweep(candles.iloc[:2000], strategy="ema_cross", grid=grid, rules=rules, progress=False)
    start = time.perf_counter()
    table = run_sweep(candles, strategy="ema_cross", grid=grid, rules=rules, progress=False)
    ours_s = time.perf_counter() - start
    sets = len(table)

    close = candles["close"]

    def vectorbt_sweep(series: pd.Series) -> pd.Series:
        fast, slow = vbt.MA.run_combs(
            series, window=windows, r=2, ewm=True, short_names=["fast", "slow"]
        )
        entries, exits = fast.ma_crossed_above(slow), fast.ma_crossed_below(slow)
        portfolio = vbt.Portfolio.from_signals(series, entries, exits, fees=FEE, freq="1min")
        return portfolio.total_return()

    vectorbt_sweep(close.iloc[:2000])
    start = time.perf_counter()
    peer = vectorbt_sweep(close)
    peer_s = time.perf_counter() - start
    ours_rate, peer_rate = bars * sets / ours_s, bars * len(peer) / peer_s
    print(f"2. sweep of {sets:,} ema_fast x ema_slow sets over {bars:,} bars")
    print(f"   workbench        {ours_s:8.3f} s   {ours_rate / 1e6:10.1f} M bar-sets/s")
    print(f"   vectorbt         {peer_s:8.3f} s   {peer_rate / 1e6:10.1f} M bar-sets/s")
    print(f"   ratio            {ours_rate / peer_rate:8.1f}x (target: 100 M bar-sets/s or 10x)")


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
        with EmbeddedCache(Path(folder) / "cache") as cache:
            for moment in candles.index[1000:]:
                prices.advance_to(moment.to_pydatetime())
                start = time.perf_counter()
                run_tick(bot_id, engine=engine, exchange=paper, cache=cache, history=1000)
                times.append(time.perf_counter() - start)
        engine.dispose()
    warm = times[5:]
    print(f"3. paper tick (SQLite, 1,000 bars of history in memory), {len(warm)} ticks")
    print(
        f"   median           {statistics.median(warm) * 1000:8.2f} ms   "
        f"p95 {np.percentile(warm, 95) * 1000:.2f} ms (target: under 20 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=500_000)
    parser.add_argument("--sweep-bars", type=int, default=100_000)
    parser.add_argument("--ticks", type=int, default=300)
    args = parser.parse_args()
    bench_tick(args.ticks)
    bench_backtest(args.bars)
    bench_sweep(args.sweep_bars)


if __name__ == "__main__":
    main()
