"""The strategies by name: ``STRATEGIES`` (the built-ins), ``get_strategy`` and
``all_strategies`` (built-ins, those defined in this process, those of strategy files).

A bot config's ``strategy`` field names one of these; its parameters come from the config
through ``Strategy.params_from_config``.
"""

from __future__ import annotations

from workbench.errors import ValidationError
from workbench.strategies.base import Strategy
from workbench.strategies.define import DEFINED
from workbench.strategies.ema_cross import STRATEGY as EMA_CROSS
from workbench.strategies.rsi import EMA_RSI, RSI

STRATEGIES: dict[str, Strategy] = {s.name: s for s in (EMA_CROSS, RSI, EMA_RSI)}


def all_strategies() -> dict[str, Strategy]:
    """Built-ins, then strategy files, with this process's definitions (a notebook's
    cells) over the files' (strategy files are loaded, or re-read when changed)."""
    from workbench.strategies.files import file_strategies

    return {**STRATEGIES, **file_strategies(), **DEFINED}


def get_strategy(name: str | Strategy) -> Strategy:
    """The strategy called ``name`` (a Strategy is passed through), or a ValidationError
    on the ``strategy`` field listing the known names."""
    if isinstance(name, Strategy):
        return name
    if isinstance(name, str) and name in STRATEGIES:
        return STRATEGIES[name]
    if isinstance(name, str) and name in DEFINED:
        return DEFINED[name]
    known = all_strategies()
    try:
        return known[name]
    except (KeyError, TypeError):
        yours = sorted(set(known) - set(STRATEGIES))
        listed = f"known: {', '.join(sorted(STRATEGIES))}" + (
            f"; yours: {', '.join(yours)}" if yours else ""
        )
        raise ValidationError(
            {"strategy": f"unknown strategy {name!r}; {listed}"}, entity="strategy"
        ) from None
