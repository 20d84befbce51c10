"""Backtests and sweeps over candles, through the same rule engine the live bot uses."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from tqdm.auto import tqdm

from workbench.backtest.result import BacktestResult, trades_from_fills
from workbench.errors import ValidationError
from workbench.rules import RuleParams, simulate, sweep
from workbench.strategies import get_strategy, sweep_signals


def _arrays(candles: pd.DataFrame) -> tuple[np.ndarray, ...]:
    if len(candles) < 2:
        raise ValidationError(
            {"candles": f"need at least 2 bars, got {len(candles)}"}, entity="backtest"
        )
    times = candles.index.as_unit("ms").asi8.astype(np.int64)
    cols = [candles[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close")]
    return (times, *cols)


def run_backtest(
    candles: pd.DataFrame,
    *,
    strategy: str,
    params: dict[str, Any] | None = None,
    rules: RuleParams | None = None,
) -> BacktestResult:
    """Backtest ``strategy`` with ``params`` over ``candles`` under ``rules``."""
    rules = rules or RuleParams()
    chosen = get_strategy(strategy)
    values = chosen.validate(params or {})
    signals = chosen.signals(candles, **values)
    times, open_, high, low, close = _arrays(candles)
    curve, fills, _ = simulate(
        times,
        open_,
        high,
        low,
        close,
        signals.entries.to_numpy(),
        signals.exits.to_numpy(),
        rules.to_array(),
    )
    equity = pd.Series(curve, index=candles.index, name="equity")
    return BacktestResult(
        strategy=strategy,
        params=values,
        rules=rules,
        equity=equity,
        trades=trades_from_fills(fills, candles.index),
        fills=fills,
    )


def backtest_config(
    candles: pd.DataFrame, config: Any, *, fee: float = 0.001, slippage: float = 0.0
) -> BacktestResult:
    """Backtest a bot configuration (an ORM row or a schema) exactly as the bot would trade."""
    strategy = get_strategy(config.strategy)
    return run_backtest(
        candles,
        strategy=config.strategy,
        params=strategy.params_from_config(config),
        rules=RuleParams.from_config(config, fee=fee, slippage=slippage),
    )


def run_sweep(
    candles: pd.DataFrame,
    *,
    strategy: str,
    grid: dict[str, list[int]],
    rules: RuleParams | None = None,
    chunk: int = 128,
    progress: bool = True,
) -> pd.DataFrame:
    """Backtest every valid parameter set of ``grid``; one row per set, best return first."""
    rules = rules or RuleParams()
    started = time.perf_counter()
    chosen = get_strategy(strategy)
    swept: Any
    if chosen.batch is None:  # a user's pandas strategy: its sets on all cores
        from workbench.strategies.user_sweep import valid_sets

        swept = valid_sets(chosen, candles.index, grid)
    else:
        swept = sweep_signals(candles, chosen, grid)
    if not swept.combos:
        reasons = "; ".join(why for _, why in swept.skipped[:3])
        raise ValidationError({"grid": f"no valid parameter set ({reasons})"}, entity="sweep")
    times, open_, high, low, close = _arrays(candles)
    params = rules.to_array()
    k = len(swept.combos)
    final, drawdown, fills = np.empty(k), np.empty(k), np.empty(k, dtype=np.int64)
    with tqdm(total=k, unit="set", desc=f"sweep {chosen.name}", disable=not progress) as bar:
        if chosen.batch is None:
            from workbench.strategies.parallel import sweep_sets

            out = sweep_sets(
                chosen,
                candles,
                (times, open_, high, low, close),
                params,
                swept.combos,
                progress=bar.update,
            )
            final[:], drawdown[:], fills[:] = out[:, 0], out[:, 1], out[:, 2].astype(np.int64)
        for lo in range(0, k if chosen.batch is not None else 0, chunk):
            hi = min(k, lo + chunk)
            entries = np.ascontiguousarray(swept.entries[:, lo:hi])
            exits = np.ascontiguousarray(swept.exits[:, lo:hi])
            final[lo:hi], drawdown[lo:hi], fills[lo:hi] = sweep(
                times, open_, high, low, close, entries, exits, params
            )
            bar.update(hi - lo)
    table = pd.DataFrame(swept.combos)
    table["final_value"] = final
    table["total_return"] = final / rules.initial_capital - 1.0
    table["max_drawdown"] = drawdown
    table["trades"] = (fills + 1) // 2
    table = table.sort_values("total_return", ascending=False, ignore_index=True)
    table.attrs["bar_sets_per_second"] = k * len(candles) / (time.perf_counter() - started)
    return table


def sweep_heatmap(table: pd.DataFrame, x: str, y: str, value: str = "total_return") -> go.Figure:
    """A heatmap of ``value`` over two swept parameters (best over any others)."""
    grid = table.pivot_table(index=y, columns=x, values=value, aggfunc="max")
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=grid.columns,
            y=grid.index,
            colorscale="RdYlGn",
            zmid=0,
            colorbar_title=value,
        )
    )
    fig.update_layout(title=f"{value} by {x} and {y}", xaxis_title=x, yaxis_title=y)
    return fig
