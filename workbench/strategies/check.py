"""Safety nets for a strategy: the look-ahead check and the warm-up measure.

Look-ahead: the signals are recomputed on many truncated prefixes of the history and
compared bar by bar with the full-history signals; a strategy that decides on closed bars
gives the same flags (and indicators) inside every prefix. Any difference is look-ahead:
the full history changed a bar's decision that the prefix could not know.

Warm-up: the signals are recomputed from later starts; the last bar whose flags or
indicators still differ from the full-history ones says how much history the strategy
needs before its signals stop depending on where the history starts (EMA-like recursion,
long windows).
A live tick reads at least that many bars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import ValidationError
from workbench.strategies.base import Signals, Strategy
from workbench.strategies.registry import get_strategy

PREFIXES = 40
STARTS = (1, 13, 101)
RTOL = 1e-9  # look-ahead: same start, so indicators agree to rounding
WARMUP_RTOL = 1e-6


@dataclass(frozen=True)
class Difference:
    """The first bar where a prefix's signals disagree with the full history's."""

    bar: int
    time: pd.Timestamp
    series: str
    full: Any
    prefix: Any
    prefix_bars: int

    def sentence(self) -> str:
        return (
            f"bar {self.time} (#{self.bar}), series {self.series}: {_plain(self.full)!r} with "
            f"the full history but {_plain(self.prefix)!r} with history up to bar "
            f"#{self.prefix_bars - 1}"
        )


@dataclass(frozen=True)
class CheckReport:
    """What ``check_strategy`` found; ``passed`` is false on look-ahead."""

    strategy: str
    params: dict[str, Any]
    fingerprint: str
    bars: int
    prefixes: int
    look_ahead: Difference | None
    warmup: int
    warmup_complete: bool
    declared_warmup: int
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.look_ahead is None

    @property
    def history_bars(self) -> int:
        """Bars a live tick needs: the warm-up (measured or declared) and the bar decided."""
        return max(self.warmup, self.declared_warmup) + 1

    def summary(self) -> str:
        warm = f"{self.warmup}" if self.warmup_complete else f"more than {self.warmup}"
        head = f"{self.strategy} {self.params} on {self.bars} bars ({self.prefixes} prefixes)"
        if self.look_ahead is not None:
            return f"{head}: LOOK-AHEAD at {self.look_ahead.sentence()}"
        return f"{head}: no look-ahead; warm-up {warm} bars (declared {self.declared_warmup})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "params": self.params,
            "fingerprint": self.fingerprint,
            "bars": self.bars,
            "passed": self.passed,
            "look_ahead": None
            if self.look_ahead is None
            else {
                "bar": self.look_ahead.bar,
                "time": self.look_ahead.time.isoformat(),
                "series": self.look_ahead.series,
                "full": _plain(self.look_ahead.full),
                "prefix": _plain(self.look_ahead.prefix),
            },
            "warmup": self.warmup,
            "warmup_complete": self.warmup_complete,
            "declared_warmup": self.declared_warmup,
            "history_bars": self.history_bars,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and np.isnan(value) else value


def _columns(signals: Signals) -> dict[str, np.ndarray]:
    columns = {k: v.to_numpy() for k, v in signals.series().items()}
    for name in signals.indicators.columns:
        columns[f"indicator {name}"] = signals.indicators[name].to_numpy(dtype="float64")
    return columns


def _differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype == bool or b.dtype == bool:
        return a != b
    both_nan = np.isnan(a) & np.isnan(b)
    close = np.isclose(a, b, rtol=RTOL, atol=0.0)
    return ~(both_nan | close)


def _first_difference(
    full: dict[str, np.ndarray], part: dict[str, np.ndarray], index: pd.Index, length: int
) -> Difference | None:
    found: Difference | None = None
    for name, values in part.items():
        if name not in full:
            continue
        where = np.flatnonzero(_differs(full[name][:length], values))
        if where.size and (found is None or where[0] < found.bar):
            bar = int(where[0])
            found = Difference(
                bar, index[bar], name, full[name][bar], values[bar], prefix_bars=length
            )
    return found


def _start_dependence(full: dict[str, np.ndarray], part: dict[str, np.ndarray], start: int) -> int:
    """Leading bars of ``part`` (started at ``start``) whose flags or indicators still
    differ from the full history's (indicators to a relative 1e-6: a recursion that has
    converged that far no longer moves a decision)."""
    last = -1
    for name, values in part.items():
        if name.startswith("indicator "):
            both_nan = np.isnan(full[name][start:]) & np.isnan(values)
            close = np.isclose(full[name][start:], values, rtol=WARMUP_RTOL, atol=0.0)
            where = np.flatnonzero(~(both_nan | close))
        else:
            where = np.flatnonzero(full[name][start:] != values)
        if where.size:
            last = max(last, int(where[-1]))
    return last + 1


def check_strategy(
    strategy: Strategy | str,
    candles: pd.DataFrame,
    params: dict[str, Any] | None = None,
    *,
    prefixes: int = PREFIXES,
) -> CheckReport:
    """Look-ahead check and warm-up measure of ``strategy`` with ``params`` on ``candles``."""
    chosen = get_strategy(strategy)
    values = chosen.validate(params or {})
    n = len(candles)
    if n < 20:
        raise ValidationError(
            {"candles": f"need at least 20 bars to check a strategy, got {n}"}, entity="check"
        )
    full = _columns(chosen.signals(candles, **values))
    first = max(2, min(n // 10, 50))
    cuts = sorted({int(c) for c in np.linspace(first, n - 1, num=max(2, prefixes))})
    look_ahead: Difference | None = None
    for cut in cuts:
        part = _columns(chosen.signals(candles.iloc[:cut], **values))
        look_ahead = _first_difference(full, part, candles.index, cut)
        if look_ahead is not None:
            break
    warmup, complete = 0, True
    if look_ahead is None:
        for start in sorted({s for s in (*STARTS, n // 3) if 0 < s < n - 10}):
            part = _columns(chosen.signals(candles.iloc[start:], **values))
            need = _start_dependence(full, part, start)
            if need >= n - start:
                complete = False
            warmup = max(warmup, need)
    return CheckReport(
        strategy=chosen.name,
        params=values,
        fingerprint=chosen.fingerprint,
        bars=n,
        prefixes=len(cuts),
        look_ahead=look_ahead,
        warmup=warmup,
        warmup_complete=complete,
        declared_warmup=chosen.warmup(values),
    )
