"""Timeframes as ccxt spells them ('1m', '5m', '1h', '1d', '1w') and their lengths."""

from __future__ import annotations

from workbench.market.names import timeframe_length_ms


def timeframe_ms(timeframe: str) -> int:
    """Length of one bar in milliseconds; a clear error for anything else (see names)."""
    return timeframe_length_ms(timeframe)


def pandas_freq(timeframe: str) -> str:
    """The pandas offset alias for ``timeframe`` (e.g. '5m' -> '5min')."""
    ms = timeframe_ms(timeframe)
    return f"{ms // 60_000}min"


def describe_ms(ms: int) -> str:
    """A spacing in ccxt's words where it fits (300000 -> '5m'), else seconds."""
    for unit, length in (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)):
        if ms >= length and ms % length == 0:
            return f"{ms // length}{unit}"
    return f"{ms / 1000:g}s"
