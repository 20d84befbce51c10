"""Strategies: pure signal functions of candles and parameters, a registry, and sweeps.

- ``get_strategy(name).signals(candles, **params)`` -> ``Signals`` (entries, exits,
  indicators) decided on closed bars; act on bar t's signal at bar t + 1.
- ``sweep_signals(candles, strategy, grid)`` -> the same flags for many parameter sets.
- ``last_closed_signal(candles, strategy, params, now)`` -> the live bot's ``Decision``.
- ``indicators``: ``ema``, ``rsi`` and their many-period forms ``ema_many``, ``rsi_many``.
"""

from workbench.strategies import indicators
from workbench.strategies.base import Param, Params, Signals, Strategy
from workbench.strategies.live import Decision, last_closed_signal
from workbench.strategies.registry import STRATEGIES, get_strategy
from workbench.strategies.sweep import SweepSignals, expand_grid, sweep_signals

__all__ = [
    "STRATEGIES",
    "Decision",
    "Param",
    "Params",
    "Signals",
    "Strategy",
    "SweepSignals",
    "expand_grid",
    "get_strategy",
    "indicators",
    "last_closed_signal",
    "sweep_signals",
]
