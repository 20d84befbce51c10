"""The real ccxt client against the local fake Binance server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.binance import API_KEY, SECRET, FakeBinanceServer
from workbench.accounts.api_keys import Credentials
from workbench.market.ccxt_adapter import CcxtExchange
from workbench.market.retry import RetryPolicy

FAST_RETRY = RetryPolicy(attempts=3, first_wait=0.01, max_wait=0.05, max_delay=5)


@pytest.fixture
def binance_server() -> Iterator[FakeBinanceServer]:
    with FakeBinanceServer() as server:
        server.state.delay_seconds = 1.0
        yield server


@pytest.fixture
def binance(binance_server: FakeBinanceServer) -> CcxtExchange:
    """An adapter with its markets loaded, so every later request is the one under test."""
    exchange = CcxtExchange(
        "binance",
        credentials=Credentials(API_KEY, SECRET),
        api_urls=binance_server.api_urls(),
        retry=FAST_RETRY,
        timeout_ms=500,
    )
    exchange.load_markets()
    return exchange
