"""Strategies: pure functions of candles and parameters, found by name.

Signals are decided on closed bars: the signal at bar t uses bars up to and including t;
whoever acts on it (backtest or bot) trades at the next bar's open. The backtest and the
live bot both call ``Strategy.signals``; nothing else decides a trade.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import ValidationError
from workbench.strategies import indicators as ind

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Param:
    name: str
    default: int
    low: int
    high: int


@dataclass(frozen=True)
class Signals:
    """Entry and exit flags per bar, and the indicator series they came from."""

    entries: pd.Series
    exits: pd.Series
    indicators: pd.DataFrame


@dataclass(frozen=True)
class Strategy:
    name: str
    description: str
    params: tuple[Param, ...]
    compute: Callable[..., tuple[np.ndarray, np.ndarray, Arrays]]
    check: Callable[[Mapping[str, int]], dict[str, str]]

    @property
    def defaults(self) -> dict[str, int]:
        return {p.name: p.default for p in self.params}

    def validate(self, params: Mapping[str, Any]) -> dict[str, int]:
        """The full parameter set (defaults filled in), or a ValidationError per field."""
        unknown = set(params) - {p.name for p in self.params}
        errors = {k: f"is not a parameter of {self.name}" for k in sorted(unknown)}
        values = self.defaults
        for p in self.params:
            if p.name not in params or params[p.name] is None:
                continue
            value = params[p.name]
            if not isinstance(value, int | np.integer) or isinstance(value, bool):
                errors[p.name] = f"must be a whole number, got {value!r}"
            elif not p.low <= value <= p.high:
                errors[p.name] = f"must be between {p.low} and {p.high}, got {value}"
            else:
                values[p.name] = int(value)
        if not errors:
            errors = self.check(values)
        if errors:
            raise ValidationError(errors, entity=f"{self.name} parameters")
        return values

    def params_from_config(self, config: Any) -> dict[str, int]:
        """This strategy's parameters from a bot config: ``custom_X`` overrides ``X``."""
        get = config.get if isinstance(config, Mapping) else lambda k: getattr(config, k, None)
        values = {}
        for p in self.params:
            custom = get(f"custom_{p.name}")
            plain = get(p.name)
            values[p.name] = custom if custom is not None else plain
        return self.validate({k: v for k, v in values.items() if v is not None})

    def signals(self, candles: pd.DataFrame, **params: Any) -> Signals:
        values = self.validate(params)
        close = candles["close"].to_numpy(dtype="float64")
        if len(close) == 0:
            empty = pd.Series([], index=candles.index, dtype=bool)
            return Signals(empty, empty, pd.DataFrame(index=candles.index))
        entries, exits, extra = self.compute(close, **values)
        return Signals(
            entries=pd.Series(entries, index=candles.index, name="entries"),
            exits=pd.Series(exits, index=candles.index, name="exits"),
            indicators=pd.DataFrame(extra, index=candles.index),
        )


def _ema_cross(
    close: np.ndarray, *, ema_fast: int, ema_slow: int
) -> tuple[np.ndarray, np.ndarray, Arrays]:
    fast, slow = ind.ema(close, ema_fast), ind.ema(close, ema_slow)
    entries, exits = ind.crossed_above(fast, slow), ind.crossed_below(fast, slow)
    entries[:ema_slow] = exits[:ema_slow] = False  # warm-up
    return entries, exits, {f"ema_{ema_fast}": fast, f"ema_{ema_slow}": slow}


def _rsi_rules(
    close: np.ndarray, rsi_period: int, oversold: int, overbought: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    value = ind.rsi(close, rsi_period)
    low = np.full_like(value, oversold)
    high = np.full_like(value, overbought)
    entries = ind.crossed_above(value, low)  # leaves the oversold zone upwards
    exits = ind.crossed_above(value, high)  # enters the overbought zone
    entries[: rsi_period + 1] = exits[: rsi_period + 1] = False  # warm-up
    return entries, exits, value


def _rsi(
    close: np.ndarray, *, rsi_period: int, rsi_oversold: int, rsi_overbought: int
) -> tuple[np.ndarray, np.ndarray, Arrays]:
    entries, exits, value = _rsi_rules(close, rsi_period, rsi_oversold, rsi_overbought)
    return entries, exits, {"rsi": value}


def _ema_rsi(
    close: np.ndarray, *, ema_period: int, rsi_period: int, rsi_oversold: int, rsi_overbought: int
) -> tuple[np.ndarray, np.ndarray, Arrays]:
    trend = ind.ema(close, ema_period)
    rsi_in, rsi_out, value = _rsi_rules(close, rsi_period, rsi_oversold, rsi_overbought)
    entries = rsi_in & (close > trend)
    exits = rsi_out | ind.crossed_below(close, trend)
    warm = max(ema_period, rsi_period + 1)
    entries[:warm] = exits[:warm] = False
    return entries, exits, {f"ema_{ema_period}": trend, "rsi": value}


def _fast_below_slow(p: Mapping[str, int]) -> dict[str, str]:
    if p["ema_fast"] >= p["ema_slow"]:
        return {"ema_fast": f"must be less than ema_slow ({p['ema_slow']})"}
    return {}


def _rsi_ordered(p: Mapping[str, int]) -> dict[str, str]:
    if p["rsi_oversold"] >= p["rsi_overbought"]:
        return {"rsi_oversold": f"must be less than rsi_overbought ({p['rsi_overbought']})"}
    return {}


RSI_PARAMS = (
    Param("rsi_period", 14, 2, 500),
    Param("rsi_oversold", 30, 1, 98),
    Param("rsi_overbought", 70, 2, 99),
)

STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            "ema_cross",
            "Long when the fast EMA crosses above the slow one; out when it crosses back below.",
            (Param("ema_fast", 12, 1, 1000), Param("ema_slow", 26, 2, 2000)),
            _ema_cross,
            _fast_below_slow,
        ),
        Strategy(
            "rsi",
            "Long when RSI climbs out of the oversold zone; out when it climbs "
            "into the overbought zone.",
            RSI_PARAMS,
            _rsi,
            _rsi_ordered,
        ),
        Strategy(
            "ema_rsi",
            "The RSI rule, but only above a trend EMA; also out when the "
            "close falls below that EMA.",
            (Param("ema_period", 200, 2, 2000), *RSI_PARAMS),
            _ema_rsi,
            _rsi_ordered,
        ),
    )
}


def get_strategy(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        known = ", ".join(sorted(STRATEGIES))
        raise ValidationError(
            {"strategy": f"unknown strategy {name!r}; known: {known}"}, entity="strategy"
        ) from None
