"""The kill switch: `bot stop` deactivates at once (no more scheduled ticks), and with
--close sells the position at market on the bot's own venue, recorded as a trade and as
events, the bot left flat. Paper exchange, the fake Binance server with the real ccxt
client, the real scheduler and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.bots.conftest import Setup
from tests.bots.test_live_faults import live_bot, rising_market
from tests.bots.test_runner import Crash, CrashingExchange
from tests.fakes.binance import FakeBinanceServer
from tests.jobs.conftest import RecordingExecutor
from workbench.accounts import local_user
from workbench.bots import create_bot
from workbench.bots.activation import bot_schedules
from workbench.bots.configs import activate_bot, held_quantity
from workbench.bots.exchanges import tick_bot
from workbench.bots.runner import run_tick
from workbench.bots.stop import stop_bot
from workbench.bots.tick_lock import tick_lock
from workbench.cache import LockBusyError
from workbench.cli import app
from workbench.db import session_scope
from workbench.db.models import BotConfig, BotEvent, BotState, Trade
from workbench.errors import ConflictError
from workbench.jobs import tick as scheduler_tick
from workbench.market.candles import read_file, upsert_candles
from workbench.market.ccxt_adapter import CcxtExchange
from workbench.market.sample import SYNTHETIC_EXCHANGE
from workbench.settings import Settings


def held(engine: Engine, bot_id: int) -> float:
    with session_scope(engine) as session:
        return held_quantity(session=session, bot_id=bot_id)


def events(engine: Engine, bot_id: int) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(BotEvent.decision, BotEvent.risk_rule)
            .where(BotEvent.bot_id == bot_id)
            .order_by(BotEvent.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def trades(engine: Engine, bot_id: int) -> list[tuple[str, str, Decimal | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Trade.client_order_id, Trade.side, Trade.pnl)
            .where(Trade.bot_config_id == bot_id)
            .order_by(Trade.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def is_active(engine: Engine, bot_id: int) -> bool:
    with session_scope(engine) as session:
        return session.get_one(BotConfig, bot_id).is_active


def tick_until_held(setup: Setup) -> int:
    """Tick the paper bot bar by bar until it holds a position; returns the bars ticked."""
    for i, moment in enumerate(setup.times[1:]):
        setup.prices.advance_to(moment)
        run_tick(setup.bot_id, engine=setup.engine, exchange=setup.paper, history=None)
        if held(setup.engine, setup.bot_id) > 0:
            return i
    raise AssertionError("the bot never entered")


def test_stop_close_on_paper_leaves_the_bot_flat_and_unscheduled(
    settings: Settings, setup: Setup
) -> None:
    engine, bot_id = setup.engine, setup.bot_id
    tick_until_held(setup)
    with session_scope(engine) as session:
        activate_bot(session=session, bot_id=bot_id)
        [schedule] = bot_schedules(session=session, bot_id=bot_id)
    quantity = held(engine, bot_id)
    eth_before = setup.paper.fetch_balance()["ETH"].free
    assert eth_before >= Decimal(repr(quantity)) > 0
    with engine.connect() as conn:
        last_bar = conn.execute(
            sa.select(BotState.state_data).where(BotState.bot_config_id == bot_id)
        ).scalar_one()["last_bar"]

    result = stop_bot(bot_id, engine=engine, close=True, exchange=setup.paper)

    assert result.was_active and result.schedules == [schedule.id]
    assert result.order is not None and result.order.status == "closed"
    assert result.order.filled == Decimal(repr(quantity))
    assert held(engine, bot_id) == 0.0
    assert setup.paper.fetch_balance()["ETH"].free == eth_before - result.order.filled
    *_, (client_id, side, pnl) = trades(engine, bot_id)
    assert (client_id, side) == (f"wb{bot_id}-{last_bar}-stop", "sell")
    assert pnl == result.pnl and pnl is not None
    assert events(engine, bot_id)[-2:] == [("stop", None), ("close", "kill_switch")]
    with engine.connect() as conn:
        state = conn.execute(
            sa.select(BotState.state_data).where(BotState.bot_config_id == bot_id)
        ).scalar_one()
    assert "intent" not in state and state["engine"]["qty"] == 0.0

    # Inactive, its schedule disabled: the scheduler starts nothing, a tick is refused.
    assert not is_active(engine, bot_id)
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert scheduler_tick(later, engine=engine, executor=RecordingExecutor(engine)).claimed == []
    with pytest.raises(ConflictError, match="not active"):
        tick_bot(bot_id, engine=engine)

    # Stopping again sends nothing: the bot is flat.
    orders = len(setup.paper.fetch_orders())
    again = stop_bot(bot_id, engine=engine, close=True, exchange=setup.paper)
    assert again.order is None and not again.was_active and again.schedules == []
    assert len(setup.paper.fetch_orders()) == orders
    assert events(engine, bot_id)[-1] == ("stop", None)
    assert "was already stopped" in again.summary()


def test_stop_waits_for_the_tick_lock_and_deactivates_first(
    settings: Settings, setup: Setup
) -> None:
    engine, bot_id = setup.engine, setup.bot_id
    tick_until_held(setup)
    orders = len(setup.paper.fetch_orders())
    busy = "is stopped, but a tick still holds its lock"
    with tick_lock(engine, bot_id), pytest.raises(LockBusyError, match=busy):  # a tick runs
        stop_bot(bot_id, engine=engine, close=True, exchange=setup.paper, lock_wait_seconds=0.3)
    assert not is_active(engine, bot_id)
    assert len(setup.paper.fetch_orders()) == orders and held(engine, bot_id) > 0
    # Once the tick is done, the close goes through.
    assert stop_bot(bot_id, engine=engine, close=True, exchange=setup.paper).order is not None
    assert held(engine, bot_id) == 0.0


def test_stop_close_live_sells_on_the_exchange(
    settings: Settings,
    engine: Engine,
    binance: CcxtExchange,
    binance_server: FakeBinanceServer,
) -> None:
    rising_market(binance_server)
    bot_id = live_bot(engine, "live-stop")
    entry = run_tick(bot_id, engine=engine, exchange=binance)
    assert entry.decision == "enter" and entry.order is not None
    quantity = held(engine, bot_id)
    btc_before = binance_server.state.balances["BTC"]

    result = stop_bot(bot_id, engine=engine, close=True, exchange=binance)

    orders = binance_server.state.snapshot()["orders"]
    assert len(orders) == 2
    sell = orders[-1]
    assert (sell["side"], sell["clientOrderId"]) == ("SELL", result.order.client_order_id)
    assert sell["clientOrderId"].endswith("-stop")
    sold = Decimal(sell["executedQty"])  # the position, rounded down to the market's step
    assert Decimal(0) <= Decimal(repr(quantity)) - sold < Decimal("0.00001")
    assert result.order.filled == sold
    assert binance_server.state.balances["BTC"] == btc_before - sold
    assert held(engine, bot_id) == 0.0
    assert [t[1] for t in trades(engine, bot_id)] == ["buy", "sell"]
    assert events(engine, bot_id)[-1] == ("close", "kill_switch")
    # A second stop sends nothing to the exchange.
    stop_bot(bot_id, engine=engine, close=True, exchange=binance)
    assert len(binance_server.state.snapshot()["orders"]) == 2


def synthetic_bots(engine: Engine, shared_data: Path) -> tuple[int, int]:
    """Two active dry-run bots on stored candles: the first ticked until it holds."""
    frame = read_file(shared_data / "ETH_BTC-5m.csv").iloc[:400]
    upsert_candles(
        engine=engine, exchange=SYNTHETIC_EXCHANGE, symbol="ETH/BTC", timeframe="5m", frame=frame
    )
    ids = []
    with session_scope(engine) as session:
        owner = local_user(session=session)
        for name in ("holder", "flat"):
            ids.append(
                create_bot(
                    session=session,
                    user_id=owner.id,
                    name=name,
                    exchange=SYNTHETIC_EXCHANGE,
                    symbol="ETH/BTC",
                    timeframe="5m",
                    strategy="ema_cross",
                    ema_fast=5,
                    ema_slow=13,
                    initial_capital="10",
                    is_active=True,
                ).id
            )
    for moment in frame.index[20:-1]:
        tick_bot(ids[0], engine=engine, as_of=moment.to_pydatetime())
        if held(engine, ids[0]) > 0:
            return ids[0], ids[1]
    raise AssertionError("the bot never entered")


def test_cli_stop_all_close_asks_then_stops_every_bot(
    settings: Settings, engine: Engine, shared_data: Path
) -> None:
    holder, flat = synthetic_bots(engine, shared_data)
    runner = CliRunner()
    declined = runner.invoke(app, ["bot", "stop", "--all", "--close"], input="n\n")
    assert declined.exit_code == 1 and "Stop EVERY bot and SELL" in declined.output
    assert is_active(engine, holder) and is_active(engine, flat) and held(engine, holder) > 0

    both = runner.invoke(app, ["bot", "stop", "5", "--all"])
    assert both.exit_code == 2 and "not both" in both.stderr

    stopped = runner.invoke(app, ["bot", "stop", "--all", "--close", "--yes", "--json"])
    assert stopped.exit_code == 0, stopped.output
    rows = {r["bot_id"]: r for r in json.loads(stopped.stdout)}
    assert rows[holder]["closed"]["side"] == "sell" and rows[flat]["closed"] is None
    assert not is_active(engine, holder) and not is_active(engine, flat)
    assert held(engine, holder) == 0.0
    assert trades(engine, holder)[-1][:2] == (rows[holder]["closed"]["client_order_id"], "sell")
    with session_scope(engine) as session:
        for bot_id in (holder, flat):
            assert [s.enabled for s in bot_schedules(session=session, bot_id=bot_id)] == [False]
    assert events(engine, holder)[-2:] == [("stop", None), ("close", "kill_switch")]
    assert events(engine, flat)[-1] == ("stop", None)


def test_cli_stop_one_without_close_keeps_the_position(
    settings: Settings, engine: Engine, shared_data: Path
) -> None:
    holder, flat = synthetic_bots(engine, shared_data)
    result = CliRunner().invoke(app, ["bot", "stop", str(holder)], input="y\n")
    assert result.exit_code == 0, result.output
    assert "still holds" in result.stdout
    assert not is_active(engine, holder) and is_active(engine, flat)
    assert held(engine, holder) > 0


def test_a_close_interrupted_after_the_send_is_never_sent_twice(
    settings: Settings, setup: Setup
) -> None:
    engine, bot_id = setup.engine, setup.bot_id
    tick_until_held(setup)
    orders = len(setup.paper.fetch_orders())
    with pytest.raises(Crash):  # the process dies once the exchange has the order
        crashing = CrashingExchange(setup.paper, "after_accept")
        stop_bot(bot_id, engine=engine, close=True, exchange=crashing)
    assert len(setup.paper.fetch_orders()) == orders + 1
    assert held(engine, bot_id) > 0  # not recorded yet: the written-ahead intent says why
    result = stop_bot(bot_id, engine=engine, close=True, exchange=setup.paper)
    assert result.order is not None and result.order.client_order_id.endswith("-stop")
    assert len(setup.paper.fetch_orders()) == orders + 1  # found, not sent again
    assert held(engine, bot_id) == 0.0
    assert [t[1] for t in trades(engine, bot_id)].count("sell") == 1
