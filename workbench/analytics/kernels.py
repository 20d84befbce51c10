"""The return statistics' sums in one compiled pass over an equity curve (plus one for the
spread), so a 500,000-bar backtest's stats cost about as much as its engine loop.
Imported only where used (numba)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def curve_moments(values: np.ndarray) -> tuple[float, float, float, float]:
    """Of the per-bar simple returns of ``values`` (all > 0, at least 3): mean, standard
    deviation (ddof 1), downside deviation (root mean square of the negative part); and
    the deepest fall from a running peak of ``values`` (a positive fraction)."""
    n = values.shape[0]
    total = 0.0
    downside = 0.0
    peak = values[0]
    worst = 0.0
    for i in range(1, n):
        r = values[i] / values[i - 1] - 1.0
        total += r
        if r < 0.0:
            downside += r * r
        v = values[i]
        if v > peak:
            peak = v
        elif 1.0 - v / peak > worst:
            worst = 1.0 - v / peak
    count = n - 1
    mean = total / count
    spread = 0.0
    for i in range(1, n):
        d = values[i] / values[i - 1] - 1.0 - mean
        spread += d * d
    return mean, math.sqrt(spread / (count - 1)), math.sqrt(downside / count), worst
