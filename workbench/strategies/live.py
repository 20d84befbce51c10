"""The live bot's question: what does the strategy say on the last closed bar, and why?

A bar is closed when ``open time + timeframe <= now``. Bars that are still open (normally
only the newest row an exchange returns) are dropped before deciding; the decision is
then read off ``Strategy.signals`` on the closed bars: the same function the backtest
runs, so a bot replayed over history decides exactly what the backtest did.
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

Action = Literal["enter", "exit", "hold"]


@dataclass(frozen=True)
class Decision:
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


def _utc(now: datetime | pd.Timestamp | None) -> pd.Timestamp:
    if now is None:
        return pd.Timestamp.now(tz="UTC")
    stamp = pd.Timestamp(now)
    if stamp.tzinfo is None:
        raise ValidationError({"now": f"{now} has no timezone; use UTC"}, entity="decision")
    return stamp.tz_convert("UTC")


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
) -> Decision:
    """The decision on the newest closed bar of ``candles`` ("enter", "exit" or "hold"),
    with the indicator values and a reason a person can read.

    ``now`` defaults to the current UTC time; ``timeframe`` (e.g. "5m") to the smallest
    step of the index. Rows whose bar has not closed by ``now`` are ignored.
    """
    chosen = get_strategy(strategy)
    values = chosen.validate(params)
    index = candles.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValidationError(
            {"candles": "the index must be UTC bar open times (a tz-aware DatetimeIndex)"},
            entity="candles",
        )
    moment = _utc(now)
    length = _bar_length(index, timeframe)
    n_closed = int(index.searchsorted(moment - length, side="right"))
    if n_closed == 0:
        raise ValidationError(
            {"candles": f"no bar has closed by {moment} (bars of {length})"}, entity="candles"
        )
    closed = candles.iloc[:n_closed]
    signals = chosen.signals(closed, **values)
    last = n_closed - 1
    now_values = _values(signals, closed["close"], last)
    before = _values(signals, closed["close"], last - 1)
    action: Action
    if bool(signals.exits.iloc[last]):
        action = "exit"
    elif bool(signals.entries.iloc[last]):
        action = "enter"
    else:
        action = "hold"
    if n_closed <= signals.warmup:
        reason = (
            f"warming up: {chosen.name} signals from closed bar {signals.warmup + 1} on; "
            f"{n_closed} closed so far"
        )
    else:
        reason = chosen.explain(action, values, now_values, before)
    bar_time = closed.index[last]
    return Decision(
        action=action,
        reason=reason,
        strategy=chosen.name,
        params=values,
        bar_time=bar_time,
        closed_at=bar_time + length,
        indicators=now_values,
        previous=before,
        open_bars_ignored=len(candles) - n_closed,
        signals=signals,
    )
