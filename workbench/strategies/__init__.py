"""Strategies: pure signal functions of candles and parameters, a registry, and sweeps."""

from workbench.strategies.registry import STRATEGIES, Param, Signals, Strategy, get_strategy
from workbench.strategies.sweep import SweepSignals, expand_grid, sweep_signals

__all__ = [
    "STRATEGIES",
    "Param",
    "Signals",
    "Strategy",
    "SweepSignals",
    "expand_grid",
    "get_strategy",
    "sweep_signals",
]
