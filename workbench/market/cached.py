"""Market data through the cache: an exchange's symbol lists (TTL + last-good fallback).

(A tick's candles are not cached: one bot asks once per bar anyway, and a cached answer
read just before a bar's close would hide that bar for the whole next bar.)"""

from __future__ import annotations

from workbench.cache import Cache, Cached
from workbench.market.exchange import Exchange
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
