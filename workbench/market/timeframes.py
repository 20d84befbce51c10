"""Timeframes as ccxt spells them ('1m', '5m', '1h', '1d', '1w', '1M') and their lengths."""

from __future__ import annotations

import re

from workbench.errors import ValidationError

_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_PATTERN = re.compile(r"^([1-9][0-9]*)([mhdw])$")


def timeframe_ms(timeframe: str) -> int:
    """Length of one bar in milliseconds; a clear error for anything else."""
    match = _PATTERN.match(timeframe)
    if match is None:
        raise ValidationError(
            {"timeframe": f"{timeframe!r} is not a timeframe; use e.g. 1m, 5m, 15m, 1h, 4h, 1d"},
            entity="timeframe",
        )
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def pandas_freq(timeframe: str) -> str:
    """The pandas offset alias for ``timeframe`` (e.g. '5m' -> '5min')."""
    ms = timeframe_ms(timeframe)
    return f"{ms // 60_000}min"
