"""Sweeps of strategies without a compiled batch rule (users' pandas strategies): the
parameter sets are spread over processes (all cores), each computing its sets' signals
and backtesting them with the engine's single-set simulation.

The workers are forked, so strategies defined in a notebook cell work too; they receive
only the indices of their parameter sets.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from workbench.strategies.base import Params, Strategy

# What the forked workers read: (strategy, candles, arrays, rule parameters, sets).
_JOB: tuple[Strategy, pd.DataFrame, tuple[np.ndarray, ...], np.ndarray, list[Params]] | None
_JOB = None


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _run(indices: list[int]) -> tuple[list[int], np.ndarray]:
    """Final equity, max drawdown and fills of the sets ``indices`` (one row each)."""
    from workbench.rules import simulate

    assert _JOB is not None
    strategy, candles, (times, open_, high, low, close), params, sets = _JOB
    out = np.empty((len(indices), 3))
    for row, i in enumerate(indices):
        signals = strategy.signals(candles, **sets[i])
        curve, fills, _ = simulate(
            times,
            open_,
            high,
            low,
            close,
            signals.entries.to_numpy(),
            signals.exits.to_numpy(),
            params,
        )
        out[row] = (curve[-1], _max_drawdown(curve, params), len(fills))
    return indices, out


def _max_drawdown(curve: np.ndarray, params: np.ndarray) -> float:
    from workbench.rules import engine as e

    peak = np.maximum.accumulate(np.maximum(curve, params[e.P_INITIAL_CAPITAL]))
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peak > 0, 1.0 - curve / peak, 0.0)
    return float(max(0.0, drawdown.max()))


def sweep_sets(
    strategy: Strategy,
    candles: pd.DataFrame,
    arrays: tuple[np.ndarray, ...],
    params: np.ndarray,
    sets: list[Params],
    *,
    processes: int | None = None,
    progress: Callable[[int], Any] | None = None,
) -> np.ndarray:
    """(sets x 3): final equity, max drawdown, fills of every set, on ``processes``
    worker processes (default: all cores; one runs in this process)."""
    global _JOB
    workers = max(1, min(processes or cores(), len(sets)))
    _JOB = (strategy, candles, arrays, params, sets)
    try:
        if workers == 1:
            _, out = _run(list(range(len(sets))))
            if progress:
                progress(len(sets))
            return out
        chunks = [list(range(len(sets)))[i :: workers * 4] for i in range(workers * 4)]
        result = np.empty((len(sets), 3))
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for indices, rows in pool.map(_run, [c for c in chunks if c]):
                result[indices] = rows
                if progress:
                    progress(len(indices))
        return result
    finally:
        _JOB = None
