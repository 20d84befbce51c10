"""Backtests and sweeps over candles, through the same rule engine the live bot uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from workbench.backtest.result import BacktestResult, trades_from_fills
from workbench.errors import ValidationError
from workbench.rules import RuleParams, simulate
from workbench.strategies import get_strategy
from workbench.strategies.sweep import sweep_backtests, valid_sets

if TYPE_CHECKING:
    import plotly.graph_objects as go


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
    chunk: int = 256,
    progress: bool = True,
) -> pd.DataFrame:
    """Backtest every valid parameter set of ``grid``; one row per set, best return first."""
    rules = rules or RuleParams()
    chosen, combos, skipped = valid_sets(strategy, grid)
    if not combos:
        reasons = "; ".join(why for _, why in skipped[:3])
        raise ValidationError({"grid": f"no valid parameter set ({reasons})"}, entity="sweep")
    _arrays(candles)  # at least 2 bars
    k = len(combos)
    with tqdm(total=k, unit="set", desc=f"sweep {strategy}", disable=not progress) as bar:
        final, drawdown, fills = sweep_backtests(
            candles, chosen, combos, rules.to_array(), chunk=chunk, progress=bar.update
        )
    table = pd.DataFrame(combos)
    table["final_value"] = final
    table["total_return"] = final / rules.initial_capital - 1.0
    table["max_drawdown"] = drawdown
    table["trades"] = (fills + 1) // 2
    return table.sort_values("total_return", ascending=False, ignore_index=True)


def sweep_heatmap(table: pd.DataFrame, x: str, y: str, value: str = "total_return") -> go.Figure:
    """A heatmap of ``value`` over two swept parameters (best over any others)."""
    import plotly.graph_objects as go

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
