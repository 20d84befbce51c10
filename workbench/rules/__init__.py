"""Risk and daily rules, order sizing and fills: one engine for backtests and live ticks."""

from workbench.rules.params import RuleParams
from workbench.rules.simulate import simulate, sweep

__all__ = ["RuleParams", "simulate", "sweep"]
