"""Exchange truth on every tick: each mismatch injected into the fake Binance server (real
ccxt client) and the paper exchange, explained ones corrected, the others halting the bot
until ``resolve``."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from tests.bots.conftest import Setup
from tests.bots.test_live_faults import (
    DAY,
    FLAT,
    daily,
    live_bot,
    orders,
    rising_market,
    trade_ids,
)
from tests.conftest import MakeBot, fake_binance_client
from tests.fakes.binance import FakeBinanceServer
from workbench.accounts import local_user
from workbench.bots import create_bot
from workbench.bots.reconcile import client_prefix, held_quantity, resolve
from workbench.bots.runner import TickResult, run_tick
from workbench.db import session_scope
from workbench.db.models import Alert, BotEvent, BotState
from workbench.errors import ConflictError
from workbench.market.candles import read_file, upsert_candles
from workbench.market.ccxt_adapter import CcxtExchange
from workbench.market.exchange import OrderUnknownError
from workbench.market.paper import PaperExchange
from workbench.market.prices import ReplayPrices


def events(engine: Engine, bot_id: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(BotEvent.decision, BotEvent.reason)
            .where(BotEvent.bot_id == bot_id)
            .order_by(BotEvent.id)
        )
        return [(d, r) for d, r in rows]


def state_of(engine: Engine, bot_id: int) -> BotState:
    with sa.orm.Session(engine) as session:
        state = session.scalar(sa.select(BotState).where(BotState.bot_config_id == bot_id))
        assert state is not None
        session.expunge(state)
        return state


def halt_alerts(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(Alert.title).where(Alert.kind == "halt")).scalars())


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def last_closed_day_ms() -> int:
    return int(time.time() * 1000) // DAY * DAY - DAY


def impatient(server: FakeBinanceServer) -> CcxtExchange:
    """An adapter that gives up on an order of unknown fate quickly (its tick fails)."""
    return fake_binance_client(server, settle_seconds=0.2)


def fake_orders(server: FakeBinanceServer) -> list[dict[str, Any]]:
    return list(server.state.snapshot()["orders"])


def assert_halted(result: TickResult, *words: str) -> None:
    assert result.decision == "halt" and result.order is None, result
    assert result.reason.startswith("halted (reconcile): "), result
    for word in words:
        assert word in result.reason, result


def test_the_adapter_reports_orders_and_holdings_from_the_exchange(
    binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    binance_server.state.inject_order("BTCUSDT", "BUY", "0.5", "wb7-1-buy")
    binance_server.state.inject_order("BTCUSDT", "SELL", "0.2", "wb7-2-sell", status="NEW")
    binance_server.state.inject_order("ETHUSDT", "BUY", "1", "wb7-3-buy")
    got = [
        (o.client_order_id, o.side, o.status, o.filled) for o in binance.fetch_orders("BTC/USDT")
    ]
    assert got == [
        ("wb7-1-buy", "buy", "closed", Decimal("0.5")),
        ("wb7-2-sell", "sell", "open", Decimal(0)),
    ]
    assert binance.fetch_holding("BTC/USDT") == Decimal("1.5")  # 1 BTC to start with
    assert binance.fetch_holding("ETH/USDT") == Decimal(1)
    assert binance.fetch_holding("BTC/USDT:USDT") == 0  # no futures position
    binance_server.state.positions["BTCUSDT"] = Decimal("0.25")
    assert binance.fetch_holding("BTC/USDT:USDT") == Decimal("0.25")
    assert binance.fetch_holding("ETH/USDT:USDT") == 0


# --- explained: recorded and corrected -----------------------------------------------------


def test_a_fill_the_tick_missed_is_recorded_with_an_event(
    engine: Engine, binance_server: FakeBinanceServer
) -> None:
    rising_market(binance_server)
    bot_id = live_bot(engine, "missed")
    exchange = impatient(binance_server)
    binance_server.state.late_seconds = 1.5  # executed after the client gave up
    binance_server.state.fail_next("late", path="/api/v3/order")
    with pytest.raises(OrderUnknownError):
        run_tick(bot_id, engine=engine, exchange=exchange)
    assert trade_ids(engine, bot_id) == []
    wait_until(lambda: orders(binance_server) == 1, "the late order executes")

    result = run_tick(bot_id, engine=engine, exchange=exchange)
    cid = f"wb{bot_id}-{last_closed_day_ms()}-buy"
    assert result.decision == "enter" and result.order is not None
    assert result.order.client_order_id == cid
    assert orders(binance_server) == 1  # found, never sent again
    assert trade_ids(engine, bot_id) == [cid]
    notes = [r for d, r in events(engine, bot_id) if d == "reconcile"]
    assert len(notes) == 1 and notes[0].startswith(f"missed fill: {cid} filled")
    assert state_of(engine, bot_id).halt_reason is None
    assert held_quantity(state_of(engine, bot_id)) > 0


def test_an_order_the_exchange_cancelled_is_recorded_and_sent_again(
    engine: Engine, binance_server: FakeBinanceServer
) -> None:
    rising_market(binance_server)
    bot_id = live_bot(engine, "cancelled")
    exchange = impatient(binance_server)
    binance_server.state.fail_next("timeout", path="/api/v3/order")  # never processed
    with pytest.raises(OrderUnknownError):
        run_tick(bot_id, engine=engine, exchange=exchange)
    cid = f"wb{bot_id}-{last_closed_day_ms()}-buy"
    # The exchange had taken it after all, and cancelled it unfilled.
    binance_server.state.inject_order("BTCUSDT", "BUY", "0.03", cid, status="CANCELED")

    result = run_tick(bot_id, engine=engine, exchange=exchange)
    assert result.decision == "enter" and result.order is not None, result
    assert [(o["clientOrderId"], o["status"]) for o in fake_orders(binance_server)] == [
        (cid, "CANCELED"),
        (cid, "FILLED"),
    ]
    assert trade_ids(engine, bot_id) == [cid]
    notes = [r for d, r in events(engine, bot_id) if d == "reconcile"]
    assert notes == [
        f"{cid} was canceled by the exchange with 0 BTC filled; the tick sends it again or drops it"
    ]
    assert state_of(engine, bot_id).halt_reason is None


# --- unexplained: halt, evidence, alert, resolve ----------------------------------------------


def test_a_larger_position_halts_the_bot_until_close_sells_the_difference(
    engine: Engine, binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    """The database was restored from a backup older than a fill (freqtrade#10436)."""
    binance_server.state.balances["BTC"] = Decimal(0)
    rising_market(binance_server)
    bot_id = live_bot(engine, "larger")
    assert run_tick(bot_id, engine=engine, exchange=binance).decision == "enter"
    held = held_quantity(state_of(engine, bot_id))
    stray = f"{client_prefix(bot_id)}restored-buy"
    binance_server.state.inject_order("BTCUSDT", "BUY", "0.01", stray)

    result = run_tick(bot_id, engine=engine, exchange=binance)
    assert_halted(result, "holds more", stray)
    assert orders(binance_server) == 2  # nothing placed
    state = state_of(engine, bot_id)
    assert state.halt_reason is not None and stray in state.halt_reason
    evidence = state.halt_evidence
    assert evidence is not None
    gap = Decimal(evidence["exchange"]) - Decimal(evidence["ours"])
    assert abs(gap - Decimal("0.01")) < Decimal("1e-12")
    assert [o["client_order_id"] for o in evidence["unknown_fills"]] == [stray]
    assert [d for d, _ in events(engine, bot_id)] == ["enter", "halt"]
    assert halt_alerts(engine) == [f"bot {bot_id} halted: reconcile"]

    asked = sum(binance_server.state.requests.values())
    again = run_tick(bot_id, engine=engine, exchange=binance)
    assert_halted(again, "holds more")
    assert sum(binance_server.state.requests.values()) == asked  # a halted bot asks nothing

    done = resolve(engine=engine, bot_id=bot_id, exchange=binance, mode="close")
    assert done.startswith("resolved (close)") and "sold 0.01 BTC" in done
    sells = [o for o in fake_orders(binance_server) if o["side"] == "SELL"]
    assert len(sells) == 1 and Decimal(sells[0]["executedQty"]) == Decimal("0.01")
    close_id = sells[0]["clientOrderId"]
    assert close_id.startswith(client_prefix(bot_id)) and close_id.endswith("-resolve-sell")
    assert sorted(trade_ids(engine, bot_id)) == sorted(
        [f"wb{bot_id}-{last_closed_day_ms()}-buy", stray, close_id]
    )
    after = state_of(engine, bot_id)
    assert after.halt_reason is None and after.halt_evidence is None
    assert held_quantity(after) == held  # the records were right; the surplus is sold
    assert run_tick(bot_id, engine=engine, exchange=binance).decision == "wait"
    assert [d for d, _ in events(engine, bot_id)] == ["enter", "halt", "resolve"]


def test_a_smaller_position_halts_the_bot_until_adopted(
    engine: Engine, binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    binance_server.state.balances["BTC"] = Decimal(0)
    bot_id = live_bot(engine, "smaller")
    daily(binance_server, "BTCUSDT", [*FLAT, 30_600.0], last_day_ago=2)
    assert run_tick(bot_id, engine=engine, exchange=binance).decision == "enter"
    half = binance_server.state.balances["BTC"] / 2
    binance_server.state.balances["BTC"] = half  # half sold by hand, outside the bot

    assert_halted(run_tick(bot_id, engine=engine, exchange=binance), "holds less")
    with pytest.raises(ConflictError, match="nothing to close; adopt"):
        resolve(engine=engine, bot_id=bot_id, exchange=binance, mode="close")
    assert state_of(engine, bot_id).halt_reason is not None  # a refused resolve changes nothing

    done = resolve(engine=engine, bot_id=bot_id, exchange=binance, mode="adopt")
    assert done.startswith("resolved (adopt): adopted the exchange's")
    assert abs(held_quantity(state_of(engine, bot_id)) - half) < Decimal("1e-12")
    with pytest.raises(ConflictError, match="not halted"):
        resolve(engine=engine, bot_id=bot_id, exchange=binance, mode="adopt")

    daily(binance_server, "BTCUSDT", [*FLAT, 30_600.0, 29_000.0], last_day_ago=1)
    exit_ = run_tick(bot_id, engine=engine, exchange=binance)
    assert exit_.decision == "exit" and exit_.order is not None, exit_
    # What the bot now holds, to the market's step.
    assert exit_.order.filled == half.quantize(Decimal("0.00001"), ROUND_DOWN)


def test_an_open_order_of_ours_we_never_sent_halts_until_close_cancels_it(
    engine: Engine, binance: CcxtExchange, binance_server: FakeBinanceServer
) -> None:
    rising_market(binance_server)
    bot_id = live_bot(engine, "stranger")
    stray = f"{client_prefix(bot_id)}999-buy"
    binance_server.state.inject_order("BTCUSDT", "BUY", "0.01", stray, status="NEW")
    # Another bot's ids share the digits but not the prefix: not this bot's business.
    binance_server.state.inject_order("BTCUSDT", "BUY", "0.01", f"wb{bot_id}1-5-buy", "NEW")

    assert_halted(run_tick(bot_id, engine=engine, exchange=binance), "never sent", stray)
    assert state_of(engine, bot_id).halt_evidence["unknown_open"][0]["client_order_id"] == stray
    with pytest.raises(ConflictError, match="cannot be adopted"):
        resolve(engine=engine, bot_id=bot_id, exchange=binance, mode="adopt")

    done = resolve(engine=engine, bot_id=bot_id, exchange=binance, mode="close")
    assert done == f"resolved (close): cancelled {stray}"
    statuses = {o["clientOrderId"]: o["status"] for o in fake_orders(binance_server)}
    assert statuses == {stray: "CANCELED", f"wb{bot_id}1-5-buy": "NEW"}
    assert run_tick(bot_id, engine=engine, exchange=binance).decision == "enter"


def test_a_pending_entry_the_account_cannot_pay_halts_until_adopt_drops_it(
    engine: Engine, binance_server: FakeBinanceServer
) -> None:
    rising_market(binance_server)
    bot_id = live_bot(engine, "unpaid")
    exchange = impatient(binance_server)
    exchange.order_window_ms = 0  # an order the exchange does not show is proven absent
    binance_server.state.fail_next("timeout", path="/api/v3/order")  # never processed
    with pytest.raises(OrderUnknownError):
        run_tick(bot_id, engine=engine, exchange=exchange)
    binance_server.state.balances["USDT"] = Decimal(5)  # spent elsewhere meanwhile
    cid = f"wb{bot_id}-{last_closed_day_ms()}-buy"

    assert_halted(run_tick(bot_id, engine=engine, exchange=exchange), "5 USDT free", cid)
    assert orders(binance_server) == 0  # not sent again into a certain rejection
    with pytest.raises(ConflictError, match="drop the entry with `--adopt`"):
        resolve(engine=engine, bot_id=bot_id, exchange=exchange, mode="close")
    done = resolve(engine=engine, bot_id=bot_id, exchange=exchange, mode="adopt")
    assert f"dropped the pending entry {cid}" in done
    assert run_tick(bot_id, engine=engine, exchange=exchange).decision == "wait"
    assert orders(binance_server) == 0 and trade_ids(engine, bot_id) == []


def test_a_futures_position_the_records_lack_halts_the_live_bot_until_adopted(
    engine: Engine,
    binance: CcxtExchange,
    binance_server: FakeBinanceServer,
    make_bot: MakeBot,
) -> None:
    bot_id = make_bot(
        name="futures-live",
        exchange="binance",
        symbol="BTC/USDT:USDT",
        timeframe="1d",
        strategy="ema_cross",
        ema_fast=3,
        ema_slow=8,
        position_type="futures",
        leverage=3,
        initial_capital="1000",
        dry_run=False,
    ).id
    binance_server.state.positions["BTCUSDT"] = Decimal("0.25")  # opened by hand

    assert_halted(run_tick(bot_id, engine=engine, exchange=binance), "holds more", "0.25 BTC")
    assert orders(binance_server) == 0
    resolve(engine=engine, bot_id=bot_id, exchange=binance, mode="adopt")
    state = state_of(engine, bot_id)
    assert state.halt_reason is None and held_quantity(state) == Decimal("0.25")
    engine_state = state.state_data["engine"]
    assert engine_state["entry_price"] == 30_000.0  # valued at the market price
    assert engine_state["margin"] == pytest.approx(0.25 * 30_000 / 3)
    assert 0 < engine_state["liq_price"] < 30_000.0


# --- the paper exchange: the truth of a dry-run bot --------------------------------------------


def tick_until(setup: Setup, decision: str, after: int = 0) -> int:
    for i in range(after + 1, len(setup.times)):
        setup.prices.advance_to(setup.times[i])
        result = run_tick(setup.bot_id, engine=setup.engine, exchange=setup.paper, history=None)
        assert not result.reason.startswith("halted"), result
        if result.decision == decision:
            return i
    raise AssertionError(f"the replay never decided {decision}")


def next_tick(setup: Setup, i: int) -> TickResult:
    setup.prices.advance_to(setup.times[i + 1])
    return run_tick(setup.bot_id, engine=setup.engine, exchange=setup.paper, history=None)


def test_a_paper_bot_halts_on_a_fill_it_never_sent_and_adopts_it(setup: Setup) -> None:
    result = next_tick(setup, 0)
    assert result.decision == "hold" and held_quantity(state_of(setup.engine, setup.bot_id)) == 0
    stray = f"{client_prefix(setup.bot_id)}by-hand-buy"
    setup.paper.create_order("ETH/BTC", "buy", "market", Decimal("0.5"), client_order_id=stray)

    assert_halted(next_tick(setup, 1), "holds more", stray)
    assert len(halt_alerts(setup.engine)) == 1
    done = resolve(engine=setup.engine, bot_id=setup.bot_id, exchange=setup.paper, mode="adopt")
    assert f"recorded {stray} as the bot's trades" in done
    assert held_quantity(state_of(setup.engine, setup.bot_id)) == Decimal("0.5")
    assert stray in trade_ids(setup.engine, setup.bot_id)
    exit_bar = tick_until(setup, "exit", after=2)  # the adopted position is the bot's now
    sold = setup.paper.fetch_orders("ETH/BTC")[-1]
    assert exit_bar > 2 and sold.side == "sell" and sold.filled == Decimal("0.5")


def test_a_paper_bot_halts_when_its_account_holds_less(setup: Setup) -> None:
    i = tick_until(setup, "enter")
    held = held_quantity(state_of(setup.engine, setup.bot_id))
    setup.paper.create_order("ETH/BTC", "sell", "market", held / 4, client_order_id="by-hand-1")

    assert_halted(next_tick(setup, i), "holds less")
    evidence = state_of(setup.engine, setup.bot_id).halt_evidence
    assert evidence is not None and Decimal(evidence["ours"]) == held
    resolve(engine=setup.engine, bot_id=setup.bot_id, exchange=setup.paper, mode="adopt")
    assert held_quantity(state_of(setup.engine, setup.bot_id)) == setup.paper.fetch_holding(
        "ETH/BTC"
    )
    assert tick_until(setup, "exit", after=i) > i  # trades on with what it holds now


def futures_setup(engine: Engine, shared_data: Path) -> Setup:
    frame = read_file(shared_data / "XRP_USDT-USDT-5m-futures.csv").iloc[:600]
    symbol = "XRP/USDT:USDT"
    upsert_candles(engine=engine, exchange="binance", symbol=symbol, timeframe="5m", frame=frame)
    with session_scope(engine) as session:
        bot_id = create_bot(
            session=session,
            user_id=local_user(session=session).id,
            name="futures",
            exchange="binance",
            symbol=symbol,
            timeframe="5m",
            strategy="ema_cross",
            ema_fast=5,
            ema_slow=13,
            position_type="futures",
            leverage=5,
            position_size_perc="50",
            initial_capital="1000",
        ).id
    prices = ReplayPrices(
        engine=engine,
        exchange="binance",
        timeframe="5m",
        symbols=[symbol],
        start=frame.index[0].to_pydatetime(),
    )
    paper = PaperExchange(
        engine=engine, prices=prices, account="futures", initial_balances={"USDT": Decimal(1000)}
    )
    paper.set_leverage(symbol, 5)
    return Setup(engine, bot_id, prices, paper, [t.to_pydatetime() for t in frame.index])


def test_a_futures_position_reduced_by_hand_halts_the_paper_bot(
    engine: Engine, shared_data: Path
) -> None:
    setup = futures_setup(engine, shared_data)
    i = tick_until(setup, "enter")
    held = held_quantity(state_of(engine, setup.bot_id))
    assert setup.paper.fetch_holding("XRP/USDT:USDT") == held
    setup.paper.create_order(
        "XRP/USDT:USDT", "sell", "market", held / 2, client_order_id="by-hand-1"
    )

    assert_halted(next_tick(setup, i), "holds less")
    with pytest.raises(ConflictError, match="nothing to close"):
        resolve(engine=engine, bot_id=setup.bot_id, exchange=setup.paper, mode="close")
    resolve(engine=engine, bot_id=setup.bot_id, exchange=setup.paper, mode="adopt")
    remaining = setup.paper.fetch_holding("XRP/USDT:USDT")
    assert abs(held_quantity(state_of(engine, setup.bot_id)) - remaining) < Decimal("1e-9")
    exit_bar = tick_until(setup, "exit", after=i + 1)
    sold = setup.paper.fetch_orders("XRP/USDT:USDT")[-1]
    assert exit_bar > i and sold.side == "sell" and sold.filled == remaining
    assert setup.paper.fetch_holding("XRP/USDT:USDT") == 0
