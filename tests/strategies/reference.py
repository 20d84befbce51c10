"""Independent reference implementations and small frames for the strategy tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

PARAMS = {
    "ema_cross": {"ema_fast": 9, "ema_slow": 21},
    "rsi": {"rsi_period": 14, "rsi_oversold": 30, "rsi_overbought": 70},
    "ema_rsi": {"ema_period": 50, "rsi_period": 10, "rsi_oversold": 35, "rsi_overbought": 65},
}


def frame(close: list[float] | np.ndarray, freq: str = "5min") -> pd.DataFrame:
    """A candle frame whose bars all open, close, and range at ``close``."""
    close = np.asarray(close, dtype=float)
    index = pd.date_range("2024-01-01", periods=len(close), freq=freq, tz="UTC", name="time")
    return pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=index
    )


def wilder_rsi(close: pd.Series, period: int) -> pd.Series:
    """RSI the textbook way, one bar at a time: a simple average of the first ``period``
    changes, then Wilder's smoothing; 50 when the price has not moved at all."""
    change = close.diff().to_numpy()
    out = np.full(len(close), np.nan)
    if len(close) <= period:
        return pd.Series(out, index=close.index)
    avg_gain = sum(max(c, 0.0) for c in change[1 : period + 1]) / period
    avg_loss = sum(max(-c, 0.0) for c in change[1 : period + 1]) / period
    for i in range(period, len(close)):
        if i > period:
            avg_gain = (avg_gain * (period - 1) + max(change[i], 0.0)) / period
            avg_loss = (avg_loss * (period - 1) + max(-change[i], 0.0)) / period
        if avg_loss == 0:
            out[i] = 50.0 if avg_gain == 0 else 100.0
        else:
            out[i] = 100 - 100 / (1 + avg_gain / avg_loss)
    return pd.Series(out, index=close.index)


def reference_signals(candles: pd.DataFrame, name: str, p: dict[str, int]) -> pd.DataFrame:
    """The documented rules written plainly in pandas, independent of the package."""
    close = candles["close"]

    def up(a: pd.Series, b: pd.Series | float) -> pd.Series:
        b = b if isinstance(b, pd.Series) else pd.Series(b, index=a.index)
        return (a > b) & (a.shift() <= b.shift())

    def down(a: pd.Series, b: pd.Series) -> pd.Series:
        return (a < b) & (a.shift() >= b.shift())

    if name == "ema_cross":
        fast = close.ewm(span=p["ema_fast"], adjust=False).mean()
        slow = close.ewm(span=p["ema_slow"], adjust=False).mean()
        entries, exits, warm = up(fast, slow), down(fast, slow), p["ema_slow"]
    else:
        rsi = wilder_rsi(close, p["rsi_period"])
        entries, exits = up(rsi, p["rsi_oversold"]), up(rsi, p["rsi_overbought"])
        warm = p["rsi_period"] + 1
        if name == "ema_rsi":
            ema = close.ewm(span=p["ema_period"], adjust=False).mean()
            entries = entries & (close > ema)
            exits = exits | down(close, ema)
            warm = max(warm, p["ema_period"])
    entries = entries & ~exits  # an exit on the same bar wins
    entries.iloc[:warm] = False
    exits.iloc[:warm] = False
    return pd.DataFrame({"entries": entries, "exits": exits})
