"""The live bot's question: what does the strategy say on the last closed bar, and why?

A bar is closed when ``open time + timeframe <= now``. Bars that are still open (normally
only the newest row an exchange returns) are dropped before deciding; the decision is
then read off ``Strategy.signals`` on the closed bars: the same function the backtest
runs, so a bot replayed over history decides exactly what the backtest did.

The tick computes the signals itself and asks ``explain_tick`` for the sentence it adds to
its result (and to the bot's event): what the strategy said on the last bar, and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from workbench.errors import ValidationError
from workbench.market.timeframes import timeframe_ms
from workbench.strategies.base import Params, Signals, Strategy
from workbench.strategies.registry import get_strategy
from workbench.timeutil import now_utc, utc

Action = Literal["enter", "exit", "hold"]


@dataclass(frozen=True)
class StrategySignal:
    """What the strategy says at the close of ``bar_time`` (that bar's open time).

    ``action`` is the signal, not an order: "enter" while already in a position (or
    "exit" while flat) is for the bot's position rules to ignore. ``indicators`` holds the
    indicator values and the close on the decided bar; ``previous`` the same on the bar
    before (what a crossing is measured against).
    """

    action: Action
    reason: str
    strategy: str
    params: Params
    bar_time: pd.Timestamp
    closed_at: pd.Timestamp
    indicators: dict[str, float]
    previous: dict[str, float] = field(default_factory=dict)
    open_bars_ignored: int = 0
    signals: Signals | None = field(default=None, repr=False, compare=False)


def _bar_length(index: pd.DatetimeIndex, timeframe: str | pd.Timedelta | None) -> pd.Timedelta:
    if isinstance(timeframe, pd.Timedelta):
        return timeframe
    if timeframe is not None:
        return pd.Timedelta(milliseconds=timeframe_ms(timeframe))
    steps = np.diff(index[-1000:].tz_convert(None).to_numpy())
    steps = steps[steps > np.timedelta64(0)]
    if steps.size == 0:
        raise ValidationError(
            {"timeframe": "cannot tell the bar length from fewer than two bars; pass timeframe"},
            entity="decision",
        )
    return pd.Timedelta(steps.min())  # gaps only lengthen steps


def _values(signals: Signals, close: pd.Series, at: int) -> dict[str, float]:
    if at < 0:
        return {name: float("nan") for name in [*signals.indicators.columns, "close"]}
    row = {str(k): float(v) for k, v in signals.indicators.iloc[at].items()}
    row["close"] = float(close.iloc[at])
    return row


def last_closed_signal(
    candles: pd.DataFrame,
    strategy: Strategy | str,
    params: Mapping[str, Any] | None = None,
    now: datetime | pd.Timestamp | None = None,
    *,
    timeframe: str | pd.Timedelta | None = None,
) -> StrategySignal:
    """The decision on the newest closed bar of ``candles`` ("enter", "exit" or "hold"),
    with the indicator values and a reason a person can read.

    ``now`` defaults to the current time (naive is taken as UTC); ``timeframe`` (e.g.
    "5m") to the smallest step of the index. Rows whose bar has not closed by ``now`` are ignored.
    """
    chosen = get_strategy(strategy)
    values = chosen.validate(params)
    index = candles.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValidationError(
            {"candles": "the index must be UTC bar open times (a tz-aware DatetimeIndex)"},
            entity="candles",
        )
    moment = pd.Timestamp(utc(now) if now is not None else now_utc())
    length = _bar_length(index, timeframe)
    n_closed = int(index.searchsorted(moment - length, side="right"))
    if n_closed == 0:
        raise ValidationError(
            {"candles": f"no bar has closed by {moment} (bars of {length})"}, entity="candles"
        )
    closed = candles.iloc[:n_closed]
    signals = chosen.signals(closed, **values)
    last = n_closed - 1
    action, reason = explain_last_bar(chosen, values, signals, closed["close"])
    bar_time = closed.index[last]
    return StrategySignal(
        action=action,
        reason=reason,
        strategy=chosen.name,
        params=values,
        bar_time=bar_time,
        closed_at=bar_time + length,
        indicators=_values(signals, closed["close"], last),
        previous=_values(signals, closed["close"], last - 1),
        open_bars_ignored=len(candles) - n_closed,
        signals=signals,
    )


def explain_last_bar(
    strategy: Strategy, params: Params, signals: Signals, close: pd.Series
) -> tuple[Action, str]:
    """The strategy's signal on the last bar of ``close`` and a sentence saying why (or
    that it is still warming up)."""
    last = len(close) - 1
    action: Action
    if bool(signals.exits.iloc[last]):
        action = "exit"
    elif bool(signals.entries.iloc[last]):
        action = "enter"
    else:
        action = "hold"
    if last + 1 <= signals.warmup:
        return action, (
            f"warming up: {strategy.name} signals from closed bar {signals.warmup + 1} on; "
            f"{last + 1} closed so far"
        )
    now, before = _values(signals, close, last), _values(signals, close, last - 1)
    return action, strategy.explain(action, params, now, before)


def explain_tick(
    note: str, strategy: Strategy, config: Any, signals: Signals, candles: pd.DataFrame
) -> str:
    """``note`` (what else a tick has to say) followed by the strategy's sentence on the last
    of ``candles``, as ``strategy says enter: EMA(9) crossed above EMA(21): ...``."""
    action, why = explain_last_bar(
        strategy, strategy.params_from_config(config), signals, candles["close"]
    )
    said = f"strategy says {action}: {why}"
    return f"{note}; {said}" if note else said
