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


def batch(close: np.ndarray, sets: list[Params]) -> tuple[np.ndarray, np.ndarray]:
    return cross_rows(*cross_lines(close, sets))


def single(close: np.ndarray, p: Params) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One set's flags and EMAs, each EMA computed once (the same rows as ``batch``)."""
    emas = ind.ema_rows(close, np.array([p["ema_fast"], p["ema_slow"]], dtype=np.int64))
    one = np.zeros(1, dtype=np.int64)
    entries, exits = cross_rows(emas, one, one + 1, np.array([warmup(p)], dtype=np.int64))
    lines = {f"ema_{p['ema_fast']}": emas[0], f"ema_{p['ema_slow']}": emas[1]}
    return entries[0], exits[0], lines


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
