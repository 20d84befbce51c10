"""Signals for many parameter sets at once (bars x sets boolean matrices), for sweeps.

EMA crosses compute each EMA period once and every pair from those; other strategies run
``Strategy.signals`` per set. Either way the flags equal the single-set ones exactly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numba import njit, prange

from workbench.errors import ValidationError
from workbench.strategies import indicators as ind
from workbench.strategies.registry import Strategy


@dataclass(frozen=True)
class SweepSignals:
    entries: np.ndarray  # bars x sets
    exits: np.ndarray
    combos: list[dict[str, int]]
    skipped: list[tuple[dict[str, int], str]]  # invalid sets and why


def expand_grid(grid: dict[str, list[int]]) -> list[dict[str, int]]:
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


def sweep_signals(
    candles: pd.DataFrame, strategy: Strategy, grid: dict[str, list[int]]
) -> SweepSignals:
    """Entries and exits for every valid parameter set of ``grid``."""
    combos, skipped = [], []
    for combo in expand_grid(grid):
        try:
            combos.append(strategy.validate(combo))
        except ValidationError as e:
            skipped.append((combo, str(e)))
    n = len(candles)
    if not combos:
        empty = np.zeros((n, 0), dtype=bool)
        return SweepSignals(empty, empty.copy(), [], skipped)
    close = candles["close"].to_numpy(dtype="float64")
    if strategy.name == "ema_cross":
        entries, exits = _ema_cross_many(close, combos)
    else:
        entries = np.empty((n, len(combos)), dtype=bool)
        exits = np.empty((n, len(combos)), dtype=bool)
        for j, combo in enumerate(combos):
            signals = strategy.signals(candles, **combo)
            entries[:, j], exits[:, j] = signals.entries.to_numpy(), signals.exits.to_numpy()
    return SweepSignals(entries, exits, combos, skipped)


def _ema_cross_many(
    close: np.ndarray, combos: list[dict[str, Any]]
) -> tuple[np.ndarray, np.ndarray]:
    periods = np.array(sorted({c[k] for c in combos for k in ("ema_fast", "ema_slow")}))
    column = {int(p): i for i, p in enumerate(periods)}
    emas = ind.ema_many(close, periods.astype(np.int64))
    fast = np.array([column[c["ema_fast"]] for c in combos], dtype=np.int64)
    slow = np.array([column[c["ema_slow"]] for c in combos], dtype=np.int64)
    warm = np.array([c["ema_slow"] for c in combos], dtype=np.int64)
    return _cross_pairs(emas, fast, slow, warm)


@njit(cache=True, parallel=True)
def _cross_pairs(
    emas: np.ndarray, fast: np.ndarray, slow: np.ndarray, warm: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n, k = emas.shape[0], fast.shape[0]
    entries = np.zeros((n, k), dtype=np.bool_)
    exits = np.zeros((n, k), dtype=np.bool_)
    for j in prange(k):
        f, s = emas[:, fast[j]], emas[:, slow[j]]
        for i in range(max(1, warm[j]), n):
            entries[i, j] = f[i] > s[i] and f[i - 1] <= s[i - 1]
            exits[i, j] = f[i] < s[i] and f[i - 1] >= s[i - 1]
    return entries, exits
