"""Run the rule engine over history: one backtest with every fill, or a sweep of many
signal sets at once (compiled, parallel over parameter sets).

Speed: numba counts references to every array handed to a compiled function, with an
atomic increment and decrement per call, and its pruning pass does not remove them for the
engine's branchy per-bar functions: five calls per bar with a dozen arrays cost ~400 ns a
bar, 50x the rules themselves. The loops below therefore hand the engine *borrowed* views
(``_borrow``: the same memory, no reference count) of arrays that the enclosing function
keeps alive; the engine's functions and their results are the same.

Sweeps go further: each set's state and rule parameters sit in a small array on the stack
(``_stack_floats``) that no other pointer reaches, so the compiler keeps them in registers;
the UTC day of every bar is computed once for all sets; and a flat stretch with nothing to
fill is skipped whole up to the next entry signal (nothing can change before it: the same
reasoning as ``_bar``'s skip of a flat bar, bar times never going back). The results are
those of one backtest per set, bit for bit (tests/strategies/test_sweep.py).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import carray, njit, parallel_chunksize, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from workbench.rules.engine import (
    ENTER,
    EXIT,
    MS_PER_DAY,
    N_PARAMS,
    N_STATE,
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
    begin_day,
    equity,
    fill_pending,
    new_state,
    on_close,
    reset_state,
)

# Sets a sweep thread takes at a time: on a shared machine a thread that gets less CPU
# takes fewer, instead of the others waiting for its fixed half.
SETS_PER_GRAB = 8

# Columns of the fills array returned by ``simulate``.
F_BAR, F_SIDE, F_PRICE, F_QTY, F_FEE, F_PNL, F_REASON = range(7)
N_FILL_COLS = 7


@intrinsic
def _pointer(typingctx, address):  # type: ignore[no-untyped-def]
    """An integer address as a ``void *`` (for ``carray``)."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.inttoptr(args[0], context.get_value_type(types.voidptr))

    return types.voidptr(address), codegen


@intrinsic
def _stack_floats(typingctx, count):  # type: ignore[no-untyped-def]
    """Room for ``count`` (a constant) float64 on the stack of the compiled function that
    calls it, as a pointer. Engine state kept there lives in CPU registers: the compiler
    sees that no other pointer reaches it."""
    if not isinstance(count, types.IntegerLiteral):
        return None
    size = count.literal_value

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        item = context.get_value_type(types.float64)
        block = cgutils.alloca_once(builder, ir.ArrayType(item, size))
        return builder.bitcast(block, item.as_pointer())

    return types.CPointer(types.float64)(count), codegen


@njit(cache=True, inline="always")
def _borrow(a):  # type: ignore[no-untyped-def]
    """A view of the C-contiguous array ``a`` that numba does not reference-count: valid
    only while ``a`` itself is alive (an argument, or a local used after the loop)."""
    return carray(_pointer(a.ctypes.data), a.shape, a.dtype)


@njit(cache=True, inline="always")
def _bar(state, params, t, day, open_, high, low, close, entry, exit_, fills, n_fills):  # type: ignore[no-untyped-def]
    """Bar ``t`` (of UTC day number ``day``) through the engine with this bar's signals;
    appends fills when ``fills`` has rows (else only counts them). Returns the new number
    of fills."""
    begin_day(state, params, day, open_[t])
    if state[S_QTY] == 0.0 and state[S_PENDING] == NONE and not entry:
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
    if on_close(state, params, high[t], low[t], close[t], entry, exit_) == R_LIQUIDATION:
        if fills.shape[0] > 0:
            row = fills[n_fills]
            row[F_BAR], row[F_SIDE], row[F_PRICE], row[F_QTY] = t, EXIT, liq_price, held
            row[F_FEE], row[F_PNL], row[F_REASON] = 0.0, liq_pnl, R_LIQUIDATION
        n_fills += 1
    return n_fills


