"""Signals for many parameter sets at once (bars x sets boolean matrices), for sweeps.

Each strategy's compiled rule takes all sets in one call and computes every distinct
indicator period once (50 EMA periods for all 1,225 ema_fast < ema_slow pairs of 5..54).
``Strategy.signals`` runs the same rule with one set, so the columns here equal the
single-set flags exactly.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import ValidationError
from workbench.strategies.base import Params, Strategy, close_prices
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


def sweep_signals(
    candles: pd.DataFrame, strategy: Strategy | str, grid: Mapping[str, Iterable[Any]]
) -> SweepSignals:
    """Entries and exits for every valid parameter set of ``grid``; parameters not in the
    grid take their defaults; invalid sets are skipped and listed with the reason."""
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
    combos: list[Params] = []
    skipped: list[tuple[dict[str, Any], str]] = []
    for combo in expand_grid(grid):
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
    close = close_prices(candles)
    if chosen.batch is None:  # a user strategy: run_sweep spreads its sets over processes
        raise ValidationError({"strategy": f"{chosen.name} has no batch rule"}, entity="sweep")
    if combos:
        entries, exits = chosen.batch(close, combos)
    else:
        entries = exits = np.zeros((0, close.shape[0]), dtype=bool)
    return SweepSignals(chosen.name, candles.index, entries.T, exits.T, combos, skipped)


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
