"""Market data through the cache: symbol lists (TTL + last-good fallback) and recent closed
candles, so a bot tick asks neither the database nor the exchange for bars it already has."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from workbench.cache import Cache, Cached
from workbench.market.candles import frame_from_ohlcv
from workbench.market.exchange import Exchange
from workbench.market.timeframes import timeframe_ms
from workbench.timeutil import to_ms
from workbench.types import MarketType

SYMBOLS_TTL = 3600.0


def cached_symbols(
    cache: Cache, exchange: Exchange, market_type: MarketType, *, ttl: float = SYMBOLS_TTL
) -> Cached[list[str]]:
    """Sorted symbols of one market type; served stale (and said so) if the exchange fails."""

    def fetch() -> list[str]:
        return sorted(s for s, m in exchange.load_markets().items() if m.type == market_type)

    return cache.read_through(
        f"symbols:{exchange.id}:{market_type}", fetch, ttl=ttl, family="symbols"
    )


def last_closed_open_ms(timeframe: str, now: datetime) -> int:
    """Open time (ms) of the newest bar that has closed by ``now``."""
    step = timeframe_ms(timeframe)
    return (to_ms(now) // step - 1) * step


def recent_candles(
    cache: Cache, exchange: Exchange, symbol: str, timeframe: str, *, bars: int, now: datetime
) -> pd.DataFrame:
    """The last ``bars`` closed bars as a candle frame. Cached per newest closed bar, so the
    exchange is asked once per bar; the still-open bar is never included."""
    last_open = last_closed_open_ms(timeframe, now)
    step = timeframe_ms(timeframe)
    key = f"candles:{exchange.id}:{symbol}:{timeframe}:{bars}:{last_open}"

    def fetch() -> pd.DataFrame:
        since = last_open - (bars - 1) * step
        rows = [
            r for r in exchange.fetch_ohlcv(symbol, timeframe, since, bars + 1) if r[0] <= last_open
        ]
        return frame_from_ohlcv(rows)

    # Valid until the next bar closes; the key changes then anyway.
    ttl = max(1.0, (last_open + 2 * step - to_ms(now)) / 1000)
    return cache.read_through(key, fetch, ttl=ttl, family="candles").value
