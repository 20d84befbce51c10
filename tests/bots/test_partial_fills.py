"""Partial fills through the real ccxt client and the fake Binance server: an order left
open is asked again within its bar and cancelled at the next one, and every fill is
recorded with its real quantity (an exit's rest is sent at once)."""

from __future__ import annotations

import time
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import Engine

from tests.conftest import MakeBot
from tests.fakes.binance import FakeBinanceServer
from workbench.bots.runner import TickResult, run_tick
from workbench.bots.state import TickState
from workbench.db.models import BotState, Trade
from workbench.market.ccxt_adapter import CcxtExchange
from workbench.types import Decision

DAY = 86_400_000
FLAT = [30_000.0] * 60


def show(server: FakeBinanceServer, closes: list[float], last_day_ago: int) -> None:
    """Daily BTCUSDT bars closing at ``closes``, the newest closed ``last_day_ago`` days ago."""
    today = int(time.time() * 1000) // DAY * DAY
    n = len(closes)
    server.state.klines["BTCUSDT"] = [
        [today - (last_day_ago + n - 1 - i) * DAY, c, c, c, c, 5.0] for i, c in enumerate(closes)
    ]
    server.state.prices["BTCUSDT"] = Decimal(str(closes[-1]))


def trades(engine: Engine, bot_id: int) -> list[tuple[str, str, Decimal]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Trade.client_order_id, Trade.side, Trade.quantity_filled)
            .where(Trade.bot_config_id == bot_id)
            .order_by(Trade.id)
        )
        return [(c, str(s), q) for c, s, q in rows]


def state(engine: Engine, bot_id: int) -> TickState:
    with engine.connect() as conn:
        return TickState.load(
            conn.scalar(sa.select(BotState.state_data).where(BotState.bot_config_id == bot_id))
        )


def test_partial_fills_are_followed_cancelled_at_the_next_bar_and_recorded_as_filled(
    engine: Engine,
    binance: CcxtExchange,
    binance_server: FakeBinanceServer,
    make_bot: MakeBot,
) -> None:
    fake = binance_server.state
    fake.balances["BTC"] = Decimal(0)  # only what the bot buys
    bot_id = make_bot(
        name="partial",
        exchange="binance",
        symbol="BTC/USDT",
        timeframe="1d",
        strategy="ema_cross",
        ema_fast=3,
        ema_slow=8,
        initial_capital="1000",
        dry_run=False,
    ).id

    def tick() -> TickResult:
        return run_tick(bot_id, engine=engine, exchange=binance)

    fake.partial_fill = Decimal("0.4")
    show(binance_server, [*FLAT, 30_600.0], last_day_ago=4)
    entry = tick()
    assert entry.decision == Decision.ENTER and entry.order.status == "open", entry
    assert "is open" in entry.note and "cancelled at the next bar" in entry.note
    assert trades(engine, bot_id) == []  # nothing recorded before it ends
    assert state(engine, bot_id).intent.fate == "open"
    waiting = tick()  # the same bar: asked again, still open
    assert waiting.decision == Decision.WAIT and "is open" in waiting.reason
    assert fake.orders_placed() == 1

    show(binance_server, [*FLAT, 30_600.0, 30_700.0], last_day_ago=3)
    settled = tick()  # the next bar: cancelled, the part filled recorded
    assert settled.decision == Decision.ENTER and settled.order.status == "canceled"
    bought = settled.order.filled
    assert bought == (settled.order.amount * Decimal("0.4")).quantize(Decimal("0.00001"))
    assert f"canceled with {bought} of {settled.order.amount} filled" in settled.note
    assert trades(engine, bot_id) == [(entry.order.client_order_id, "buy", bought)]
    held = bought - settled.order.fee  # the fee was taken in BTC
    assert fake.balances["BTC"] == held
    assert state(engine, bot_id).engine["qty"] == float(held)
    assert state(engine, bot_id).intent is None
    assert tick().decision == Decision.HOLD  # the new bar decided: still rising

    fake.partial_fill = Decimal("0.5")
    show(binance_server, [*FLAT, 30_600.0, 30_700.0, 29_000.0], last_day_ago=2)
    exit_ = tick()
    assert exit_.decision == Decision.EXIT and exit_.order.status == "open"
    sold = exit_.order.filled
    assert 0 < sold < held

    fake.partial_fill = None
    show(binance_server, [*FLAT, 30_600.0, 30_700.0, 29_000.0, 28_900.0], last_day_ago=1)
    rest = tick()  # cancelled; the part sold recorded, the rest sent and filled at once
    assert rest.decision == Decision.EXIT and "the rest" in rest.note, rest
    assert rest.order.client_order_id == f"{exit_.order.client_order_id}-rest"
    assert rest.order.status == "closed"
    recorded = trades(engine, bot_id)
    assert recorded[1:] == [
        (exit_.order.client_order_id, "sell", sold),
        (rest.order.client_order_id, "sell", rest.order.filled),
    ]
    assert held - (sold + rest.order.filled) < Decimal("0.00001")  # all of it but dust
    assert fake.balances["BTC"] < Decimal("0.00001")
    assert state(engine, bot_id).engine["qty"] == 0.0
    assert fake.orders_placed() == 3
