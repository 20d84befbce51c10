"""The trading rules, one bar at a time: the single engine behind backtests and live ticks.

A bar goes through three steps, in this order:

1. ``begin_bar``   a new bar opens: on a new UTC day the daily counters reset.
2. ``execute``     the order decided at the previous close fills at this bar's open
                   (the backtest computes the fill; a live tick reports the exchange's fill
                   through ``apply_entry`` / ``apply_exit``).
3. ``on_close``    the bar has closed: liquidation, stop loss, take profit, trailing stop,
                   the strategy's exit/entry signal and the daily rules decide the next order.

Stops are checked on closed bars and filled at the next open, exactly as a bot ticking once
per bar can act; a futures position is liquidated inside the bar, as the exchange would.
State and parameters are float64 arrays indexed by the constants below, so the same
functions run compiled inside numba loops (backtests, sweeps) and from Python (a tick).
Every function is inlined into those loops (``inline="always"``): a call per bar and set
costs more than the rules themselves, and inlined, a sweep's state can live in registers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from workbench.market.margin import liquidation_price

# --- parameters (P_*) -------------------------------------------------------------------
P_FEE = 0  # fee rate per fill, fraction of notional
P_SLIPPAGE = 1  # fraction: buys fill higher, sells lower
P_STOP_LOSS = 2  # fraction below entry; 0 = off
P_TAKE_PROFIT = 3  # fraction above entry; 0 = off
P_TRAILING = 4  # fraction below the highest high since entry; 0 = off
P_SIZE_PERC = 5  # fraction of equity committed (as margin on futures); 0 = use fixed
P_SIZE_FIXED = 6  # quote amount committed (as margin on futures)
P_LEVERAGE = 7  # 1 on spot
P_FUTURES = 8  # 1.0 for futures, 0.0 for spot
P_MAINT_MARGIN = 9  # maintenance margin rate (futures liquidation)
P_DAILY_TARGET = 10  # fraction of the day's starting equity; 0 = off
P_MAX_DAILY_LOSS = 11  # fraction of the day's starting equity; 0 = off
P_MAX_DAILY_TRADES = 12  # entries per UTC day
P_INITIAL_CAPITAL = 13
P_MIN_NOTIONAL = 14  # the smallest position (quote notional) an entry may open
N_PARAMS = 15

# --- state (S_*) --------------------------------------------------------------------------
S_CASH = 0  # free quote balance
S_QTY = 1  # base quantity held (long only)
S_ENTRY_PRICE = 2
S_MARGIN = 3  # futures: margin locked in the position; spot: quote spent incl. fee
S_PEAK = 4  # highest high since entry (trailing stop)
S_LIQ_PRICE = 5
S_DAY = 6  # UTC day number of the current bar
S_DAY_START_EQUITY = 7
S_DAY_TRADES = 8
S_DAY_HALTED = 9  # max daily loss hit: flat and no new entries until tomorrow
S_DAY_TARGET_HIT = 10  # daily target reached: no new entries until tomorrow
S_PENDING = 11  # order to fill at the next open: ENTER, EXIT or NONE
S_PENDING_REASON = 12
S_ENTRY_FEE = 13
N_STATE = 14

NONE, ENTER, EXIT = 0.0, 1.0, -1.0

# Why an order was decided (kept in the state and in every fill).
R_NONE = 0
R_SIGNAL = 1
R_STOP_LOSS = 2
R_TAKE_PROFIT = 3
R_TRAILING_STOP = 4
R_DAILY_LOSS = 5
R_LIQUIDATION = 6
REASONS = (
    "none",
    "signal",
    "stop_loss",
    "take_profit",
    "trailing_stop",
    "daily_loss",
    "liquidation",
)

MS_PER_DAY = 86_400_000


@njit(cache=True, inline="always")
def reset_state(state: np.ndarray, params: np.ndarray) -> None:
    """Make ``state`` a flat account holding the initial capital."""
    state[:] = 0.0
    state[S_CASH] = params[P_INITIAL_CAPITAL]
    state[S_DAY] = -1.0
    state[S_DAY_START_EQUITY] = params[P_INITIAL_CAPITAL]


@njit(cache=True)
def new_state(params: np.ndarray) -> np.ndarray:
    """A flat account holding the initial capital."""
    state = np.empty(N_STATE)
    reset_state(state, params)
    return state


@njit(cache=True, inline="always")
def equity(state: np.ndarray, params: np.ndarray, price: float) -> float:
    """Account value marked at ``price``."""
    qty = state[S_QTY]
    if qty == 0.0:
        return state[S_CASH]
    if params[P_FUTURES] > 0.0:
        return state[S_CASH] + state[S_MARGIN] + qty * (price - state[S_ENTRY_PRICE])
    return state[S_CASH] + qty * price


@njit(cache=True, inline="always")
def begin_bar(state: np.ndarray, params: np.ndarray, open_time_ms: int, open_price: float) -> None:
    """A bar opens; the first bar of a UTC day resets the daily rules."""
    begin_day(state, params, float(open_time_ms // MS_PER_DAY), open_price)


@njit(cache=True, inline="always")
def begin_day(state: np.ndarray, params: np.ndarray, day: float, open_price: float) -> None:
    """``begin_bar`` given the bar's UTC day number (``open_time_ms // MS_PER_DAY``), as
    sweeps compute it once for all their sets."""
    if day != state[S_DAY]:
        state[S_DAY] = day
        state[S_DAY_START_EQUITY] = equity(state, params, open_price)
        state[S_DAY_TRADES] = 0.0
        state[S_DAY_HALTED] = 0.0
        state[S_DAY_TARGET_HIT] = 0.0


@njit(cache=True, inline="always")
def entry_budget(state: np.ndarray, params: np.ndarray, price: float) -> float:
    """Quote committed by the next entry (margin on futures), before fees; 0 if none fits."""
    eq = equity(state, params, price)
    budget = params[P_SIZE_FIXED]
    if params[P_SIZE_PERC] > 0.0:
        budget = eq * params[P_SIZE_PERC]
    notional_fee = params[P_FEE] * params[P_LEVERAGE]
    # A part per billion stays free so an exchange's rounding never makes "all in" too much.
    affordable = state[S_CASH] / (1.0 + notional_fee) * (1.0 - 1e-9)
    budget = min(budget, affordable)
    if budget * params[P_LEVERAGE] < params[P_MIN_NOTIONAL]:
        return 0.0  # below the smallest order: a wiped-out account opens nothing
    return budget


@njit(cache=True, inline="always")
def apply_entry(
    state: np.ndarray, params: np.ndarray, price: float, qty: float, fee: float
) -> None:
    """Record a filled buy of ``qty`` at ``price`` paying ``fee`` (quote)."""
    notional = qty * price
    margin = notional / params[P_LEVERAGE]
    state[S_CASH] -= margin + fee
    state[S_QTY] = qty
    state[S_ENTRY_PRICE] = price
    state[S_MARGIN] = margin
    state[S_ENTRY_FEE] = fee
    state[S_PEAK] = price
    if params[P_FUTURES] > 0.0:
        state[S_LIQ_PRICE] = liquidation_price(price, params[P_LEVERAGE], params[P_MAINT_MARGIN])
    state[S_DAY_TRADES] += 1.0


@njit(cache=True, inline="always")
def apply_exit(state: np.ndarray, params: np.ndarray, price: float, fee: float) -> float:
    """Record a filled sell of the whole position at ``price``; returns the trade's PnL
    (after both fees)."""
    qty = state[S_QTY]
    if params[P_FUTURES] > 0.0:
        gross = qty * (price - state[S_ENTRY_PRICE])
        state[S_CASH] += max(state[S_MARGIN] + gross, 0.0) - fee
    else:
        gross = qty * (price - state[S_ENTRY_PRICE])
        state[S_CASH] += qty * price - fee
    pnl = gross - fee - state[S_ENTRY_FEE]
    state[S_QTY] = 0.0
    state[S_ENTRY_PRICE] = 0.0
    state[S_MARGIN] = 0.0
    state[S_ENTRY_FEE] = 0.0
    state[S_PEAK] = 0.0
    state[S_LIQ_PRICE] = 0.0
    return pnl


@njit(cache=True, inline="always")
def liquidate(state: np.ndarray) -> float:
    """The exchange takes the isolated margin; returns the trade's PnL."""
    pnl = -state[S_MARGIN] - state[S_ENTRY_FEE]
    state[S_QTY] = 0.0
    state[S_ENTRY_PRICE] = 0.0
    state[S_MARGIN] = 0.0
    state[S_ENTRY_FEE] = 0.0
    state[S_PEAK] = 0.0
    state[S_LIQ_PRICE] = 0.0
    return pnl


