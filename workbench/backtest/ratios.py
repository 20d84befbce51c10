"""Return ratios of an equity curve, compiled: the same figures as vectorbt's returns
accessor (``sharpe_ratio``, ``sortino_ratio``, ``annualized_volatility`` with a 365-day
year), computed with the same numba operations, without loading vectorbt (3 s) or building
its accessor (tens of ms on 500,000 bars)."""

from __future__ import annotations

import numpy as np
from numba import njit

DAYS_PER_YEAR = 365


@njit(cache=True)
def return_ratios(returns: np.ndarray, ann_factor: float) -> tuple[float, float, float]:
    """(Sharpe, Sortino, annualized volatility) of per-bar ``returns``, risk-free and
    required return 0, ``ann_factor`` bars a year; NaN for fewer than 2 bars and infinite
    when there is no (downside) deviation, as vectorbt returns them."""
    n = returns.shape[0]
    if n < 2:
        return np.nan, np.nan, np.nan
    count = n - np.count_nonzero(np.isnan(returns))
    dof = max(count - 1, 0)
    std = np.nan if dof == 0 else np.sqrt(np.nanvar(returns) * count / dof)
    volatility = std * ann_factor ** (1.0 / 2.0)
    mean = np.nanmean(returns)
    sharpe = np.inf if std == 0.0 else mean / std * np.sqrt(ann_factor)
    downside = returns.copy()
    downside[downside > 0] = 0
    risk = np.sqrt(np.nanmean(downside**2)) * np.sqrt(ann_factor)
    sortino = np.inf if risk == 0.0 else mean * ann_factor / risk
    return sharpe, sortino, volatility
