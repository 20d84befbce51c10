"""``@strategy(params={...})``: turn a plain function of candles into a registered Strategy.

>>> @wb.strategy(params={"window": wb.Int(20, low=5, high=500)})
... def breakout(candles, window):
...     upper = candles.high.rolling(window).max().shift(1)
...     return wb.Signals(entries=candles.close > upper, exits=candles.close < upper)

Defined in a notebook cell, the strategy is usable at once in that kernel (by object or by
name); defined in a strategy file it is registered when the file is loaded (see
``workbench.strategies.files``). A name is never allowed to shadow a built-in.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from workbench.strategies.base import (
    BatchRule,
    CheckFn,
    ExplainFn,
    IndicatorFn,
    Params,
    Signals,
    Strategy,
    StrategyError,
    close_prices,
)
from workbench.strategies.params import Param

NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
# Strategies defined outside a strategy file (a notebook cell), by name.
DEFINED: dict[str, Strategy] = {}
# While a strategy file is loading, the strategies it defines are collected here.
COLLECTING: list[list[Strategy]] = []


def strategy(
    params: Mapping[str, Param] | None = None,
    *,
    name: str | None = None,
    warmup: int | Callable[..., int] | None = None,
    description: str | None = None,
    entry_rule: str = "",
    exit_rule: str = "",
) -> Callable[[Callable[..., Signals]], Strategy]:
    """Register ``fn(candles, **params) -> Signals`` as a strategy with declared parameters.

    ``params`` maps each keyword of ``fn`` to ``Int``/``Float``/``Bool``/``Choice``;
    ``warmup`` (bars, or a function of the parameters) is the history it needs before its
    signals are final, if known (``workbench strategy check`` measures it either way).
    """

    def register(fn: Callable[..., Signals]) -> Strategy:
        made = make_strategy(
            fn,
            params or {},
            name=name,
            warmup=warmup,
            description=description,
            entry_rule=entry_rule,
            exit_rule=exit_rule,
        )
        if COLLECTING:
            COLLECTING[-1].append(made)
        else:
            from workbench.strategies.registry import STRATEGIES

            if made.name in STRATEGIES:
                raise StrategyError(
                    f"strategy {made.name} ({made.where}) would shadow the built-in "
                    f"{made.name}; choose another name"
                )
            DEFINED[made.name] = made
        return made

    return register


def make_strategy(
    fn: Callable[..., Signals],
    params: Mapping[str, Param],
    *,
    name: str | None = None,
    warmup: int | Callable[..., int] | None = None,
    description: str | None = None,
    entry_rule: str = "",
    exit_rule: str = "",
    builtin: bool = False,
    batch: BatchRule | None = None,
    indicator_fn: IndicatorFn | None = None,
    explain_fn: ExplainFn | None = None,
    check: CheckFn | None = None,
    source: str | None = None,
) -> Strategy:
    """The Strategy for ``fn``; a StrategyError (naming the file and line) when the
    declaration does not match the function."""
    if not callable(fn):
        raise StrategyError("@strategy decorates a function of candles and parameters")
    line = 0 if source else fn.__code__.co_firstlineno
    source = source or inspect.getsourcefile(fn) or "<unknown>"
    title = name or fn.__name__
    where = f"{source}:{line}"
    if not NAME.match(title):
        raise StrategyError(
            f"strategy name {title!r} ({where}) must be lower-case letters, digits and "
            "underscores, starting with a letter"
        )
    declared = _declared(title, where, fn, params)
    doc = inspect.getdoc(fn) or ""
    return Strategy(
        name=title,
        description=description or (doc.splitlines()[0] if doc else ""),
        entry_rule=entry_rule,
        exit_rule=exit_rule,
        params=declared,
        fn=fn,
        batch=batch,
        indicator_fn=indicator_fn,
        warmup_fn=_warmup_fn(warmup, where),
        explain_fn=explain_fn,
        check=check or (lambda _: {}),
        source=source,
        line=line,
        builtin=builtin,
    )


def _declared(
    title: str, where: str, fn: Callable[..., Any], params: Mapping[str, Param]
) -> tuple[Param, ...]:
    signature = inspect.signature(fn)
    names = list(signature.parameters)
    if not names:
        raise StrategyError(f"strategy {title} ({where}) must take the candles as first argument")
    keywords = names[1:]
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    missing = [k for k in params if k not in keywords and not accepts_any]
    undeclared = [
        k
        for k in keywords
        if k not in params and signature.parameters[k].kind is not inspect.Parameter.VAR_KEYWORD
    ]
    if missing or undeclared:
        detail = "; ".join(
            part
            for part in (
                f"declared but not arguments: {', '.join(missing)}" if missing else "",
                f"arguments not declared in params: {', '.join(undeclared)}" if undeclared else "",
            )
            if part
        )
        raise StrategyError(f"strategy {title} ({where}): {detail}")
    declared: list[Param] = []
    for key, param in params.items():
        if not isinstance(param, Param):
            raise StrategyError(
                f"strategy {title} ({where}): parameter {key} must be wb.Int, wb.Float, "
                f"wb.Bool or wb.Choice, got {type(param).__name__}"
            )
        try:
            declared.append(param.named(key))
        except ValueError as e:
            raise StrategyError(f"strategy {title} ({where}): {e}") from None
    return tuple(declared)


def _warmup_fn(
    warmup: int | Callable[..., int] | None, where: str
) -> Callable[[Params], int] | None:
    if warmup is None:
        return None
    if callable(warmup):
        chosen = warmup
        return lambda values: int(chosen(**values))
    if isinstance(warmup, int) and warmup >= 0:
        bars = warmup
        return lambda _: bars
    raise StrategyError(f"strategy at {where}: warmup must be bars (>= 0) or a function")


def batch_function(
    name: str, names: tuple[str, ...], batch: BatchRule, indicator_fn: IndicatorFn
) -> Callable[..., Signals]:
    """The plain function of a built-in: one parameter set through its compiled rule."""

    def signals(candles: pd.DataFrame, **params: Any) -> Signals:
        close = close_prices(candles)
        entries, exits = batch(close, [params])
        index = candles.index
        return Signals(
            entries=pd.Series(np.asarray(entries[0]), index=index, name="entries"),
            exits=pd.Series(np.asarray(exits[0]), index=index, name="exits"),
            indicators=pd.DataFrame(indicator_fn(close, params), index=index),
        )

    signals.__name__ = name
    signals.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("candles", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names]
    )
    return signals
