"""Isolated-margin arithmetic shared by the paper exchange and the rule engine."""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def liquidation_price(entry: float, leverage: float, maint_margin: float) -> float:
    """Long position, isolated margin: the price at which the margin left equals the
    maintenance margin (0 when unleveraged: a spot-like position is never liquidated)."""
    if leverage <= 1.0:
        return 0.0
    return entry * (1.0 - 1.0 / leverage + maint_margin)
