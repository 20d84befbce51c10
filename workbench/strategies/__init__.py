"""Strategies: pure signal functions of candles and declared parameters, a registry, sweeps.

- ``@strategy(params={"window": Int(20, low=5, high=500)})`` registers a function of
  candles returning ``Signals(entries, exits, short_entries, short_exits, indicators)``.
- ``get_strategy(name).signals(candles, **params)`` -> checked ``Signals`` decided on
  closed bars; act on bar t's signal at bar t + 1.
- ``all_strategies()``: built-ins, strategy files (``$WORKBENCH_HOME/strategies``,
  ``WORKBENCH_STRATEGY_PATH``) and this process's definitions.
- ``sweep_signals(candles, strategy, grid)`` -> the same flags for many parameter sets.
- ``last_closed_signal(candles, strategy, params, now)`` -> the live bot's ``StrategySignal``.
- ``indicators``: ``ema``, ``rsi`` and their many-period forms ``ema_many``, ``rsi_many``.
"""

from workbench.strategies import indicators
from workbench.strategies.base import Params, Signals, Strategy, StrategyError
from workbench.strategies.define import strategy
from workbench.strategies.files import save_strategy
from workbench.strategies.live import StrategySignal, explain_tick, last_closed_signal
from workbench.strategies.params import Bool, Choice, Float, Int, Param
from workbench.strategies.registry import STRATEGIES, all_strategies, get_strategy
from workbench.strategies.sweep import SweepSignals, expand_grid, sweep_signals

__all__ = [
    "STRATEGIES",
    "Bool",
    "Choice",
    "Float",
    "Int",
    "Param",
    "Params",
    "Signals",
    "Strategy",
    "StrategyError",
    "StrategySignal",
    "SweepSignals",
    "all_strategies",
    "expand_grid",
    "explain_tick",
    "get_strategy",
    "indicators",
    "last_closed_signal",
    "save_strategy",
    "strategy",
    "sweep_signals",
]
