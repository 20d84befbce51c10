"""The strategies by name: ``STRATEGIES`` and ``get_strategy``.

A bot config's ``strategy`` field names one of these; its parameters come from the config
through ``Strategy.params_from_config`` (``custom_X`` overrides ``X``).
"""

from __future__ import annotations

from workbench.errors import ValidationError
from workbench.strategies.base import Strategy
from workbench.strategies.ema_cross import STRATEGY as EMA_CROSS
from workbench.strategies.rsi import EMA_RSI, RSI

STRATEGIES: dict[str, Strategy] = {s.name: s for s in (EMA_CROSS, RSI, EMA_RSI)}


def get_strategy(name: str | Strategy) -> Strategy:
    """The strategy called ``name`` (a Strategy is passed through), or a ValidationError
    on the ``strategy`` field listing the known names."""
    if isinstance(name, Strategy):
        return name
    try:
        return STRATEGIES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(STRATEGIES))
        raise ValidationError(
            {"strategy": f"unknown strategy {name!r}; known: {known}"}, entity="strategy"
        ) from None
