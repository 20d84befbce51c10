"""What a strategy is: named integer parameters with bounds, and one signal rule.

A strategy is a pure function of candles and parameters. Signals are decided on closed
bars: the flag at bar t uses bars up to and including t's close, and whoever acts on it
(backtest or bot) trades at the next bar. ``Strategy.signals`` (one parameter set) and
``workbench.strategies.sweep_signals`` (many) run the same compiled rule, so a sweep and a
single run agree exactly; the live bot calls ``signals`` too (see ``last_closed_signal``).

When an entry and an exit fire on the same bar, the exit wins: the entry flag is cleared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import ValidationError

Params = dict[str, int]
# close (bars,), parameter sets -> entries, exits as (sets x bars) boolean matrices
BatchRule = Callable[[np.ndarray, list[Params]], tuple[np.ndarray, np.ndarray]]
# close, one parameter set -> indicator name -> series (bars,)
IndicatorFn = Callable[[np.ndarray, Params], dict[str, np.ndarray]]
# action, parameters, values on the decided bar, values on the bar before -> reason
ExplainFn = Callable[[str, Params, Mapping[str, float], Mapping[str, float]], str]
CheckFn = Callable[[Params], dict[str, str]]


@dataclass(frozen=True)
class Param:
    """An integer parameter: its name (a bot config field), default and inclusive bounds."""

    name: str
    default: int
    low: int
    high: int
    help: str = ""


@dataclass(frozen=True)
class Signals:
    """Entry and exit flags per bar, and the indicator series they came from.

    ``entries``/``exits`` are boolean Series on the candle index; ``indicators`` is a
    DataFrame on the same index (columns ``ema_<period>`` and ``rsi``: see each
    strategy); ``warmup`` bars at the start never signal.
    """

    strategy: str
    params: Params
    entries: pd.Series
    exits: pd.Series
    indicators: pd.DataFrame
    warmup: int = 0

    def frame(self) -> pd.DataFrame:
        """Indicators, entries and exits side by side (for a table or a plot)."""
        return self.indicators.assign(entries=self.entries, exits=self.exits)


@dataclass(frozen=True)
class Strategy:
    """A named signal rule; see ``workbench.strategies.registry`` for the built-in ones."""

    name: str
    description: str
    entry_rule: str
    exit_rule: str
    params: tuple[Param, ...]
    batch: BatchRule = field(repr=False)
    indicator_fn: IndicatorFn = field(repr=False)
    warmup_fn: Callable[[Params], int] = field(repr=False)
    explain_fn: ExplainFn = field(repr=False)
    check: CheckFn = field(default=lambda _: {}, repr=False)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def defaults(self) -> Params:
        return {p.name: p.default for p in self.params}

    @property
    def bounds(self) -> dict[str, tuple[int, int]]:
        return {p.name: (p.low, p.high) for p in self.params}

    def validate(self, params: Mapping[str, Any] | None = None) -> Params:
        """The full parameter set (defaults for what is missing or None), or a
        ValidationError naming each bad field."""
        params = dict(params or {})
        errors = {
            k: f"is not a parameter of {self.name} (its parameters: {', '.join(self.param_names)})"
            for k in sorted(set(params) - set(self.param_names))
        }
        values = self.defaults
        for p in self.params:
            value = params.get(p.name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                if isinstance(value, float | np.floating) and float(value).is_integer():
                    value = int(value)
                else:
                    errors[p.name] = f"must be a whole number, got {value!r}"
                    continue
            if not p.low <= value <= p.high:
                errors[p.name] = f"must be between {p.low} and {p.high}, got {value}"
            else:
                values[p.name] = int(value)
        if not errors:
            errors = self.check(values)
        if errors:
            raise ValidationError(errors, entity=f"{self.name} parameters")
        return values

    def params_from_config(self, config: Any) -> Params:
        """This strategy's parameters from a bot config (ORM row, schema or dict):
        ``custom_X`` when it is not None, else ``X``, else the default; validated."""
        if isinstance(config, Mapping):
            get: Callable[[str], Any] = config.get
        else:

            def get(key: str) -> Any:
                return getattr(config, key, None)

        values: dict[str, Any] = {}
        for name in self.param_names:
            custom = get(f"custom_{name}")
            values[name] = custom if custom is not None else get(name)
        return self.validate(values)

    def warmup(self, params: Mapping[str, Any] | None = None) -> int:
        """How many leading bars never signal: the indicators are not ready before."""
        return self.warmup_fn(self.validate(params))

    def signals(self, candles: pd.DataFrame, **params: Any) -> Signals:
        """Entry and exit flags for every bar of ``candles`` (decided at each bar's close)."""
        values = self.validate(params)
        close = close_prices(candles)
        entries, exits = self.batch(close, [values])
        index = candles.index
        return Signals(
            strategy=self.name,
            params=values,
            entries=pd.Series(entries[0], index=index, name="entries"),
            exits=pd.Series(exits[0], index=index, name="exits"),
            indicators=pd.DataFrame(self.indicator_fn(close, values), index=index),
            warmup=self.warmup_fn(values),
        )

    def explain(
        self,
        action: str,
        params: Params,
        now: Mapping[str, float],
        before: Mapping[str, float],
    ) -> str:
        """A sentence saying why ``action`` was decided on a bar (values incl. ``close``)."""
        return self.explain_fn(action, params, now, before)


def close_prices(candles: pd.DataFrame) -> np.ndarray:
    """The close column as float64, after checking the candles can be used for signals."""
    if not isinstance(candles, pd.DataFrame) or "close" not in candles.columns:
        raise ValidationError(
            {"candles": "must be a DataFrame with a close column"}, entity="candles"
        )
    if not candles.index.is_monotonic_increasing or not candles.index.is_unique:
        raise ValidationError(
            {"candles": "the index must be increasing bar open times without duplicates"},
            entity="candles",
        )
    close = np.ascontiguousarray(candles["close"].to_numpy(dtype="float64"))
    missing = int(np.isnan(close).sum())
    if missing:
        raise ValidationError(
            {"close": f"{missing} missing (NaN) closes; fill or drop the gaps first"},
            entity="candles",
        )
    return close
