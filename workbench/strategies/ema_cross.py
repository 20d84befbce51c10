"""ema_cross: long when the fast EMA crosses above the slow EMA, out when it crosses below.

Rule at bar t (closed):
    entry  fast[t] >  slow[t] and fast[t-1] <= slow[t-1]
    exit   fast[t] <  slow[t] and fast[t-1] >= slow[t-1]
Warm-up: the first ``ema_slow`` bars never signal.
Indicators: ``ema_{ema_fast}``, ``ema_{ema_slow}`` (e.g. ``ema_12``, ``ema_26``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
from numba import njit

from workbench.strategies import indicators as ind
from workbench.strategies.base import Params
from workbench.strategies.define import batch_function, make_strategy
from workbench.strategies.params import Param
from workbench.strategies.text import fmt


@njit(cache=True, nogil=True)
def cross_rows(
    emas: np.ndarray, fast: np.ndarray, slow: np.ndarray, warm: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Crossings of EMA rows ``fast[j]`` and ``slow[j]`` for every set j: (sets x bars)."""
    k, n = fast.shape[0], emas.shape[1]
    entries = np.zeros((k, n), dtype=np.bool_)
    exits = np.zeros((k, n), dtype=np.bool_)
    for j in range(k):
        f = emas[fast[j]]
        s = emas[slow[j]]
        was_above = False
        was_below = False
        start = max(1, warm[j])
        if start < n:
            was_above = f[start - 1] > s[start - 1]
            was_below = f[start - 1] < s[start - 1]
        for i in range(start, n):
            above = f[i] > s[i]
            below = f[i] < s[i]
            entries[j, i] = above and not was_above
            exits[j, i] = below and not was_below
            was_above = above
            was_below = below
    return entries, exits


def cross_lines(
    close: np.ndarray, sets: list[Params]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rule as crossings of lines: (EMA rows, each period once; fast row, slow row and
    warm-up per set). ``cross_rows`` of these are the flags; a fused sweep decides the same
    flags inside its engine loop (``workbench.rules.simulate.sweep_crossings``)."""
    periods = np.array(sorted({s[k] for s in sets for k in ("ema_fast", "ema_slow")}), np.int64)
    row = {int(p): i for i, p in enumerate(periods)}
    emas = ind.ema_rows(close, periods)  # each period once
    fast = np.array([row[s["ema_fast"]] for s in sets], dtype=np.int64)
    slow = np.array([row[s["ema_slow"]] for s in sets], dtype=np.int64)
    warm = np.array([warmup(s) for s in sets], dtype=np.int64)
    return emas, fast, slow, warm


@njit(cache=True, nogil=True)
def cross_pass(
    close: np.ndarray, fast: int, slow: int, warm: int, keep: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One set's flags in one pass over the closes, its two EMAs computed alongside and,
    when ``keep``, returned too (fast, slow: 2 x bars; else 2 x 0): the EMAs of ``ema_rows``
    and the flags of ``cross_rows``, bit for bit, without writing the EMAs out and reading
    them back (the crossings cost nothing beside the EMAs' recursion, which waits on each
    step)."""
    n = close.shape[0]
    lines = np.empty((2, n if keep else 0))
    entries = np.zeros(n, dtype=np.bool_)
    exits = np.zeros(n, dtype=np.bool_)
    if n == 0:
        return entries, exits, lines
    a_fast, a_slow = ind.ema_alpha(fast), ind.ema_alpha(slow)
    f = s = close[0]
    if keep:
        lines[0, 0], lines[1, 0] = f, s
    start = min(max(1, warm), n)
    for i in range(1, start):  # warm-up: no signal
        f, s = ind.ema_step(f, a_fast, close[i]), ind.ema_step(s, a_slow, close[i])
        if keep:
            lines[0, i], lines[1, i] = f, s
    was_above, was_below = f > s, f < s
    for i in range(start, n):
        f, s = ind.ema_step(f, a_fast, close[i]), ind.ema_step(s, a_slow, close[i])
        if keep:
            lines[0, i], lines[1, i] = f, s
        above, below = f > s, f < s
        entries[i] = above and not was_above
        exits[i] = below and not was_below
        was_above, was_below = above, below
    return entries, exits, lines


def batch(close: np.ndarray, sets: list[Params]) -> tuple[np.ndarray, np.ndarray]:
    if len(sets) == 1:  # one set (a backtest): one pass, the EMAs not kept
        p = sets[0]
        entries, exits, _ = cross_pass(close, p["ema_fast"], p["ema_slow"], warmup(p), False)
        return entries[np.newaxis], exits[np.newaxis]
    return cross_rows(*cross_lines(close, sets))


def single(close: np.ndarray, p: Params) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One set's flags and EMAs in one pass (the same values as ``batch``)."""
    entries, exits, emas = cross_pass(close, p["ema_fast"], p["ema_slow"], warmup(p), True)
    lines = {f"ema_{p['ema_fast']}": emas[0], f"ema_{p['ema_slow']}": emas[1]}
    return entries, exits, lines


def indicators(close: np.ndarray, p: Params) -> dict[str, np.ndarray]:
    emas = ind.ema_rows(close, np.array([p["ema_fast"], p["ema_slow"]], dtype=np.int64))
    return {f"ema_{p['ema_fast']}": emas[0], f"ema_{p['ema_slow']}": emas[1]}


def warmup(p: Params) -> int:
    return p["ema_slow"]


def warmup_of(**p: int) -> int:
    return warmup(p)


def check(p: Params) -> dict[str, str]:
    if p["ema_fast"] >= p["ema_slow"]:
        return {"ema_fast": f"must be less than ema_slow ({p['ema_slow']}), got {p['ema_fast']}"}
    return {}


def explain(action: str, p: Params, now: Mapping[str, float], before: Mapping[str, float]) -> str:
    fast, slow = f"EMA({p['ema_fast']})", f"EMA({p['ema_slow']})"
    f_now, s_now = now[f"ema_{p['ema_fast']}"], now[f"ema_{p['ema_slow']}"]
    values = f"{fast} {fmt(f_now)} vs {slow} {fmt(s_now)}"
    if action == "enter":
        return f"{fast} crossed above {slow}: {values}"
    if action == "exit":
        return f"{fast} crossed below {slow}: {values}"
    side = "above" if f_now > s_now else "not above"
    return f"no cross: {fast} stays {side} {slow} ({values})"


STRATEGY = replace(
    make_strategy(
        batch_function("ema_cross", ("ema_fast", "ema_slow"), batch, indicators),
        {
            "ema_fast": Param("", 12, 1, 10_000, "bars of the fast EMA (less than ema_slow)"),
            "ema_slow": Param("", 26, 2, 10_000, "bars of the slow EMA"),
        },
        name="ema_cross",
        description="Trend following with two EMAs of the close.",
        entry_rule="the fast EMA crosses above the slow EMA",
        exit_rule="the fast EMA crosses below the slow EMA",
        warmup=warmup_of,
        builtin=True,
        batch=batch,
        indicator_fn=indicators,
        explain_fn=explain,
        check=check,
        source=__file__,
    ),
    single=single,
)
