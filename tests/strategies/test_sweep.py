"""Sweeps: many parameter sets at once, flag for flag equal to single runs, and fast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.strategies.reference import frame
from workbench.backtest import run_backtest
from workbench.errors import ValidationError
from workbench.rules import RuleParams, sweep
from workbench.strategies import STRATEGIES, expand_grid, get_strategy, sweep_signals
from workbench.strategies.sweep import sweep_backtests, valid_sets

GRIDS = {
    "ema_cross": {"ema_fast": [3, 5, 9, 30], "ema_slow": [10, 30, 50]},
    "rsi": {"rsi_period": [2, 7, 14], "rsi_oversold": [20, 30, 70], "rsi_overbought": [70, 80]},
    "ema_rsi": {"ema_period": [20, 200], "rsi_period": [7, 14], "rsi_oversold": [25, 75]},
}
INVALID = {"ema_cross": 2, "rsi": 3, "ema_rsi": 4}  # fast >= slow; oversold >= overbought


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_sweep_equals_single_runs(market: pd.DataFrame, name: str) -> None:
    strategy = get_strategy(name)
    swept = sweep_signals(market, name, GRIDS[name])
    total = len(expand_grid(GRIDS[name]))
    assert len(swept.skipped) == INVALID[name] and len(swept.combos) == total - INVALID[name]
    assert swept.entries.shape == swept.exits.shape == (len(market), len(swept.combos))
    assert swept.entries.dtype == bool and swept.index.equals(market.index)
    for j, combo in enumerate(swept.combos):
        assert set(combo) == set(strategy.param_names)  # defaults filled in
        single = strategy.signals(market, **combo)
        np.testing.assert_array_equal(swept.entries[:, j], single.entries.to_numpy())
        np.testing.assert_array_equal(swept.exits[:, j], single.exits.to_numpy())
        assert swept.column(combo) == j


def test_invalid_sets_are_skipped_and_said_so(eth: pd.DataFrame) -> None:
    swept = sweep_signals(eth, get_strategy("ema_cross"), GRIDS["ema_cross"])
    assert [combo for combo, _ in swept.skipped] == [
        {"ema_fast": 30, "ema_slow": 10},
        {"ema_fast": 30, "ema_slow": 30},
    ]
    assert all("ema_fast must be less than ema_slow" in why for _, why in swept.skipped)
    nothing = sweep_signals(eth, "ema_cross", {"ema_fast": [30], "ema_slow": [10]})
    assert nothing.combos == [] and nothing.entries.shape == (len(eth), 0)
    out_of_range = sweep_signals(eth, "rsi", {"rsi_period": [1, 14]})
    assert [c["rsi_period"] for c in out_of_range.combos] == [14]
    assert "between 2 and 10000" in out_of_range.skipped[0][1]


def test_grid_names_must_be_parameters(eth: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match="ema_fast not parameters of rsi"):
        sweep_signals(eth, "rsi", {"ema_fast": [5]})
    with pytest.raises(ValidationError, match="unknown strategy"):
        sweep_signals(eth, "moon", {})


def test_every_ema_pair_of_5_to_54_over_100k_bars() -> None:
    """The benchmark's grid (its speed: bench/bench_backtest.py; no timed tests here)."""
    rng = np.random.default_rng(3)
    candles = frame(100 * np.exp(np.cumsum(rng.normal(0, 0.002, 100_000))))
    grid = {"ema_fast": list(range(5, 55)), "ema_slow": list(range(5, 55))}
    swept = sweep_signals(candles, "ema_cross", grid)
    assert len(swept.combos) == 1_225 and swept.entries.shape == (100_000, 1_225)
    j = swept.column({"ema_fast": 12, "ema_slow": 26})
    single = get_strategy("ema_cross").signals(candles, ema_fast=12, ema_slow=26)
    np.testing.assert_array_equal(swept.entries[:, j], single.entries.to_numpy())


BACKTEST_RULES = RuleParams(
    fee=0.001, stop_loss=0.02, take_profit=0.03, trailing_stop=0.025, max_daily_trades=6
)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_sweep_backtests_equal_single_backtests(market: pd.DataFrame, name: str) -> None:
    """Every set's final equity, drawdown and fill count equal its own backtest exactly:
    ema_cross decided inside the engine loop, the others from chunked flags."""
    _, combos, _ = valid_sets(name, GRIDS[name])
    done: list[int] = []
    final, drawdown, fills = sweep_backtests(
        market, name, combos, BACKTEST_RULES.to_array(), chunk=4, progress=done.append
    )
    assert sum(done) == len(combos) and max(done) <= 4
    assert fills.sum() > len(combos)  # the sets trade
    for j, combo in enumerate(combos):
        single = run_backtest(market, strategy=name, params=combo, rules=BACKTEST_RULES)
        assert final[j] == single.equity.iloc[-1], combo
        assert drawdown[j] == pytest.approx(-single.drawdown.min(), rel=1e-12, abs=1e-15)
        assert fills[j] == len(single.fills), combo


def test_fused_crossings_equal_the_flag_matrix_sweep(eth: pd.DataFrame) -> None:
    """The fused ema_cross sweep and the engine run on sweep_signals' flags agree."""
    grid = {"ema_fast": list(range(3, 20, 2)), "ema_slow": list(range(10, 60, 7))}
    swept = sweep_signals(eth, "ema_cross", grid)
    params = BACKTEST_RULES.to_array()
    fused = sweep_backtests(eth, "ema_cross", swept.combos, params, chunk=16)
    times = eth.index.as_unit("ms").asi8
    prices = [eth[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close")]
    from_flags = sweep(times, *prices, swept.entries, swept.exits, params)
    for ours, theirs in zip(fused, from_flags, strict=True):
        np.testing.assert_array_equal(ours, theirs)
