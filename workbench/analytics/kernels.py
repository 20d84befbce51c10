"""The return statistics' sums in one compiled pass over an equity curve (plus one over
the returns for their spread), so a 500,000-bar backtest's stats cost a fraction of its
engine loop. Sums run in four interleaved partial sums (bar i adds to sum i mod 4, as
numpy's do in blocks), kept in registers: the CPU overlaps them instead of waiting on one.
Imported only where used (numba)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def evenly_spaced(ticks: np.ndarray) -> bool:
    """Whether every step of ``ticks`` (at least 2) equals the first (one pass, no branch
    per step: the compiler vectorizes it)."""
    step = ticks[1] - ticks[0]
    uneven = 0
    for i in range(1, ticks.shape[0]):
        uneven |= (ticks[i] - ticks[i - 1]) ^ step
    return uneven == 0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _fall(low: float, peak: float, worst: float) -> float:
    """The worst fall so far, after a stretch whose peak was ``peak`` and lowest ``low``."""
    fall = 1.0 - low / peak
    return fall if fall > worst else worst


@njit(cache=True, nogil=True, error_model="numpy")  # x / 0: inf, not an exception
def curve_moments(values: np.ndarray) -> tuple[bool, float, float, float, float]:
    """Whether every value of ``values`` (at least 3) is > 0; and if so, of its per-bar
    simple returns: mean, standard deviation (ddof 1), downside deviation (root mean square
    of the negative part); and the deepest fall from a running peak of ``values`` (a
    positive fraction). The deepest fall under one peak is at the lowest value before the
    next peak (``1 - v / peak`` only grows as v falls), so it is divided once a stretch."""
    n = values.shape[0]
    count = n - 1
    returns = np.empty(count)
    s0 = s1 = s2 = s3 = 0.0  # sums of returns, bar i in s(i mod 4)
    d0 = d1 = d2 = d3 = 0.0  # sums of squared negative returns
    positive = values[0] > 0.0
    peak = low = values[0]
    worst = 0.0
    for i in range(count):
        before, v = values[i], values[i + 1]
        positive &= v > 0.0
        r = v / before - 1.0
        returns[i] = r
        down = min(r, 0.0)
        lane = i & 3
        if lane == 0:
            s0 += r
            d0 += down * down
        elif lane == 1:
            s1 += r
            d1 += down * down
        elif lane == 2:
            s2 += r
            d2 += down * down
        else:
            s3 += r
            d3 += down * down
        if v > peak:
            worst = _fall(low, peak, worst)
            peak = low = v
        else:
            low = min(low, v)
    worst = _fall(low, peak, worst)
    mean = (s0 + s1 + s2 + s3) / count
    p0 = p1 = p2 = p3 = 0.0
    for i in range(count):
        d = returns[i] - mean
        lane = i & 3
        if lane == 0:
            p0 += d * d
        elif lane == 1:
            p1 += d * d
        elif lane == 2:
            p2 += d * d
        else:
            p3 += d * d
    spread = p0 + p1 + p2 + p3
    downside = d0 + d1 + d2 + d3
    return positive, mean, math.sqrt(spread / (count - 1)), math.sqrt(downside / count), worst
