"""Symbol lists and recent candles through the real cache backends and the fake exchange."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from tests.fakes.binance import FakeBinanceServer
from workbench.cache import Cache
from workbench.errors import TemporaryError
from workbench.market.cached import cached_symbols, recent_candles
from workbench.market.ccxt_adapter import CcxtExchange
from workbench.market.sample import sample_candles


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


def test_recent_candles_ask_the_exchange_once_per_bar(
    cache: Cache, binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    frame = sample_candles(300, timeframe="1m", seed=4, start=start)
    rows = frame.reset_index()
    rows.insert(0, "timestamp", frame.index.as_unit("ms").asi8)
    binance_server.state.klines["BTCUSDT"] = rows.drop(columns="time").to_numpy().tolist()
    now = start + timedelta(minutes=200, seconds=30)  # bar 200 is still open
    got = recent_candles(cache, binance, "BTC/USDT", "1m", bars=50, now=now)
    pd.testing.assert_frame_equal(got, frame.iloc[150:200], check_freq=False)
    calls = binance_server.state.requests["GET /api/v3/klines"]
    again = recent_candles(
        cache, binance, "BTC/USDT", "1m", bars=50, now=now + timedelta(seconds=20)
    )
    pd.testing.assert_frame_equal(again, got)
    assert binance_server.state.requests["GET /api/v3/klines"] == calls
    later = recent_candles(
        cache, binance, "BTC/USDT", "1m", bars=50, now=now + timedelta(minutes=1)
    )
    assert later.index[-1] == frame.index[200]
    assert binance_server.state.requests["GET /api/v3/klines"] == calls + 1


def test_no_stale_candles_without_a_good_copy(
    cache: Cache, binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    binance_server.state.fail_next("503", 50)
    with pytest.raises(TemporaryError):
        recent_candles(cache, binance, "BTC/USDT", "1m", bars=5, now=datetime.now(UTC))
