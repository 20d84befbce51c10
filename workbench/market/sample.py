"""A deterministic synthetic market, so the demo, notebooks and tests run offline.

This is NOT real market data: it is a random walk with regimes (up and down trends,
ranges, calm and volatile stretches), stored under the exchange id ``synthetic``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from workbench.errors import ValidationError
from workbench.market.candles import COLUMNS
from workbench.market.timeframes import timeframe_ms
from workbench.timeutil import to_ms

SYNTHETIC_EXCHANGE = "synthetic"
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)
MAX_BARS = 1_000_000  # about a second to make; a million bars is past any notebook's need
SAMPLE_END = datetime(2100, 1, 1, tzinfo=UTC)  # synthetic markets stay in this century


def sample_candles(
    bars: int,
    *,
    timeframe: str = "5m",
    seed: int = 7,
    start: datetime = DEFAULT_START,
    price: float = 30_000.0,
) -> pd.DataFrame:
    """``bars`` synthetic OHLCV bars: the same seed always gives the same market."""
    step = timeframe_ms(timeframe)
    check_sample_size(bars, step, timeframe=timeframe, start=start)
    rng = np.random.default_rng(seed)
    per_day = max(1, 86_400_000 // step)
    # Regimes last between half a day and five days: drift and volatility per bar.
    drift = np.empty(bars)
    vol = np.empty(bars)
    i = 0
    while i < bars:
        length = int(rng.integers(per_day // 2 + 1, 5 * per_day + 2))
        kind = rng.choice(["up", "down", "range"], p=[0.35, 0.3, 0.35])
        daily_vol = rng.choice([0.015, 0.03, 0.06], p=[0.4, 0.4, 0.2])
        bar_vol = daily_vol / np.sqrt(per_day)
        bias = {"up": 0.25, "down": -0.25, "range": 0.0}[kind] * bar_vol
        drift[i : i + length] = bias
        vol[i : i + length] = bar_vol
        i += length
    returns = drift + vol * rng.standard_t(df=4, size=bars) / np.sqrt(2.0)
    close = price * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[price], close[:-1]])
    wick = np.abs(rng.normal(0, 1, size=(2, bars))) * vol * close * 0.6
    high = np.maximum(open_, close) + wick[0]
    low = np.maximum(np.minimum(open_, close) - wick[1], np.minimum(open_, close) * 0.5)
    volume = rng.lognormal(mean=3.0, sigma=0.6, size=bars) * (1 + 40 * np.abs(returns))
    start_ms = to_ms(start) // step * step
    index = pd.DatetimeIndex(
        pd.to_datetime(start_ms + step * np.arange(bars, dtype="int64"), unit="ms", utc=True),
        name="time",
    )
    values = np.column_stack([open_, high, low, close, volume])
    return pd.DataFrame(values, index=index, columns=COLUMNS)


def check_sample_size(bars: int, step: int, *, timeframe: str, start: datetime) -> None:
    """Refuse a sample too large to make quickly or reaching past ``SAMPLE_END``."""
    fits = int((SAMPLE_END - start).total_seconds() * 1000) // step
    limit = min(MAX_BARS, fits)
    if not 1 <= bars <= limit:
        why = (
            ""
            if limit == MAX_BARS
            else f" (of {timeframe} from {start:%Y-%m-%d} to {SAMPLE_END:%Y})"
        )
        raise ValidationError(
            {"bars": f"{bars} is out of range; use 1 to {limit} bars{why}"}, entity="sample"
        )
