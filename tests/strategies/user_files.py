"""Strategy files the user-strategy tests drop into a home's strategies folder."""

from __future__ import annotations

from pathlib import Path

DONCHIAN = '''
import pandas as pd
import workbench as wb


@wb.strategy(params={"window": wb.Int(20, low=5, high=500),
                     "exit_window": wb.Int(10, low=2, high=500),
                     "min_range": wb.Float(0.0, low=0.0, high=0.2)})
def donchian(candles: pd.DataFrame, window: int, exit_window: int, min_range: float):
    """Long on a close above the previous `window`-bar high; out below the `exit_window` low."""
    upper = candles.high.rolling(window).max().shift(1)
    lower = candles.low.rolling(exit_window).min().shift(1)
    wide = (upper - lower) / candles.close >= min_range
    return wb.Signals(entries=(candles.close > upper) & wide, exits=candles.close < lower,
                      indicators={"upper": upper, "lower": lower})
'''

PEEK = '''
import workbench as wb


@wb.strategy(params={"bars": wb.Int(1, low=1, high=5)})
def peek(candles, bars):
    """Looks ahead: tomorrow's close decides today."""
    ahead = candles.close.shift(-bars)
    return wb.Signals(entries=ahead > candles.close, exits=ahead < candles.close)
'''

SLOW_MEAN = '''
import workbench as wb


@wb.strategy(params={"window": wb.Int(3000, low=100, high=10_000)})
def slow_mean(candles, window):
    """Above a very long mean: its signals need `window` bars of history."""
    mean = candles.close.rolling(window).mean()
    above = candles.close > mean
    return wb.Signals(entries=above & ~above.shift(1, fill_value=False),
                      exits=~above & above.shift(1, fill_value=False),
                      indicators={"mean": mean})
'''


def drop(home: Path, name: str, text: str) -> Path:
    folder = home / "strategies"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    return path
