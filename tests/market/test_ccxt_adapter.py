"""CcxtExchange: the real ccxt.binance client against a local fake Binance server."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from tests.conftest import FAST_RETRY
from tests.fakes.binance import API_KEY, SECRET, FakeBinanceServer
from workbench.accounts.api_keys import Credentials
from workbench.errors import (
    AuthenticationError,
    NotFoundError,
    OrderRejectedError,
    TemporaryError,
)
from workbench.market import candles as store
from workbench.market.ccxt_adapter import CcxtExchange
from workbench.market.download import fetch_missing
from workbench.market.exchange import Exchange, OrderUnknownError


def test_is_an_exchange_and_does_no_io_when_built() -> None:
    exchange = CcxtExchange("binance", api_urls={"public": "http://127.0.0.1:9/api/v3"})
    assert isinstance(exchange, Exchange)
    assert "secret" not in repr(exchange)


def test_markets_spot_and_futures(binance: CcxtExchange) -> None:
    assert binance.symbols("spot") == ["BTC/USDT", "ETH/BTC", "ETH/USDT"]
    assert binance.symbols("futures") == ["BTC/USDT:USDT", "ETH/USDT:USDT"]


def test_ticker_balance_orders(binance: CcxtExchange, binance_server: FakeBinanceServer) -> None:
    assert binance.fetch_ticker("BTC/USDT").last == Decimal(30000)
    assert binance.fetch_balance()["USDT"].free == Decimal(10000)
    bought = binance.create_order(
        "BTC/USDT", "buy", "market", cost=Decimal(300), client_order_id="wb-1-100-buy"
    )
    assert (bought.status, bought.filled, bought.cost) == ("closed", Decimal("0.01"), Decimal(300))
    assert bought.fee == Decimal("0.00001") and bought.fee_currency == "BTC"
    assert binance.fetch_balance()["USDT"].free == Decimal(9700)
    limit = binance.create_order(
        "BTC/USDT",
        "sell",
        "limit",
        Decimal("0.001"),
        Decimal(40000),
        client_order_id="wb-1-101-sell",
    )
    assert [o.id for o in binance.fetch_open_orders("BTC/USDT")] == [limit.id]
    assert binance.fetch_order("BTC/USDT", limit.id).status == "open"
    assert binance.cancel_order("BTC/USDT", limit.id).status == "canceled"
    assert binance.fetch_open_orders("BTC/USDT") == []
    found = binance.find_order("BTC/USDT", "wb-1-100-buy")
    assert found is not None and found.id == bought.id
    assert binance.find_order("BTC/USDT", "never-sent") is None


@pytest.mark.parametrize("kind", ["429", "500", "503", "timeout", "malformed"])
def test_temporary_faults_are_retried(
    binance: CcxtExchange, binance_server: FakeBinanceServer, kind: str
) -> None:
    binance_server.state.fail_next(kind, 2)
    assert binance.fetch_ticker("ETH/USDT").last == Decimal(2000)
    assert binance_server.state.requests["GET /api/v3/ticker/24hr"] == 3, (
        binance_server.state.requests
    )


@pytest.mark.parametrize("kind", ["429", "503", "timeout", "malformed"])
def test_persistent_faults_end_as_temporary_errors(
    binance: CcxtExchange, binance_server: FakeBinanceServer, kind: str
) -> None:
    binance_server.state.fail_next(kind, 10)
    with pytest.raises(TemporaryError):
        binance.fetch_ticker("ETH/USDT")
    assert binance_server.state.requests["GET /api/v3/ticker/24hr"] == FAST_RETRY.attempts


def test_bad_credentials_are_not_retried(
    binance_server: FakeBinanceServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = CcxtExchange(
        "binance",
        credentials=Credentials(API_KEY, "wrong-secret-123456"),
        api_urls=binance_server.api_urls(),
        retry=FAST_RETRY,
    )
    with pytest.raises(AuthenticationError, match="Signature") as err:
        wrong.fetch_balance()
    assert binance_server.state.requests["GET /api/v3/account"] == 1
    assert "wrong-secret-123456" not in str(err.value) and API_KEY not in str(err.value)
    assert "wrong-secret-123456" not in caplog.text and API_KEY not in caplog.text


def test_rejected_orders_are_not_retried(
    binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    with pytest.raises(OrderRejectedError, match="insufficient balance"):
        binance.create_order("ETH/USDT", "sell", "market", Decimal(5), client_order_id="x-1")
    assert binance_server.state.requests["POST /api/v3/order"] == 1
    with pytest.raises(NotFoundError):
        binance.fetch_order("BTC/USDT", "424242")


def test_no_duplicate_order_when_the_answer_is_lost(
    binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    binance_server.state.fail_next("lose_response")
    order = binance.create_order(
        "BTC/USDT", "buy", "market", cost=Decimal(100), client_order_id="wb-7-55-buy"
    )
    assert binance_server.state.orders_placed() == 1
    assert order.client_order_id == "wb-7-55-buy" and order.status == "closed"


def test_a_create_refused_by_the_rate_limit_is_sent_again(
    binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    binance_server.state.fail_next("429", path="/api/v3/order")
    binance.create_order(
        "BTC/USDT", "buy", "market", cost=Decimal(100), client_order_id="wb-7-56-buy"
    )
    assert binance_server.state.orders_placed() == 1
    assert binance_server.state.requests["POST /api/v3/order"] == 2


@pytest.mark.parametrize("fault", ["503", "timeout"])
def test_a_create_of_unknown_fate_is_never_sent_again(
    binance: CcxtExchange, binance_server: FakeBinanceServer, fault: str
) -> None:
    binance_server.state.fail_next(fault, path="/api/v3/order")
    with pytest.raises(OrderUnknownError, match=r"wb-7-57-buy .*fate is unknown") as err:
        binance.create_order(
            "BTC/USDT", "buy", "market", cost=Decimal(100), client_order_id="wb-7-57-buy"
        )
    assert err.value.client_order_id == "wb-7-57-buy"
    assert binance_server.state.requests["POST /api/v3/order"] == 1
    assert binance_server.state.orders_placed() == 0


def test_an_order_executed_late_is_found_not_sent_again(
    binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    binance_server.state.late_seconds = 1.5  # the client gives up after 0.5 s
    binance_server.state.fail_next("late", path="/api/v3/order")
    order = binance.create_order(
        "BTC/USDT", "buy", "market", cost=Decimal(100), client_order_id="wb-7-58-buy"
    )
    assert order.client_order_id == "wb-7-58-buy" and order.status == "closed"
    assert binance_server.state.requests["POST /api/v3/order"] == 1
    assert binance_server.state.orders_placed() == 1


def test_an_order_is_found_among_the_accounts_trades(
    binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    since = int(time.time() * 1000) - 1000
    placed = binance.create_order(
        "BTC/USDT", "buy", "market", cost=Decimal(100), client_order_id="wb-7-59-buy"
    )
    found = binance.find_order("BTC/USDT", "wb-7-59-buy", since_ms=since)
    assert found is not None and found.id == placed.id
    assert binance.find_order("BTC/USDT", "wb-7-60-buy", since_ms=since) is None
    assert binance_server.state.requests["GET /api/v3/myTrades"] == 1


def test_order_ids_are_per_symbol(binance_server: FakeBinanceServer, binance: CcxtExchange) -> None:
    btc = binance.create_order("BTC/USDT", "buy", "market", cost=Decimal(100), client_order_id="a")
    eth = binance.create_order("ETH/USDT", "buy", "market", cost=Decimal(100), client_order_id="b")
    assert btc.id == eth.id == str(binance_server.state.first_order_id)


def test_errors_never_carry_secrets(binance_server: FakeBinanceServer) -> None:
    exchange = CcxtExchange(
        "binance",
        credentials=Credentials(API_KEY, SECRET),
        api_urls=binance_server.api_urls(),
        retry=FAST_RETRY,
    )
    binance_server.state.fail_next("500", 10)
    with pytest.raises(TemporaryError) as err:
        exchange.fetch_balance()
    assert SECRET not in str(err.value) and API_KEY not in str(err.value)
    assert "signature=" not in str(err.value)


def test_fetch_stores_only_what_is_missing(
    engine: Engine, binance: CcxtExchange, binance_server: FakeBinanceServer, shared_data: Path
) -> None:
    raw = pd.read_csv(shared_data / "ETH_BTC-5m.csv").iloc[:3000]
    binance_server.state.klines["ETHBTC"] = raw.to_numpy().tolist()
    since = datetime.fromtimestamp(raw["timestamp"].iloc[0] / 1000, tz=UTC)
    until = datetime.fromtimestamp(raw["timestamp"].iloc[-1] / 1000 + 300, tz=UTC)
    key = {"exchange": "binance", "symbol": "ETH/BTC", "timeframe": "5m"}
    first = fetch_missing(
        engine=engine,
        exchange=binance,
        since=since,
        until=until,
        progress=False,
        page_limit=500,
        symbol="ETH/BTC",
        timeframe="5m",
    )
    assert first == len(raw)
    pages = binance_server.state.requests["GET /api/v3/klines"]
    assert pages >= 6
    back = store.read_candles(engine=engine, **key)
    assert back["close"].tolist() == raw["close"].tolist()
    again = fetch_missing(
        engine=engine,
        exchange=binance,
        since=since,
        until=until,
        progress=False,
        symbol="ETH/BTC",
        timeframe="5m",
    )
    assert again == 0
    assert binance_server.state.requests["GET /api/v3/klines"] == pages