def day_numbers(open_time: np.ndarray) -> tuple[np.ndarray, bool]:
    """The UTC day number of every bar (as ``begin_bar`` computes it), and whether bar
    times never go back (then a flat stretch can be skipped whole)."""
    times = np.ascontiguousarray(open_time, dtype=np.int64)
    return (times // MS_PER_DAY).astype(np.float64), bool(np.all(times[1:] >= times[:-1]))


def _contiguous(
    open_time: np.ndarray, open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray
) -> tuple[np.ndarray, ...]:
    prices = [np.ascontiguousarray(a, dtype=np.float64) for a in (open_, high, low, close)]
    return (np.ascontiguousarray(open_time, dtype=np.int64), *prices)


def simulate(
    open_time: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    params: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backtest one signal set: returns (equity per bar at close, fills array, final state)."""
    return _simulate(  # type: ignore[no-any-return, call-arg]
        *_contiguous(open_time, open_, high, low, close),
        np.ascontiguousarray(entries, dtype=np.bool_),
        np.ascontiguousarray(exits, dtype=np.bool_),
        np.ascontiguousarray(params, dtype=np.float64),
    )


@njit(cache=True)
def _simulate(open_time, open_, high, low, close, entries, exits, params):  # type: ignore[no-untyped-def]
    n = close.shape[0]
    state = new_state(params)
    fills = np.empty((2 * n + 2, N_FILL_COLS))
    curve = np.empty(n)
    n_fills = 0
    st, pa, fi, cu = _borrow(state), _borrow(params), _borrow(fills), _borrow(curve)
    ti, op, hi, lo, cl = (
        _borrow(open_time),
        _borrow(open_),
        _borrow(high),
        _borrow(low),
        _borrow(close),
    )
    en, ex = _borrow(entries), _borrow(exits)
    for t in range(n):
        day = float(ti[t] // MS_PER_DAY)
        n_fills = _bar(st, pa, t, day, op, hi, lo, cl, en[t], ex[t], fi, n_fills)
        cu[t] = equity(st, pa, cl[t])
    # state, fills and curve are used here, so they outlive their borrowed views above.
    return curve, fills[:n_fills].copy(), state


def sweep(
    open_time: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    params: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backtest every column of ``entries``/``exits`` (bars x sets) with the same rules.

    Returns per set: final equity, max drawdown (fraction), number of fills.
    """
    return sweep_rows(open_time, open_, high, low, close, entries.T, exits.T, params)


def sweep_rows(
    open_time: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    params: np.ndarray,
    *,
    days: tuple[np.ndarray, bool] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``sweep`` with one row per set: ``entries``/``exits`` are (sets x bars). ``days``:
    ``day_numbers(open_time)`` when the caller runs several chunks over the same bars."""
    day, ordered = days if days is not None else day_numbers(open_time)
    with parallel_chunksize(SETS_PER_GRAB):
        return _sweep_rows(  # type: ignore[no-any-return, call-arg]
            day,
            *_contiguous(open_time, open_, high, low, close)[1:],
            np.ascontiguousarray(entries, dtype=np.bool_),
            np.ascontiguousarray(exits, dtype=np.bool_),
            np.ascontiguousarray(params, dtype=np.float64),
            ordered,
        )


@njit(cache=True, inline="always")
def _track(state, params, price, peak, worst):  # type: ignore[no-untyped-def]
    """The running peak equity and worst drawdown after a bar closed at ``price``."""
    eq = equity(state, params, price)
    if eq > peak:
        peak = eq
    elif peak > 0.0 and 1.0 - eq / peak > worst:
        worst = 1.0 - eq / peak
    return peak, worst


@njit(cache=True, inline="always")
def _local_copy(params):  # type: ignore[no-untyped-def]
    """The rule parameters in registers (see ``_stack_floats``); call it in the loop body
    that uses the copy, never in a function that returns it."""
    pa = carray(_stack_floats(N_PARAMS), (N_PARAMS,))
    for i in range(N_PARAMS):
        pa[i] = params[i]
    return pa


@njit(cache=True, inline="always")
def _idle(state):  # type: ignore[no-untyped-def]
    """Flat with no order to fill: only an entry signal can change anything."""
    return state[S_QTY] == 0.0 and state[S_PENDING] == NONE


@njit(cache=True, inline="always")
def _next_true(flags, t, n):  # type: ignore[no-untyped-def]
    """The first bar from ``t`` on whose flag is set; ``n`` when there is none."""
    while t < n and not flags[t]:
        t += 1
    return t


@njit(cache=True, parallel=True)
def _sweep_rows(days, open_, high, low, close, entries, exits, params, ordered):  # type: ignore[no-untyped-def]
    k, n = entries.shape
    final = np.empty(k)
    max_dd = np.empty(k)
    n_fills = np.zeros(k, dtype=np.int64)
    no_rows = np.zeros((0, N_FILL_COLS))
    en_all, ex_all = _borrow(entries), _borrow(exits)
    dy, op, hi, lo, cl = _borrow(days), _borrow(open_), _borrow(high), _borrow(low), _borrow(close)
    for j in prange(k):
        st = carray(_stack_floats(N_STATE), (N_STATE,))
        pa = _local_copy(params)
        reset_state(st, pa)
        en, ex = en_all[j], ex_all[j]
        peak, worst, count = equity(st, pa, cl[0]), 0.0, 0
        t = 0
        while t < n:
            if ordered and _idle(st):
                t = _next_true(en, t, n)
                if t == n:
                    break
            count = _bar(st, pa, t, dy[t], op, hi, lo, cl, en[t], ex[t], no_rows, count)
            peak, worst = _track(st, pa, cl[t], peak, worst)
            t += 1
        final[j] = equity(st, pa, cl[n - 1])
        max_dd[j] = worst
        n_fills[j] = count
    return final, max_dd, n_fills


def sweep_crossings(
    open_time: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    lines: np.ndarray,
    fast: np.ndarray,
    slow: np.ndarray,
    warm: np.ndarray,
    params: np.ndarray,
    *,
    days: tuple[np.ndarray, bool] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``sweep`` of crossing rules with the signals decided inside the engine loop (no flag
    matrices): set j enters when line ``fast[j]`` closes above line ``slow[j]`` after not
    being above it, and exits when it closes below after not being below; bars before
    ``warm[j]`` (and bar 0) never signal. ``lines`` is (lines x bars), each computed once for
    every set that uses it. The flags are exactly ``ema_cross.cross_rows``'s. ``days``:
    ``day_numbers(open_time)`` when the caller runs several chunks over the same bars.
    """
    day, ordered = days if days is not None else day_numbers(open_time)
    with parallel_chunksize(SETS_PER_GRAB):
        return _sweep_crossings(  # type: ignore[no-any-return, call-arg]
            day,
            *_contiguous(open_time, open_, high, low, close)[1:],
            np.ascontiguousarray(lines, dtype=np.float64),
            np.ascontiguousarray(fast, dtype=np.int64),
            np.ascontiguousarray(slow, dtype=np.int64),
            np.ascontiguousarray(warm, dtype=np.int64),
            np.ascontiguousarray(params, dtype=np.float64),
            ordered,
        )


@njit(cache=True, inline="always")
def _next_crossing(f, s, t, start, n):  # type: ignore[no-untyped-def]
    """The first bar from ``t`` on where line ``f`` closes above line ``s`` after not being
    above it on the bar before (never before ``start``, at least 1); ``n`` when none."""
    t = max(t, start)
    if t >= n:
        return n
    was_above = f[t - 1] > s[t - 1]
    while t < n:
        above = f[t] > s[t]
        if above and not was_above:
            return t
        was_above = above
        t += 1
    return n


@njit(cache=True, parallel=True)
def _sweep_crossings(days, open_, high, low, close, lines, fast, slow, warm, params, ordered):  # type: ignore[no-untyped-def]
    k, n = fast.shape[0], close.shape[0]
    final = np.empty(k)
    max_dd = np.empty(k)
    n_fills = np.zeros(k, dtype=np.int64)
    no_rows = np.zeros((0, N_FILL_COLS))
    all_lines = _borrow(lines)
    dy, op, hi, lo, cl = _borrow(days), _borrow(open_), _borrow(high), _borrow(low), _borrow(close)
    for j in prange(k):
        st = carray(_stack_floats(N_STATE), (N_STATE,))
        pa = _local_copy(params)
        reset_state(st, pa)
        f, s = all_lines[fast[j]], all_lines[slow[j]]
        peak, worst, count = equity(st, pa, cl[0]), 0.0, 0
        start = max(1, warm[j])
        t = 0
        while t < n:
            if ordered and _idle(st):
                t = _next_crossing(f, s, t, start, n)
                if t == n:
                    break
            entry = exit_ = False
            if t >= start:  # the crossing flags of cross_rows, from this bar and the last
                entry = f[t] > s[t] and not f[t - 1] > s[t - 1]
                exit_ = f[t] < s[t] and not f[t - 1] < s[t - 1]
            count = _bar(st, pa, t, dy[t], op, hi, lo, cl, entry, exit_, no_rows, count)
            peak, worst = _track(st, pa, cl[t], peak, worst)
            t += 1
        final[j] = equity(st, pa, cl[n - 1])
        max_dd[j] = worst
        n_fills[j] = count
    return final, max_dd, n_fills


__all__ = ["day_numbers", "simulate", "sweep", "sweep_crossings", "sweep_rows"]
