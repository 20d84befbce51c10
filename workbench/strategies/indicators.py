"""Indicators as pure functions of price arrays: one period, or many periods at once.

``ema`` and ``rsi`` take a 1-D numpy array or a pandas Series and return the same kind
(a Series keeps its index). ``ema_many`` and ``rsi_many`` return a (bars x periods)
matrix for sweeps; column ``j`` is bit-for-bit ``ema(values, periods[j])``, because both
run the same compiled recursion.

Definitions
-----------
EMA
    alpha = 2 / (period + 1), seeded with the first value, then
    ``ema[i] = ema[i-1] + alpha * (x[i] - ema[i-1])``: pandas
    ``Series.ewm(span=period, adjust=False).mean()``.
RSI (Wilder)
    changes ``d[i] = x[i] - x[i-1]``; the first average gain/loss is the simple mean of
    ``d[1..period]``, then ``avg = (avg * (period - 1) + d) / period``.
    ``RSI = 100 - 100 / (1 + avg_gain / avg_loss)``; 100 when only gains, 0 when only
    losses, 50 when the price did not move at all. NaN for the first ``period`` bars
    (index ``period`` is the first value).

Inputs must not contain NaN (a NaN poisons every later value of a recursion); the
strategies refuse such candles with a clear error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import pandas as pd
from numba import njit

from workbench.errors import ValidationError

ArrayOrSeries = TypeVar("ArrayOrSeries", np.ndarray, pd.Series)

# --- compiled kernels (private: arrays in, arrays out, no checks) ---------------------


@njit(cache=True, nogil=True, inline="always")
def ema_alpha(period: int) -> float:
    """The EMA's smoothing factor for ``period`` bars."""
    return 2.0 / (period + 1.0)


@njit(cache=True, nogil=True, inline="always")
def ema_step(acc: float, alpha: float, x: float) -> float:
    """The EMA after value ``x``, from ``acc`` before it: the one recursion every compiled
    EMA here runs (so any two give the same bits)."""
    return acc + alpha * (x - acc)


@njit(cache=True, nogil=True)
def _ema_into(values: np.ndarray, period: int, out: np.ndarray) -> None:
    n = values.shape[0]
    if n == 0:
        return
    alpha = ema_alpha(period)
    acc = values[0]
    out[0] = acc
    for i in range(1, n):
        acc = ema_step(acc, alpha, values[i])
        out[i] = acc


@njit(cache=True, nogil=True)
def _rsi_value(gain: float, loss: float) -> float:
    if loss == 0.0:
        return 50.0 if gain == 0.0 else 100.0
    return 100.0 - 100.0 / (1.0 + gain / loss)


@njit(cache=True, nogil=True)
def _rsi_into(values: np.ndarray, period: int, out: np.ndarray) -> None:
    n = values.shape[0]
    out[:] = np.nan
    if n <= period:
        return
    gain = 0.0
    loss = 0.0
    for i in range(1, period + 1):
        change = values[i] - values[i - 1]
        if change > 0.0:
            gain += change
        else:
            loss -= change
    gain /= period
    loss /= period
    out[period] = _rsi_value(gain, loss)
    for i in range(period + 1, n):
        change = values[i] - values[i - 1]
        up = change if change > 0.0 else 0.0
        down = -change if change < 0.0 else 0.0
        gain = (gain * (period - 1) + up) / period
        loss = (loss * (period - 1) + down) / period
        out[i] = _rsi_value(gain, loss)


@njit(cache=True, nogil=True)
def _ema4_into(values: np.ndarray, periods: np.ndarray, out: np.ndarray) -> None:
    """Four EMAs in one pass: the same recursion as ``_ema_into`` (bit for bit), but the
    four independent chains overlap in the CPU instead of waiting on each other."""
    n = values.shape[0]
    if n == 0:
        return
    a0, a1 = ema_alpha(periods[0]), ema_alpha(periods[1])
    a2, a3 = ema_alpha(periods[2]), ema_alpha(periods[3])
    e0 = e1 = e2 = e3 = values[0]
    out[0, 0], out[1, 0], out[2, 0], out[3, 0] = e0, e1, e2, e3
    for i in range(1, n):
        x = values[i]
        e0 = ema_step(e0, a0, x)
        e1 = ema_step(e1, a1, x)
        e2 = ema_step(e2, a2, x)
        e3 = ema_step(e3, a3, x)
        out[0, i], out[1, i], out[2, i], out[3, i] = e0, e1, e2, e3


