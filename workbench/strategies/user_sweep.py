"""The valid parameter sets of a sweep grid for a strategy without a batch rule (the
signals are computed per set by ``workbench.strategies.parallel``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from workbench.errors import ValidationError
from workbench.strategies.base import Params, Strategy
from workbench.strategies.sweep import expand_grid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepSets:
    strategy: str
    index: pd.Index
    combos: list[Params]
    skipped: list[tuple[dict[str, Any], str]]


def valid_sets(strategy: Strategy, index: pd.Index, grid: Mapping[str, Iterable[Any]]) -> SweepSets:
    """Every valid set of ``grid`` (defaults for the rest); invalid ones listed with why."""
    unknown = sorted(set(grid) - set(strategy.param_names))
    if unknown:
        raise ValidationError(
            {
                "grid": f"{', '.join(unknown)} not parameters of {strategy.name} "
                f"(its parameters: {', '.join(strategy.param_names)})"
            },
            entity="sweep",
        )
    combos: list[Params] = []
    skipped: list[tuple[dict[str, Any], str]] = []
    for combo in expand_grid(grid):
        try:
            combos.append(strategy.validate(combo))
        except ValidationError as e:
            skipped.append((combo, "; ".join(f"{k} {v}" for k, v in e.errors.items())))
    if skipped:
        log.info("%s sweep: skipped %d invalid parameter sets", strategy.name, len(skipped))
    return SweepSets(strategy.name, index, combos, skipped)
