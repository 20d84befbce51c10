"""The paper exchange over replayed candles: balances to the last digit, across restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from workbench.errors import OrderRejectedError, RejectedError
from workbench.market.candles import upsert_candles
from workbench.market.exchange import Exchange
from workbench.market.paper import PaperExchange, PaperTerms
from workbench.market.prices import ReplayPrices

START = datetime(2024, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def store(
    engine: Engine,
    symbol: str,
    opens: list[float],
    lows: list[float] | None = None,
    highs: list[float] | None = None,
) -> None:
    n = len(opens)
    o = np.array(opens, dtype=float)
    c = np.append(o[1:], o[-1])
    frame = pd.DataFrame(
        {
            "open": o,
            "high": highs or np.maximum(o, c),
            "low": lows or np.minimum(o, c),
            "close": c,
            "volume": np.ones(n),
        },
        index=pd.DatetimeIndex([START + i * HOUR for i in range(n)], name="time"),
    )
    upsert_candles(engine=engine, exchange="replay", symbol=symbol, timeframe="1h", frame=frame)


def paper(engine: Engine, prices: ReplayPrices, **kw: object) -> PaperExchange:
    terms = PaperTerms(fee_rate=Decimal("0.001"), slippage=Decimal("0.0005"))
    return PaperExchange(
        engine=engine,
        prices=prices,
        account="test",
        terms=terms,
        initial_balances={"USDT": Decimal(10_000)},
        **kw,
    )  # type: ignore[arg-type]


def replay(engine: Engine, symbols: list[str]) -> ReplayPrices:
    return ReplayPrices(
        engine=engine, exchange="replay", timeframe="1h", symbols=symbols, start=START
    )


def test_spot_fees_slippage_partial_close_and_restart(engine: Engine) -> None:
    store(engine, "BTC/USDT", [100, 102, 110, 120, 120])
    prices = replay(engine, ["BTC/USDT"])
    exchange = paper(engine, prices)
    assert isinstance(exchange, Exchange)
    prices.advance_to(START + HOUR)  # the bar opening at 102
    buy = exchange.create_order(
        "BTC/USDT", "buy", "market", cost=Decimal(1000), client_order_id="b1"
    )
    fill = Decimal(102) * Decimal("1.0005")
    assert buy.price == fill
    assert buy.filled == (Decimal(1000) / fill).quantize(Decimal("1e-10"), ROUND_DOWN)
    assert buy.fee == Decimal("1.0000000000")
    prices.advance_to(START + 3 * HOUR)  # opens at 120
    half = (buy.filled / 2).quantize(Decimal("1e-10"))
    exchange.create_order("BTC/USDT", "sell", "market", half, client_order_id="s1")
    sell_price = Decimal(120) * Decimal("0.9995")
    proceeds = (half * sell_price).quantize(Decimal("1e-10"))
    sell_fee = (proceeds * Decimal("0.001")).quantize(Decimal("1e-10"))
    expected_usdt = Decimal(10_000) - buy.cost - buy.fee + proceeds - sell_fee
    balances = exchange.fetch_balance()
    assert balances["USDT"].free == expected_usdt
    assert balances["BTC"].free == buy.filled - half

    restarted = paper(engine, prices)  # a new process: everything comes from the database
    again = restarted.fetch_balance()
    assert again["USDT"].free == expected_usdt and again["BTC"].free == buy.filled - half
    duplicate = restarted.create_order(
        "BTC/USDT", "buy", "market", cost=Decimal(1000), client_order_id="b1"
    )
    assert duplicate.id == buy.id
    assert restarted.fetch_balance()["USDT"].free == expected_usdt


def test_insufficient_funds_change_nothing(engine: Engine) -> None:
    store(engine, "BTC/USDT", [100, 100])
    prices = replay(engine, ["BTC/USDT"])
    exchange = paper(engine, prices)
    with pytest.raises(OrderRejectedError, match="insufficient USDT"):
        exchange.create_order(
            "BTC/USDT", "buy", "market", cost=Decimal(20_000), client_order_id="big"
        )
    with pytest.raises(OrderRejectedError, match="insufficient BTC"):
        exchange.create_order("BTC/USDT", "sell", "market", Decimal(1), client_order_id="s")
    assert exchange.fetch_balance()["USDT"].free == Decimal(10_000)
    assert exchange.find_order("BTC/USDT", "big") is None


def test_limit_orders_fill_when_price_crosses_and_cancel_releases(engine: Engine) -> None:
    store(engine, "BTC/USDT", [100, 99, 95, 96, 97], lows=[99, 94, 94, 95, 96])
    prices = replay(engine, ["BTC/USDT"])
    exchange = paper(engine, prices)
    order = exchange.create_order(
        "BTC/USDT", "buy", "limit", Decimal(10), Decimal(95), client_order_id="l1"
    )
    other = exchange.create_order(
        "BTC/USDT", "buy", "limit", Decimal(1), Decimal(50), client_order_id="l2"
    )
    assert exchange.fetch_balance()["USDT"].used == Decimal("950.95") + Decimal("50.05")
    prices.advance_to(START + HOUR)  # bar 0 closed: low 99, nothing fills
    assert exchange.fetch_order("BTC/USDT", order.id).status == "open"
    prices.advance_to(START + 2 * HOUR)  # bar 1 closed with a low of 94
    filled = exchange.fetch_order("BTC/USDT", order.id)
    assert (filled.status, filled.price, filled.fee) == ("closed", Decimal(95), Decimal("0.95"))
    exchange.cancel_order("BTC/USDT", other.id)
    balances = exchange.fetch_balance()
    assert balances["BTC"].free == Decimal(10)
    assert balances["USDT"].free == Decimal(10_000) - Decimal(950) - Decimal("0.95")
    assert balances["USDT"].used == 0
    assert exchange.fetch_open_orders() == []


def test_futures_leverage_partial_close_and_liquidation(engine: Engine) -> None:
    store(
        engine,
        "XRP/USDT:USDT",
        [1.0, 1.0, 1.1, 1.2, 1.0, 0.9, 0.9],
        lows=[1.0, 1.0, 1.1, 1.0, 0.85, 0.9, 0.9],
    )
    prices = replay(engine, ["XRP/USDT:USDT"])
    exchange = PaperExchange(
        engine=engine,
        prices=prices,
        account="fut",
        terms=PaperTerms(fee_rate=Decimal("0.0004"), slippage=Decimal(0)),
        initial_balances={"USDT": Decimal(1000)},
    )
    with pytest.raises(RejectedError, match="futures symbol"):
        exchange.set_leverage("XRP/USDT", 5)
    exchange.set_leverage("XRP/USDT:USDT", 10)
    prices.advance_to(START + HOUR)
    exchange.create_order(
        "XRP/USDT:USDT", "buy", "market", cost=Decimal(2000), client_order_id="open"
    )
    position = exchange.fetch_position("XRP/USDT:USDT")
    assert position is not None
    assert (position.quantity, position.margin) == (Decimal(2000), Decimal(200))
    assert position.liquidation_price == Decimal("0.904")
    usdt = exchange.fetch_balance()["USDT"]
    assert (usdt.free, usdt.used) == (Decimal(1000) - 200 - Decimal("0.8"), Decimal(200))

    prices.advance_to(START + 2 * HOUR)  # price 1.1: close half, +100 x 1000 at 1.1
    exchange.create_order("XRP/USDT:USDT", "sell", "market", Decimal(1000), client_order_id="half")
    usdt = exchange.fetch_balance()["USDT"]
    assert usdt.free == Decimal(1000) - 200 - Decimal("0.8") + 100 + 100 - Decimal("0.44")
    assert usdt.used == Decimal(100)

    prices.advance_to(START + 5 * HOUR)  # bar 4 traded down to 0.85 < 0.904: liquidated
    assert exchange.fetch_position("XRP/USDT:USDT") is None
    final = exchange.fetch_balance()["USDT"]
    assert final.used == 0
    assert final.free == Decimal(1000) - 200 - Decimal("0.8") + 200 - Decimal("0.44")
    assert exchange.fetch_orders()[-1].client_order_id.startswith("liquidation-")
