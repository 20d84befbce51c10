"""A live bot through the real ccxt client and the fake Binance server, while it misbehaves."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from tests.conftest import FAST_RETRY
from tests.fakes.binance import API_KEY, SECRET, FakeBinanceServer
from workbench.accounts import local_user
from workbench.accounts.api_keys import Credentials
from workbench.bots import create_bot
from workbench.bots.runner import run_tick
from workbench.db import session_scope
from workbench.db.models import BotState, Side, Trade
from workbench.errors import TemporaryError
from workbench.market.ccxt_adapter import CcxtExchange

DAY = 86_400_000


def rising_market(server: FakeBinanceServer) -> None:
    """Flat for 60 days, then the last closed day jumps: the fast EMA crosses up. Today's
    bar, still open, is included as Binance sends it (daily bars: no bar closes mid-test)."""
    today = int(time.time() * 1000) // DAY * DAY
    rows = []
    for i in range(62):
        t = today - (61 - i) * DAY
        price = 30_000.0 if i < 60 else 30_600.0
        rows.append([t, price, price, price, price, 5.0])
    server.state.klines["BTCUSDT"] = rows
    server.state.prices["BTCUSDT"] = Decimal(30_600)


def live_bot(engine: Engine, name: str) -> int:
    with session_scope(engine) as session:
        owner = local_user(session=session)
        return create_bot(
            session=session,
            user_id=owner.id,
            name=name,
            exchange="binance",
            symbol="BTC/USDT",
            timeframe="1d",
            strategy="ema_cross",
            ema_fast=3,
            ema_slow=8,
            initial_capital="1000",
            dry_run=False,
        ).id


def orders(server: FakeBinanceServer) -> int:
    return server.state.orders_placed()


def trade_ids(engine: Engine, bot_id: int) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(Trade.client_order_id).where(Trade.bot_config_id == bot_id)
            ).scalars()
        )


@pytest.mark.parametrize("fault", [None, "429", "500", "timeout"])
def test_temporary_faults_are_retried_and_the_bot_trades(
    engine: Engine,
    binance: CcxtExchange,
    binance_server: FakeBinanceServer,
    fault: str | None,
) -> None:
    rising_market(binance_server)
    bot_id = live_bot(engine, f"live-{fault}")
    if fault:
        binance_server.state.fail_next(fault, 2)
    result = run_tick(bot_id, engine=engine, exchange=binance)
    assert result.decision == "enter", result
    assert orders(binance_server) == 1
    assert trade_ids(engine, bot_id) == [result.order.client_order_id]
    assert abs(result.order.cost - Decimal(1000) / Decimal("1.001")) < 1  # all in, fee kept
    assert run_tick(bot_id, engine=engine, exchange=binance).decision == "wait"
    assert orders(binance_server) == 1


def test_lost_answer_to_an_order_is_not_a_second_order(
    engine: Engine, binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    rising_market(binance_server)
    bot_id = live_bot(engine, "lost")
    binance_server.state.fail_next("lose_response", path="/api/v3/order")
    result = run_tick(bot_id, engine=engine, exchange=binance)
    assert result.decision == "enter"
    assert orders(binance_server) == 1
    assert len(trade_ids(engine, bot_id)) == 1


def test_a_failing_tick_changes_nothing_and_the_next_one_trades_once(
    engine: Engine, binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    rising_market(binance_server)
    bot_id = live_bot(engine, "down")
    binance_server.state.fail_next("503", 50)
    with pytest.raises(TemporaryError):
        run_tick(bot_id, engine=engine, exchange=binance)
    with engine.connect() as conn:
        data, message = conn.execute(
            sa.select(BotState.state_data, BotState.status_message).where(
                BotState.bot_config_id == bot_id
            )
        ).one()
    assert data == {} and message.startswith("tick failed: binance")
    assert orders(binance_server) == 0
    binance_server.state.failures.clear()
    assert run_tick(bot_id, engine=engine, exchange=binance).decision == "enter"
    assert orders(binance_server) == 1


def daily(server: FakeBinanceServer, symbol: str, closes: list[float], last_day_ago: int) -> None:
    """Daily bars closing at ``closes``, the newest closed ``last_day_ago`` days ago."""
    today = int(time.time() * 1000) // DAY * DAY
    n = len(closes)
    server.state.klines[symbol] = [
        [today - (last_day_ago + n - 1 - i) * DAY, c, c, c, c, 5.0] for i, c in enumerate(closes)
    ]
    server.state.prices[symbol] = Decimal(str(closes[-1]))


FLAT = [30_000.0] * 60


def test_a_spot_bot_sells_what_it_holds_when_the_buy_fee_is_in_the_base_asset(
    engine: Engine, binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    binance_server.state.balances["BTC"] = Decimal(0)  # nothing but what the bot buys
    bot_id = live_bot(engine, "base-fee")
    daily(binance_server, "BTCUSDT", [*FLAT, 30_600.0], last_day_ago=2)
    entry = run_tick(bot_id, engine=engine, exchange=binance)
    assert entry.decision == "enter" and entry.order is not None
    assert entry.order.fee_currency == "BTC" and entry.order.fee > 0
    received = entry.order.filled - entry.order.fee
    assert binance_server.state.balances["BTC"] == received

    daily(binance_server, "BTCUSDT", [*FLAT, 30_600.0, 29_000.0], last_day_ago=1)
    exit_ = run_tick(bot_id, engine=engine, exchange=binance)
    assert exit_.decision == "exit" and exit_.order is not None, exit_
    assert exit_.order.status == "closed"
    assert exit_.order.filled <= received
    assert binance_server.state.balances["BTC"] < Decimal("0.00001")  # one step of dust
    assert orders(binance_server) == 2
    with engine.connect() as conn:
        sides = conn.execute(sa.select(Trade.side).where(Trade.bot_config_id == bot_id)).scalars()
        assert [str(s) for s in sides] == ["buy", "sell"]


def spot_bot(engine: Engine, name: str, symbol: str) -> int:
    with session_scope(engine) as session:
        return create_bot(
            session=session,
            user_id=local_user(session=session).id,
            name=name,
            exchange="binance",
            symbol=symbol,
            timeframe="1d",
            strategy="ema_cross",
            ema_fast=3,
            ema_slow=8,
            initial_capital="1000",
            dry_run=False,
        ).id


def adapter(server: FakeBinanceServer, account: str) -> CcxtExchange:
    exchange = CcxtExchange(
        "binance",
        credentials=Credentials(API_KEY, SECRET),
        api_urls=server.api_urls(),
        retry=FAST_RETRY,
        timeout_ms=2000,
        account=account,
    )
    exchange.load_markets()
    return exchange


def test_order_ids_that_repeat_across_symbols_and_accounts_are_all_recorded(
    engine: Engine, binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    """Binance counts order ids per symbol, and a testnet and a live account may share a
    database: every one of these orders gets exchange order id 1000."""
    for symbol, price in (("BTCUSDT", 30_000.0), ("ETHUSDT", 2_000.0)):
        daily(binance_server, symbol, [price] * 60 + [price * 1.02], last_day_ago=1)
    btc = spot_bot(engine, "btc", "BTC/USDT")
    eth = spot_bot(engine, "eth", "ETH/USDT")
    assert run_tick(btc, engine=engine, exchange=binance).decision == "enter"
    assert run_tick(eth, engine=engine, exchange=binance).decision == "enter"
    with FakeBinanceServer() as testnet:
        daily(testnet, "BTCUSDT", [30_000.0] * 60 + [30_600.0], last_day_ago=1)
        sandbox_btc = spot_bot(engine, "btc-testnet", "BTC/USDT")
        result = run_tick(sandbox_btc, engine=engine, exchange=adapter(testnet, "sandbox"))
        assert result.decision == "enter"
    with engine.connect() as conn:
        keys = conn.execute(
            sa.select(Trade.account, Trade.symbol, Trade.exchange_order_id).order_by(Trade.id)
        ).all()
    assert [tuple(k) for k in keys] == [
        ("live", "BTC/USDT", "1000"),
        ("live", "ETH/USDT", "1000"),
        ("sandbox", "BTC/USDT", "1000"),
    ]


def test_any_failure_of_a_tick_is_said_in_the_bots_status(
    engine: Engine, binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    """A trade row the tick cannot explain (same account, symbol and order id, another
    client id) stops it with the database's own error, and the status says so."""
    bot_id = live_bot(engine, "clash")
    rising_market(binance_server)
    with session_scope(engine) as session:
        session.add(
            Trade(
                user_id=local_user(session=session).id,
                exchange="binance",
                account="live",
                exchange_order_id=str(binance_server.state.first_order_id),
                client_order_id="someone-else",
                symbol="BTC/USDT",
                side=Side.BUY,
                order_type="market",
                price=Decimal(1),
                quantity_filled=Decimal(1),
                quote_quantity_filled=Decimal(1),
                timestamp=datetime.now(UTC),
            )
        )
    with pytest.raises(sa.exc.IntegrityError):
        run_tick(bot_id, engine=engine, exchange=binance)
    with engine.connect() as conn:
        message = conn.scalar(
            sa.select(BotState.status_message).where(BotState.bot_config_id == bot_id)
        )
    assert message.startswith("tick failed: IntegrityError")
