"""Symbol lists and recent candles through the real cache backends and the fake exchange."""

from __future__ import annotations

from tests.fakes.binance import FakeBinanceServer
from workbench.cache import Cache
from workbench.market.cached import cached_symbols
from workbench.market.ccxt_adapter import CcxtExchange


def test_symbols_cached_and_served_stale_when_the_exchange_fails(
    cache: Cache, binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    first = cached_symbols(cache, binance, "spot", ttl=1)
    assert first.value == ["BTC/USDT", "ETH/BTC", "ETH/USDT"] and not first.stale
    assert cached_symbols(cache, binance, "spot", ttl=1).hit
    futures = cached_symbols(cache, binance, "futures", ttl=1)
    assert futures.value == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    cache.delete("symbols:binance:spot")  # expired
    binance_server.state.fail_next("503", 50)
    stale = cached_symbols(cache, binance, "spot", ttl=1)
    assert stale.stale and stale.value == first.value and "Internal error" in (stale.error or "")
    assert cache.stats()["symbols"].stale_served == 1
