"""Backtests and sweeps over candles, through the same rule engine the live bot uses."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench.backtest.configs import default_rules, sweep_grid, with_params
from workbench.backtest.result import BacktestResult, rules_summary, trades_from_fills
from workbench.errors import ValidationError
from workbench.progress import progress_bar
from workbench.rules import RuleParams, simulate
from workbench.strategies import get_strategy
from workbench.strategies.base import Strategy
from workbench.strategies.sweep import sweep_backtests, valid_sets
from workbench.types import DEFAULT_FEE, BotConfigLike

if TYPE_CHECKING:
    import plotly.graph_objects as go


def _ms(index: pd.DatetimeIndex) -> np.ndarray:
    """Bar open times in ms since 1970 (``index.as_unit("ms")``, without a new index)."""
    if index.unit == "s":
        return index.asi8 * 1000
    per_ms = {"ms": 1, "us": 1_000, "ns": 1_000_000}[index.unit]
    return index.asi8 // per_ms if per_ms > 1 else np.asarray(index.asi8, dtype=np.int64)


def _arrays(candles: pd.DataFrame) -> tuple[np.ndarray, ...]:
    if len(candles) < 2:
        raise ValidationError(
            {"candles": f"need at least 2 bars, got {len(candles)}"}, entity="backtest"
        )
    times = _ms(pd.DatetimeIndex(candles.index))
    cols = [candles[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close")]
    return (times, *cols)


def run_backtest(
    candles: pd.DataFrame,
    *,
    strategy: str | Strategy,
    params: dict[str, Any] | None = None,
    rules: RuleParams | None = None,
    market: dict[str, str] | None = None,
) -> BacktestResult:
    """Backtest ``strategy`` with ``params`` over ``candles`` under ``rules`` (default: a
    bot config's defaults, as for ``backtest_config`` and sweeps)."""
    rules = rules or default_rules()
    chosen = get_strategy(strategy)
    values = chosen.validate(params or {})
    entries, exits = chosen.flags(candles, **values)
    times, open_, high, low, close = _arrays(candles)
    curve, fills, _ = simulate(times, open_, high, low, close, entries, exits, rules.to_array())
    # The engine's curve is a new array, no one else's: wrapped, not copied.
    equity = pd.Series(curve, index=candles.index, name="equity", copy=False)
    return BacktestResult(
        strategy=chosen.name,
        params=values,
        rules=rules,
        equity=equity,
        trades=trades_from_fills(fills, candles.index),
        fills=fills,
        market=market,
    )


def backtest_config(
    candles: pd.DataFrame,
    config: BotConfigLike,
    *,
    fee: float = DEFAULT_FEE,
    slippage: float = 0.0,
    strategy: Strategy | None = None,
    params: dict[str, Any] | None = None,
) -> BacktestResult:
    """Backtest a bot configuration (an ORM row or a schema) exactly as the bot would trade.
    ``strategy`` (default: the config's) and ``params`` (over the config's) for strategies
    whose parameters are no config fields."""
    chosen = strategy or get_strategy(config.strategy)
    source = config if not params else with_params(config, params)
    return run_backtest(
        candles,
        strategy=chosen,
        params=chosen.params_from_config(source),
        rules=RuleParams.from_config(config, fee=fee, slippage=slippage),
        market={k: str(getattr(config, k)) for k in ("exchange", "symbol", "timeframe")},
    )


def run_sweep(
    candles: pd.DataFrame,
    *,
    strategy: str | Strategy,
    grid: dict[str, list[Any]],
    rules: RuleParams | None = None,
    chunk: int = 256,
    progress: bool = True,
) -> pd.DataFrame:
    """Backtest every valid parameter set of ``grid``; one row per set, best return first.
    ``trades`` counts closed round trips (as a backtest's ``total_trades``); a position
    still open at the end is ``open_trades``. ``rules`` default as for a backtest; the
    table's ``attrs["rules"]`` lists them, ``attrs["bar_sets_per_second"]`` the speed.
    A user's pandas strategy runs its sets on all cores; the built-ins, compiled."""
    rules = rules or default_rules()
    started = time.perf_counter()
    chosen, combos, skipped = valid_sets(strategy, grid)
    if not combos:
        reasons = "; ".join(why for _, why in skipped[:3])
        raise ValidationError({"grid": f"no valid parameter set ({reasons})"}, entity="sweep")
    arrays = _arrays(candles)  # at least 2 bars
    k = len(combos)
    desc = f"sweep {chosen.name}"
    with progress_bar(total=k, unit="set", desc=desc, disable=not progress) as bar:
        if chosen.batch is None:
            from workbench.strategies.parallel import sweep_sets

            out = sweep_sets(chosen, candles, arrays, rules.to_array(), combos, progress=bar.update)
            final, drawdown, fills = out[:, 0], out[:, 1], out[:, 2].astype(np.int64)
        else:
            final, drawdown, fills = sweep_backtests(
                candles, chosen, combos, rules.to_array(), chunk=chunk, progress=bar.update
            )
    table = pd.DataFrame(combos)
    table["final_value"] = final
    table["total_return"] = final / rules.initial_capital - 1.0
    table["max_drawdown"] = drawdown
    table["trades"] = fills // 2  # fills alternate entry, exit: an odd count ends open
    table["open_trades"] = fills % 2
    table = table.sort_values("total_return", ascending=False, ignore_index=True)
    table.attrs["rules"] = rules_summary(rules)  # what every row ran under
    table.attrs["bar_sets_per_second"] = k * len(candles) / (time.perf_counter() - started)
    return table


def sweep_config(
    candles: pd.DataFrame,
    config: Any,
    ranges: Mapping[str, Iterable[Any]],
    *,
    fee: float = DEFAULT_FEE,
    slippage: float = 0.0,
    strategy: Strategy | None = None,
    params: dict[str, Any] | None = None,
    chunk: int = 256,
    progress: bool = True,
) -> pd.DataFrame:
    """Sweep the strategy parameters ``ranges`` around a bot configuration (an ORM row or a
    schema, with any bot config fields: ``stop_loss_perc``, ``max_daily_trades``, ...): each
    row is what ``backtest_config`` of that set gives. ``strategy`` (default: the config's)
    and ``params`` (over the config's) as for ``backtest_config``; the other parameters
    keep the config's values."""
    chosen = strategy or get_strategy(config.strategy)
    base = with_params(config, params) if params else config
    return run_sweep(
        candles,
        strategy=chosen,
        grid=sweep_grid(chosen, base, ranges),
        rules=RuleParams.from_config(config, fee=fee, slippage=slippage),
        chunk=chunk,
        progress=progress,
    )


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