@njit(cache=True, inline="always")
def entry_allowed(state: np.ndarray, params: np.ndarray) -> bool:
    return (
        state[S_DAY_HALTED] == 0.0
        and state[S_DAY_TARGET_HIT] == 0.0
        and state[S_DAY_TRADES] < params[P_MAX_DAILY_TRADES]
    )


@njit(cache=True, inline="always")
def on_close(
    state: np.ndarray,
    params: np.ndarray,
    high: float,
    low: float,
    close: float,
    entry_signal: bool,
    exit_signal: bool,
) -> int:
    """The bar closed: decide the order for the next open (kept in ``state[S_PENDING]``).

    Returns R_LIQUIDATION when the position was liquidated inside this bar, else R_NONE;
    the caller records that fill at ``state[S_LIQ_PRICE]`` read before the call.
    """
    state[S_PENDING] = NONE
    state[S_PENDING_REASON] = R_NONE
    liquidated = R_NONE
    if state[S_QTY] > 0.0 and params[P_FUTURES] > 0.0 and low <= state[S_LIQ_PRICE]:
        liquidate(state)
        liquidated = R_LIQUIDATION
    if state[S_QTY] > 0.0:
        entry = state[S_ENTRY_PRICE]
        reason = R_NONE
        if params[P_STOP_LOSS] > 0.0 and low <= entry * (1.0 - params[P_STOP_LOSS]):
            reason = R_STOP_LOSS
        elif params[P_TRAILING] > 0.0 and low <= state[S_PEAK] * (1.0 - params[P_TRAILING]):
            reason = R_TRAILING_STOP
        elif params[P_TAKE_PROFIT] > 0.0 and high >= entry * (1.0 + params[P_TAKE_PROFIT]):
            reason = R_TAKE_PROFIT
        elif exit_signal:
            reason = R_SIGNAL
        if high > state[S_PEAK]:
            state[S_PEAK] = high
        if reason != R_NONE:
            state[S_PENDING] = EXIT
            state[S_PENDING_REASON] = reason
    start = state[S_DAY_START_EQUITY]
    eq = equity(state, params, close)
    if params[P_MAX_DAILY_LOSS] > 0.0 and eq <= start * (1.0 - params[P_MAX_DAILY_LOSS]):
        state[S_DAY_HALTED] = 1.0
        if state[S_QTY] > 0.0 and state[S_PENDING] != EXIT:
            state[S_PENDING] = EXIT
            state[S_PENDING_REASON] = R_DAILY_LOSS
    if params[P_DAILY_TARGET] > 0.0 and eq >= start * (1.0 + params[P_DAILY_TARGET]):
        state[S_DAY_TARGET_HIT] = 1.0
    if state[S_QTY] == 0.0 and entry_signal and not exit_signal and entry_allowed(state, params):
        state[S_PENDING] = ENTER
        state[S_PENDING_REASON] = R_SIGNAL
    return liquidated


@njit(cache=True, inline="always")
def fill_pending(
    state: np.ndarray, params: np.ndarray, open_price: float
) -> tuple[float, float, float, float]:
    """Fill the pending order at ``open_price`` as the backtest's exchange would.

    Returns (side, price, qty, fee): side ENTER/EXIT, or NONE when nothing filled.
    """
    pending = state[S_PENDING]
    state[S_PENDING] = NONE
    if pending == EXIT and state[S_QTY] > 0.0:
        price = open_price * (1.0 - params[P_SLIPPAGE])
        qty = state[S_QTY]
        fee = qty * price * params[P_FEE]
        return EXIT, price, qty, fee
    if pending == ENTER and state[S_QTY] == 0.0:
        price = open_price * (1.0 + params[P_SLIPPAGE])
        budget = entry_budget(state, params, price)
        if budget <= 0.0:
            return NONE, 0.0, 0.0, 0.0
        qty = budget * params[P_LEVERAGE] / price
        fee = qty * price * params[P_FEE]
        return ENTER, price, qty, fee
    return NONE, 0.0, 0.0, 0.0
