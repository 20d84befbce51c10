"""A live bot through the real ccxt client and the fake Binance server, while it misbehaves."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from tests.fakes.binance import FakeBinanceServer
from workbench.accounts import local_user
from workbench.bots import create_bot
from workbench.bots.runner import run_tick
from workbench.cache import Cache
from workbench.db import session_scope
from workbench.db.models import BotState, Trade
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
    cache: Cache,
    binance: CcxtExchange,
    binance_server: FakeBinanceServer,
    fault: str | None,
) -> None:
    rising_market(binance_server)
    bot_id = live_bot(engine, f"live-{fault}")
    if fault:
        binance_server.state.fail_next(fault, 2)
    result = run_tick(bot_id, engine=engine, exchange=binance, cache=cache)
    assert result.decision == "enter", result
    assert orders(binance_server) == 1
    assert trade_ids(engine, bot_id) == [result.order.client_order_id]
    assert abs(result.order.cost - Decimal(1000) / Decimal("1.001")) < 1  # all in, fee kept
    assert run_tick(bot_id, engine=engine, exchange=binance, cache=cache).decision == "wait"
    assert orders(binance_server) == 1


def test_lost_answer_to_an_order_is_not_a_second_order(
    engine: Engine, cache: Cache, binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    rising_market(binance_server)
    bot_id = live_bot(engine, "lost")
    binance_server.state.fail_next("lose_response", path="/api/v3/order")
    result = run_tick(bot_id, engine=engine, exchange=binance, cache=cache)
    assert result.decision == "enter"
    assert orders(binance_server) == 1
    assert len(trade_ids(engine, bot_id)) == 1


def test_a_failing_tick_changes_nothing_and_the_next_one_trades_once(
    engine: Engine, cache: Cache, binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    rising_market(binance_server)
    bot_id = live_bot(engine, "down")
    binance_server.state.fail_next("503", 50)
    with pytest.raises(TemporaryError):
        run_tick(bot_id, engine=engine, exchange=binance, cache=cache)
    with engine.connect() as conn:
        data, message = conn.execute(
            sa.select(BotState.state_data, BotState.status_message).where(
                BotState.bot_config_id == bot_id
            )
        ).one()
    assert data == {} and message.startswith("tick failed: binance")
    assert orders(binance_server) == 0
    binance_server.state.failures.clear()
    assert run_tick(bot_id, engine=engine, exchange=binance, cache=cache).decision == "enter"
    assert orders(binance_server) == 1
