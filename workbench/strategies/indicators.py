"""Indicators as pure functions of price arrays (compiled), one period or many at once."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def ema(values: np.ndarray, period: int) -> np.ndarray:
    """Exponential moving average, alpha = 2 / (period + 1), seeded with the first value
    (pandas ``ewm(span=period, adjust=False)``)."""
    out = np.empty_like(values)
    alpha = 2.0 / (period + 1.0)
    acc = values[0]
    for i in range(values.shape[0]):
        acc = acc + alpha * (values[i] - acc) if i else values[0]
        out[i] = acc
    return out


@njit(cache=True, parallel=True)
def ema_many(values: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """EMAs for several periods: a (bars x periods) matrix."""
    out = np.empty((values.shape[0], periods.shape[0]))
    for j in prange(periods.shape[0]):
        out[:, j] = ema(values, periods[j])
    return out


@njit(cache=True)
def rsi(values: np.ndarray, period: int) -> np.ndarray:
    """Relative strength index with Wilder's smoothing; NaN for the first ``period`` bars."""
    n = values.shape[0]
    out = np.full(n, np.nan)
    if n <= period:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(1, period + 1):
        change = values[i] - values[i - 1]
        if change > 0:
            gain += change
        else:
            loss -= change
    gain /= period
    loss /= period
    out[period] = 100.0 if loss == 0.0 else 100.0 - 100.0 / (1.0 + gain / loss)
    for i in range(period + 1, n):
        change = values[i] - values[i - 1]
        up = change if change > 0 else 0.0
        down = -change if change < 0 else 0.0
        gain = (gain * (period - 1) + up) / period
        loss = (loss * (period - 1) + down) / period
        out[i] = 100.0 if loss == 0.0 else 100.0 - 100.0 / (1.0 + gain / loss)
    return out


@njit(cache=True)
def crossed_above(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where ``a`` closes above ``b`` after closing at or below it on the bar before."""
    out = np.zeros(a.shape[0], dtype=np.bool_)
    for i in range(1, a.shape[0]):
        out[i] = a[i] > b[i] and a[i - 1] <= b[i - 1]
    return out


@njit(cache=True)
def crossed_below(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where ``a`` closes below ``b`` after closing at or above it on the bar before."""
    out = np.zeros(a.shape[0], dtype=np.bool_)
    for i in range(1, a.shape[0]):
        out[i] = a[i] < b[i] and a[i - 1] >= b[i - 1]
    return out
