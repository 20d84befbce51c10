"""Run the rule engine over history: one backtest with every fill, or a sweep of many
signal sets at once (compiled, parallel over parameter sets)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from workbench.rules.engine import (
    ENTER,
    EXIT,
    NONE,
    R_LIQUIDATION,
    S_ENTRY_FEE,
    S_LIQ_PRICE,
    S_MARGIN,
    S_PENDING,
    S_PENDING_REASON,
    S_QTY,
    apply_entry,
    apply_exit,
    begin_bar,
    equity,
    fill_pending,
    new_state,
    on_close,
)

# Columns of the fills array returned by ``simulate``.
F_BAR, F_SIDE, F_PRICE, F_QTY, F_FEE, F_PNL, F_REASON = range(7)
N_FILL_COLS = 7


@njit(cache=True)
def _step(state, params, t, open_time, open_, high, low, close, entries, exits, fills, n_fills):
    """One bar through the engine; appends fills when ``fills`` has rows (else only counts)."""
    begin_bar(state, params, open_time[t], open_[t])
    if state[S_QTY] == 0.0 and state[S_PENDING] == NONE and not entries[t]:
        # Flat, nothing to fill, no entry signal: the close cannot change anything (cash and
        # the day's reference are what the last close already checked), so skip it.
        return n_fills
    reason = state[S_PENDING_REASON]
    side, price, qty, fee = fill_pending(state, params, open_[t])
    pnl = 0.0
    if side == ENTER:
        apply_entry(state, params, price, qty, fee)
    elif side == EXIT:
        pnl = apply_exit(state, params, price, fee)
    if side != 0.0:
        if fills.shape[0] > 0:
            row = fills[n_fills]
            row[F_BAR], row[F_SIDE], row[F_PRICE], row[F_QTY] = t, side, price, qty
            row[F_FEE], row[F_PNL], row[F_REASON] = fee, pnl, reason
        n_fills += 1
    liq_price, held = state[S_LIQ_PRICE], state[S_QTY]
    liq_pnl = -(state[S_MARGIN] + state[S_ENTRY_FEE])
    if on_close(state, params, high[t], low[t], close[t], entries[t], exits[t]) == R_LIQUIDATION:
        if fills.shape[0] > 0:
            row = fills[n_fills]
            row[F_BAR], row[F_SIDE], row[F_PRICE], row[F_QTY] = t, EXIT, liq_price, held
            row[F_FEE], row[F_PNL], row[F_REASON] = 0.0, liq_pnl, R_LIQUIDATION
        n_fills += 1
    return n_fills


@njit(cache=True)
def simulate(open_time, open_, high, low, close, entries, exits, params):
    """Backtest one signal set: returns (equity per bar at close, fills array, final state)."""
    n = close.shape[0]
    state = new_state(params)
    fills = np.empty((2 * n + 2, N_FILL_COLS))
    curve = np.empty(n)
    n_fills = 0
    for t in range(n):
        n_fills = _step(
            state, params, t, open_time, open_, high, low, close, entries, exits, fills, n_fills
        )
        curve[t] = equity(state, params, close[t])
    return curve, fills[:n_fills].copy(), state


@njit(cache=True, parallel=True)
def sweep(open_time, open_, high, low, close, entries, exits, params):
    """Backtest every column of ``entries``/``exits`` (bars x sets) with the same rules.

    Returns per set: final equity, max drawdown (fraction), number of fills.
    """
    n, k = entries.shape
    final = np.empty(k)
    max_dd = np.empty(k)
    n_fills = np.zeros(k, dtype=np.int64)
    no_rows = np.zeros((0, N_FILL_COLS))
    for j in prange(k):
        state = new_state(params)
        peak = equity(state, params, close[0])
        worst = 0.0
        count = 0
        ent = entries[:, j]
        ext = exits[:, j]
        for t in range(n):
            count = _step(
                state, params, t, open_time, open_, high, low, close, ent, ext, no_rows, count
            )
            eq = equity(state, params, close[t])
            if eq > peak:
                peak = eq
            elif peak > 0.0 and 1.0 - eq / peak > worst:
                worst = 1.0 - eq / peak
        final[j] = equity(state, params, close[n - 1])
        max_dd[j] = worst
        n_fills[j] = count
    return final, max_dd, n_fills


__all__ = ["simulate", "sweep"]
