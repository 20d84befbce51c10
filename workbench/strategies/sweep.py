"""Many parameter sets at once: their signals (bars x sets boolean matrices), or their
backtests.

Each strategy's compiled rule takes all sets in one call and computes every distinct
indicator period once (50 EMA periods for all 1,225 ema_fast < ema_slow pairs of 5..54).
``Strategy.signals`` runs the same rule with one set, so the columns here equal the
single-set flags exactly.

``sweep_backtests`` runs the rule engine for every set without keeping flag matrices:
ema_cross decides its crossings inside the engine loop (fused, parallel over sets); other
strategies' flags are made a chunk of sets at a time. Memory stays bounded by the chunk
(and the indicator lines), whatever the number of sets.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import ValidationError
from workbench.rules.simulate import day_numbers, sweep_crossings, sweep_rows
from workbench.strategies import ema_cross
from workbench.strategies.base import BatchRule, Params, Strategy, close_prices
from workbench.strategies.params import Param
from workbench.strategies.registry import get_strategy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepSignals:
    """``entries``/``exits``: (bars x sets) boolean arrays, column j for ``combos[j]``
    (column-major, so each set's column is contiguous). ``skipped``: the invalid sets of
    the grid and why (e.g. ema_fast >= ema_slow)."""

    strategy: str
    index: pd.Index
    entries: np.ndarray
    exits: np.ndarray
    combos: list[Params]
    skipped: list[tuple[dict[str, Any], str]]

    def column(self, combo: Mapping[str, int]) -> int:
        """The column of ``combo`` (a full parameter set)."""
        return self.combos.index(dict(combo))


def expand_grid(grid: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in order (the last name varies fastest)."""
    names = list(grid)
    values = [list(v) for v in grid.values()]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def valid_sets(
    strategy: Strategy | str, grid: Mapping[str, Iterable[Any]]
) -> tuple[Strategy, list[Params], list[tuple[dict[str, Any], str]]]:
    """The strategy, every valid full parameter set of ``grid`` (parameters not in the grid
    take their defaults) and the invalid ones with the reason."""
    chosen = get_strategy(strategy)
    unknown = sorted(set(grid) - set(chosen.param_names))
    if unknown:
        raise ValidationError(
            {
                "grid": f"{', '.join(unknown)} not parameters of {chosen.name} "
                f"(its parameters: {', '.join(chosen.param_names)})"
            },
            entity="sweep",
        )
    names = list(grid)
    declared = {p.name: p for p in chosen.params}
    # Each value of each parameter is checked once (not once per set); a set with a bad
    # value, or that the strategy's own check refuses, goes through ``validate`` for its
    # exact message.
    checked = [[_checked(declared[name], v) for v in grid[name]] for name in names]
    combos: list[Params] = []
    skipped: list[tuple[dict[str, Any], str]] = []
    for picks in itertools.product(*checked):
        values = chosen.defaults
        fine = True
        for name, (ok, value, _) in zip(names, picks, strict=True):
            fine = fine and ok
            if value is not None:
                values[name] = value
        if fine and not chosen.check(values):
            combos.append(values)
            continue
        combo = {name: raw for name, (_, _, raw) in zip(names, picks, strict=True)}
        try:
            combos.append(chosen.validate(combo))
        except ValidationError as e:
            skipped.append((combo, "; ".join(f"{k} {v}" for k, v in e.errors.items())))
    if skipped:
        log.info(
            "%s sweep: skipped %d invalid of %d parameter sets (first: %s: %s)",
            chosen.name,
            len(skipped),
            len(skipped) + len(combos),
            *skipped[0],
        )
    return chosen, combos, skipped


def _checked(param: Param, value: Any) -> tuple[bool, Any, Any]:
    """(valid, the value as the parameter's type or None for its default, the value)."""
    if value is None:
        return True, None, value
    if param.error(value) is not None:
        return False, None, value
    return True, param.coerce(value), value


def sweep_signals(
    candles: pd.DataFrame, strategy: Strategy | str, grid: Mapping[str, Iterable[Any]]
) -> SweepSignals:
    """Entries and exits for every valid parameter set of ``grid``; parameters not in the
    grid take their defaults; invalid sets are skipped and listed with the reason."""
    chosen, combos, skipped = valid_sets(strategy, grid)
    close = close_prices(candles)
    if chosen.batch is None:  # a user strategy: run_sweep spreads its sets over processes
        raise ValidationError({"strategy": f"{chosen.name} has no batch rule"}, entity="sweep")
    if combos:
        entries, exits = chosen.batch(close, combos)
    else:
        entries = exits = np.zeros((0, close.shape[0]), dtype=bool)
    return SweepSignals(chosen.name, candles.index, entries.T, exits.T, combos, skipped)


# Strategies whose rule is "line a crosses line b", by their batch rule: the sweep decides
# their flags inside the engine loop from the lines (the same flags as the batch rule).
_CROSSING_LINES: dict[BatchRule, Callable[[np.ndarray, list[Params]], tuple[np.ndarray, ...]]] = {
    ema_cross.batch: ema_cross.cross_lines
}


def sweep_backtests(
    candles: pd.DataFrame,
    strategy: Strategy | str,
    combos: list[Params],
    params: np.ndarray,
    *,
    chunk: int = 256,
    progress: Callable[[int], object] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backtest every parameter set of ``combos`` (full, valid: see ``valid_sets``) under
    the engine's ``params`` array. Returns per set: final equity, max drawdown (fraction),
    number of fills; ``progress(n)`` is called after each chunk of n sets."""
    chosen = get_strategy(strategy)
    batch = chosen.batch
    if batch is None:
        raise TypeError(f"{chosen.name} has no compiled batch rule; run_sweep runs it in processes")
    close = close_prices(candles)
    times = candles.index.as_unit("ms").asi8.astype(np.int64)
    open_, high, low = (candles[c].to_numpy(dtype="float64") for c in ("open", "high", "low"))
    k = len(combos)
    final, drawdown, fills = np.empty(k), np.empty(k), np.empty(k, dtype=np.int64)
    lines_of = _CROSSING_LINES.get(batch)
    crossing = lines_of(close, combos) if lines_of is not None and k else None
    days = day_numbers(times)  # once for every chunk
    for lo in range(0, k, chunk):
        hi = min(k, lo + chunk)
        if crossing is not None:
            lines, fast, slow, warm = crossing
            out = sweep_crossings(
                times,
                open_,
                high,
                low,
                close,
                lines,
                fast[lo:hi],
                slow[lo:hi],
                warm[lo:hi],
                params,
                days=days,
            )
        else:
            entries, exits = batch(close, combos[lo:hi])
            out = sweep_rows(times, open_, high, low, close, entries, exits, params, days=days)
        final[lo:hi], drawdown[lo:hi], fills[lo:hi] = out
        if progress is not None:
            progress(hi - lo)
    return final, drawdown, fills


def parse_range(spec: str) -> tuple[str, list[int]]:
    """'ema_fast=5:55' -> ('ema_fast', [5 .. 54]); 'x=5:55:5' steps by 5; 'x=3,8,13' lists."""
    name, sep, value = spec.partition("=")
    try:
        if not sep:
            raise ValueError
        if ":" in value:
            parts = [int(p) for p in value.split(":")]
            values = list(range(*parts))
        else:
            values = [int(v) for v in value.split(",")]
    except ValueError:
        raise ValidationError(
            {spec: "expected NAME=START:STOP[:STEP] or NAME=A,B,C"}, entity="range"
        ) from None
    if not values:
        raise ValidationError({spec: "the range is empty"}, entity="range")
    return name.strip(), values