@njit(cache=True, nogil=True)
def _ema2_into(values: np.ndarray, periods: np.ndarray, out: np.ndarray) -> None:
    """Two EMAs in one pass (see ``_ema4_into``)."""
    n = values.shape[0]
    if n == 0:
        return
    a0, a1 = ema_alpha(periods[0]), ema_alpha(periods[1])
    e0 = e1 = values[0]
    out[0, 0], out[1, 0] = e0, e1
    for i in range(1, n):
        x = values[i]
        e0 = ema_step(e0, a0, x)
        e1 = ema_step(e1, a1, x)
        out[0, i], out[1, i] = e0, e1


@njit(cache=True, nogil=True)
def ema_rows(values: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """EMAs as a (periods x bars) C-ordered matrix: each period's series is one row."""
    k = periods.shape[0]
    out = np.empty((k, values.shape[0]))
    j = 0
    while k - j >= 4:
        _ema4_into(values, periods[j : j + 4], out[j : j + 4])
        j += 4
    if k - j >= 2:
        _ema2_into(values, periods[j : j + 2], out[j : j + 2])
        j += 2
    if j < k:
        _ema_into(values, periods[j], out[j])
    return out


@njit(cache=True, nogil=True)
def rsi_rows(values: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """RSIs as a (periods x bars) C-ordered matrix: each period's series is one row."""
    out = np.empty((periods.shape[0], values.shape[0]))
    for j in range(periods.shape[0]):
        _rsi_into(values, periods[j], out[j])
    return out


# --- public functions ------------------------------------------------------------------


def _as_array(values: np.ndarray | pd.Series) -> np.ndarray:
    array = np.ascontiguousarray(
        values.to_numpy(dtype="float64") if isinstance(values, pd.Series) else values,
        dtype=np.float64,
    )
    if array.ndim != 1:
        raise ValidationError(
            {"values": f"must be 1-D, got shape {array.shape}"}, entity="indicator"
        )
    return array


def _periods(periods: int | Sequence[int] | np.ndarray, low: int) -> np.ndarray:
    array = np.atleast_1d(np.asarray(periods))
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValidationError(
            {"period": f"must be whole numbers, got {periods!r}"}, entity="indicator"
        )
    if array.size and array.min() < low:
        raise ValidationError(
            {"period": f"must be at least {low}, got {int(array.min())}"}, entity="indicator"
        )
    return array.astype(np.int64)


def _like(template: ArrayOrSeries, out: np.ndarray, name: str) -> ArrayOrSeries:
    if isinstance(template, pd.Series):
        return pd.Series(out, index=template.index, name=name)  # type: ignore[return-value]
    return out  # type: ignore[return-value]


def ema(values: ArrayOrSeries, period: int) -> ArrayOrSeries:
    """Exponential moving average (pandas ``ewm(span=period, adjust=False)``)."""
    p = _periods(period, 1)
    return _like(values, ema_rows(_as_array(values), p)[0], f"ema_{int(p[0])}")


def rsi(values: ArrayOrSeries, period: int) -> ArrayOrSeries:
    """Wilder's relative strength index; NaN for the first ``period`` bars."""
    p = _periods(period, 1)
    return _like(values, rsi_rows(_as_array(values), p)[0], f"rsi_{int(p[0])}")


def ema_many(values: np.ndarray | pd.Series, periods: Sequence[int] | np.ndarray) -> np.ndarray:
    """EMAs for several periods at once: a (bars x periods) matrix (column-major view)."""
    return ema_rows(_as_array(values), _periods(periods, 1)).T


def rsi_many(values: np.ndarray | pd.Series, periods: Sequence[int] | np.ndarray) -> np.ndarray:
    """RSIs for several periods at once: a (bars x periods) matrix (column-major view)."""
    return rsi_rows(_as_array(values), _periods(periods, 1)).T


def _pair(
    a: np.ndarray | pd.Series, b: np.ndarray | pd.Series | float
) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=np.float64)
    return x, np.broadcast_to(np.asarray(b, dtype=np.float64), x.shape)


def crossed_above(a: np.ndarray | pd.Series, b: np.ndarray | pd.Series | float) -> np.ndarray:
    """True where ``a`` closes above ``b`` after closing at or below it on the bar before."""
    a, b = _pair(a, b)
    out = np.zeros(a.shape[0], dtype=bool)
    out[1:] = (a[1:] > b[1:]) & (a[:-1] <= b[:-1])
    return out


def crossed_below(a: np.ndarray | pd.Series, b: np.ndarray | pd.Series | float) -> np.ndarray:
    """True where ``a`` closes below ``b`` after closing at or above it on the bar before."""
    a, b = _pair(a, b)
    out = np.zeros(a.shape[0], dtype=bool)
    out[1:] = (a[1:] < b[1:]) & (a[:-1] >= b[:-1])
    return out
