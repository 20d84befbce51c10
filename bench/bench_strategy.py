"""The strategy layer's cost, and sweeps of a user strategy on all cores.

    python bench/bench_strategy.py [--bars 500000] [--sweep-bars 100000] [--sets 48]

1. A vectorised user strategy (a Donchian breakout in pandas) over 500,000 bars:
   ``strategy.signals(...)`` (validation of parameters and of the returned signals)
   against calling the function directly (target: under 10 % overhead). The backtest of
   the same signals is shown beside it, as the engine's share.
2. A sweep of that strategy (window x exit_window) in bar-sets per second, its sets
   spread over all cores in processes, beside the built-in ema_cross sweep (compiled
   batch rule) on the same bars.
Best of 11 interleaved runs for the timings of 1 (and the layer's own work timed alone,
which a loaded machine does not blur); data is synthetic (sample_candles).
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd

import workbench as wb
from workbench.backtest import run_backtest, run_sweep
from workbench.market.sample import sample_candles
from workbench.rules import RuleParams
from workbench.strategies.base import close_prices
from workbench.strategies.parallel import cores


@wb.strategy(
    params={
        "window": wb.Int(20, low=5, high=500),
        "exit_window": wb.Int(10, low=2, high=500),
        "min_range": wb.Float(0.0, low=0.0, high=0.2),
    }
)
def bench_donchian(candles: pd.DataFrame, window: int, exit_window: int, min_range: float):
    """Long on a close above the previous window's high; out below the exit window's low."""
    upper = candles.high.rolling(window).max().shift(1)
    lower = candles.low.rolling(exit_window).min().shift(1)
    wide = (upper - lower) / candles.close >= min_range
    return wb.Signals(
        entries=(candles.close > upper) & wide,
        exits=candles.close < lower,
        indicators={"upper": upper, "lower": lower},
    )


def best_of(runs: int, fn: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def interleaved(runs: int, first: object, second: object) -> tuple[float, float, float]:
    """Two calls run alternately (a loaded machine slows both alike): the best time of
    each, and the median of the pairs' ratios second/first."""
    a, b = [], []
    for _ in range(runs):
        a.append(best_of(1, first))
        b.append(best_of(1, second))
    return min(a), min(b), statistics.median(y / x for x, y in zip(a, b, strict=True))


def bench_overhead(bars: int) -> None:
    candles = sample_candles(bars, timeframe="1m", seed=3)
    params = {"window": 30, "exit_window": 12, "min_range": 0.0}
    assert bench_donchian.fn is not None
    direct, layered, ratio = interleaved(
        11,
        lambda: bench_donchian.fn(candles, **params),  # type: ignore[misc]
        lambda: bench_donchian.signals(candles, **params),
    )
    engine = best_of(3, lambda: run_backtest(candles, strategy="bench_donchian", params=params))
    overhead = ratio - 1
    # The layer's own work, timed alone: parameters, candles, the returned signals.
    returned = bench_donchian.fn(candles, **params)
    own = best_of(
        11,
        lambda: (
            bench_donchian.validate(params),
            close_prices(candles),
            bench_donchian.checked(returned, candles.index, params),
        ),
    )
    print(f"1. strategy layer over {bars:,} bars (best of 11, interleaved)")
    print(f"   function called directly   {direct * 1000:8.1f} ms")
    print(f"   strategy.signals()         {layered * 1000:8.1f} ms")
    print(f"   overhead (median of pairs) {overhead:8.1%}  (target < 10 %)")
    print(
        f"   the layer's own work       {own * 1000:8.2f} ms = {own / direct:.1%} of the function"
    )
    print(f"   full backtest (signals + engine) {engine * 1000:8.1f} ms")


def bench_sweep(bars: int, sets: int) -> None:
    candles = sample_candles(bars, timeframe="1m", seed=5)
    rules = RuleParams()
    side = max(2, int(sets**0.5))
    grid = {
        "window": list(range(10, 10 + 5 * side, 5)),
        "exit_window": list(range(5, 5 + 3 * side, 3)),
    }
    run_sweep(candles.iloc[:2000], strategy="bench_donchian", grid={"window": [10, 20]},
              rules=rules, progress=False)  # fmt: skip
    user = run_sweep(candles, strategy="bench_donchian", grid=grid, rules=rules, progress=False)
    builtin_grid = {"ema_fast": list(range(5, 55)), "ema_slow": list(range(5, 55))}
    run_sweep(candles.iloc[:2000], strategy="ema_cross", grid={"ema_fast": [5], "ema_slow": [9]},
              rules=rules, progress=False)  # fmt: skip
    builtin = run_sweep(
        candles, strategy="ema_cross", grid=builtin_grid, rules=rules, progress=False
    )
    print(f"2. sweeps over {bars:,} bars, {cores()} cores")
    print(
        f"   user strategy (pandas, processes)   {len(user):5d} sets  "
        f"{user.attrs['bar_sets_per_second']:15,.0f} bar-sets/s"
    )
    print(
        f"   built-in ema_cross (compiled batch) {len(builtin):5d} sets  "
        f"{builtin.attrs['bar_sets_per_second']:15,.0f} bar-sets/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=500_000)
    parser.add_argument("--sweep-bars", type=int, default=100_000)
    parser.add_argument("--sets", type=int, default=48)
    args = parser.parse_args()
    bench_overhead(args.bars)
    bench_sweep(args.sweep_bars, args.sets)


if __name__ == "__main__":
    main()
