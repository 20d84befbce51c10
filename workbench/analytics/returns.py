"""Return statistics of an equity curve, annualised on a 365-day year from its bar spacing.

The definitions are empyrical's (``tests/analytics`` checks them against empyrical-reloaded):
per-bar simple returns, Sharpe = mean / std (ddof 1) x sqrt(periods per year), Sortino =
mean x periods / downside deviation (root mean square of the negative part, annualised),
volatility = std (ddof 1) x sqrt(periods per year), CAGR compounds the bar returns over
``bars / periods per year`` years. No risk-free rate.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

YEAR = pd.Timedelta(days=365)


def bar_spacing(index: pd.DatetimeIndex) -> pd.Timedelta | None:
    """The median spacing of ``index`` (any unit: s, ms, us, ns); None with under 2 bars."""
    if len(index) < 2:
        return None
    from workbench.analytics.kernels import evenly_spaced

    if evenly_spaced(index.asi8):  # the median is any step
        spacing = index[1] - index[0]
    else:
        steps = index[1:] - index[:-1]  # a TimedeltaIndex in the index's own unit
        spacing = pd.Timedelta(steps.median())
    return spacing if spacing > pd.Timedelta(0) else None


def periods_per_year(index: pd.DatetimeIndex) -> float | None:
    """How many bars of ``index``'s spacing fit in a 365-day year."""
    spacing = bar_spacing(index)
    return None if spacing is None else YEAR / spacing


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def return_stats(equity: pd.Series) -> dict[str, float | None]:
    """Sharpe, Sortino, annualised volatility, CAGR and max drawdown of ``equity`` (a curve
    on a DatetimeIndex, marked once per bar). Undefined figures are None."""
    values = np.ascontiguousarray(equity.to_numpy(dtype="float64"))
    periods = periods_per_year(pd.DatetimeIndex(equity.index))
    if periods is None or len(values) < 3:
        return _undefined(values)
    from workbench.analytics.kernels import curve_moments

    positive, mean, std, downside, drawdown = curve_moments(values)
    if not positive:  # a value <= 0 (or NaN): no returns to speak of
        return _undefined(values)
    returns = len(values) - 1
    growth = values[-1] / values[0]
    return {
        "sharpe_ratio": _finite(mean / std * math.sqrt(periods)) if std > 0 else None,
        "sortino_ratio": _finite(mean / downside * math.sqrt(periods)) if downside > 0 else None,
        "annualized_volatility": _finite(std * math.sqrt(periods)),
        "cagr": _finite(growth ** (periods / returns) - 1.0),
        "max_drawdown": drawdown,
    }


def _undefined(values: np.ndarray) -> dict[str, float | None]:
    return {
        "sharpe_ratio": None,
        "sortino_ratio": None,
        "annualized_volatility": None,
        "cagr": None,
        "max_drawdown": max_drawdown(values),
    }


def max_drawdown(values: np.ndarray) -> float:
    """The deepest fall from a running peak, as a positive fraction (0 when none)."""
    if len(values) == 0:
        return 0.0
    peaks = np.maximum.accumulate(values)
    if peaks[0] > 0:  # so is every peak: 1 - the least v / peak is the largest fall, exactly
        return float(1.0 - np.fmin.reduce(values / peaks))  # (NaN closes a peak: skipped)
    with np.errstate(divide="ignore", invalid="ignore"):
        falls = np.where(peaks > 0, 1.0 - values / peaks, 0.0)
    return float(falls.max())
