"""Missed ticks: the next tick runs the engine over every closed bar it missed (stops,
liquidation, signals), acts once, and says so; a gap beyond the limit halts the bot."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Engine

from tests.bots.conftest import Setup, make_setup
from workbench.backtest import backtest_config
from workbench.bots.reconcile import resolve
from workbench.bots.runner import TickResult, run_tick
from workbench.db import session_scope
from workbench.db.models import Alert, BotConfig, BotEvent, Trade
from workbench.market.candles import read_candles
from workbench.types import Decision

BAR = timedelta(minutes=5)


def backtest_trades(setup: Setup) -> pd.DataFrame:
    candles = read_candles(
        engine=setup.engine, exchange="binance", symbol="ETH/BTC", timeframe="5m"
    )
    candles = candles.iloc[: len(setup.times)]
    with session_scope(setup.engine) as session:
        bot = session.get(BotConfig, setup.bot_id)
        return backtest_config(candles, bot, fee=0.001).trades


def tick_at(setup: Setup, moment: datetime, **kwargs: Any) -> TickResult:
    setup.prices.advance_to(moment)
    return run_tick(setup.bot_id, engine=setup.engine, exchange=setup.paper, history=None, **kwargs)


def events(setup: Setup) -> list[tuple[str, str, str | None]]:
    with setup.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(BotEvent.decision, BotEvent.reason, BotEvent.risk_rule)
                .where(BotEvent.bot_id == setup.bot_id)
                .order_by(BotEvent.id)
            )
        ]


def test_a_stop_hit_while_no_tick_ran_is_taken_by_the_next_tick(
    engine: Engine, shared_data: Path
) -> None:
    setup = make_setup(engine, shared_data)
    stops = backtest_trades(setup)
    stops = stops[stops["exit_reason"] == "stop_loss"]
    # A stop at least 4 bars after its entry: the bars between are the ones missed.
    trade = next(t for _, t in stops.iterrows() if t["exit_time"] - t["entry_time"] >= 4 * BAR)
    entry_time, stop_bar = trade["entry_time"].to_pydatetime(), trade["exit_time"] - BAR
    for moment in setup.times[1:]:
        result = tick_at(setup, moment)
        if moment == entry_time:
            break
    assert result.decision == Decision.ENTER and result.order is not None

    # No tick until three bars after the stop bar closed: bars entry .. stop + 2 are missed.
    late = stop_bar.to_pydatetime() + 4 * BAR
    result = tick_at(setup, late)
    missed = (late - entry_time) // BAR - 1
    assert result.decision == Decision.EXIT and result.reason == "stop_loss", result
    assert result.bar_time == late - BAR
    assert result.caught_up is not None and result.caught_up.bars == missed
    assert result.caught_up.first == entry_time
    assert result.caught_up.last == late - 2 * BAR
    assert f"stop_loss at {stop_bar.isoformat()}: exit due" in result.caught_up.seen
    assert result.order is not None and result.order.client_order_id.endswith(
        f"-{int((late - BAR).timestamp() * 1000)}-sell"
    )
    logged = events(setup)
    assert ("catch_up", result.caught_up.summary()[:200], None) in logged
    assert logged[-1][0] == "exit" and logged[-1][2] == "stop_loss"
    with engine.connect() as conn:
        sides = conn.execute(
            sa.select(Trade.side).where(Trade.bot_config_id == setup.bot_id).order_by(Trade.id)
        ).scalars()
        assert [str(s) for s in sides][-2:] == ["buy", "sell"]
    assert setup.paper.fetch_balance()["ETH"].total == 0


def test_an_entry_signal_on_a_missed_bar_is_not_taken_late(
    engine: Engine, shared_data: Path
) -> None:
    setup = make_setup(engine, shared_data)
    trades = backtest_trades(setup)
    k = next(
        k
        for k in range(1, len(trades))
        if trades["entry_time"].iloc[k] - trades["exit_time"].iloc[k - 1] >= 5 * BAR
    )
    entry_time = trades["entry_time"].iloc[k].to_pydatetime()
    signal_bar = entry_time - BAR
    result = None
    for moment in setup.times[1:]:
        if moment >= signal_bar:  # the last tick decides the bar two before the signal's
            break
        result = tick_at(setup, moment)
    assert result is not None and result.decision == Decision.HOLD
    late = entry_time + 2 * BAR
    result = tick_at(setup, late)
    assert result.caught_up is not None and result.caught_up.bars == 3
    assert result.caught_up.seen == (f"entry signal at {signal_bar.isoformat()} not taken late",)
    assert result.decision == Decision.HOLD and result.order is None
    assert result.reason == "no entry signal"


def test_a_gap_longer_than_the_limit_halts_the_bot_until_resumed(
    engine: Engine, shared_data: Path
) -> None:
    setup = make_setup(engine, shared_data)
    tick_at(setup, setup.times[30])
    far = setup.times[30 + 12]
    halted = tick_at(setup, far, catch_up_bars=10)  # 11 bars missed
    assert halted.decision == Decision.HALT and halted.order is None
    assert "11 5m bars closed since the last tick's bar" in halted.reason
    assert "more than the 10 a tick catches up on" in halted.reason
    assert events(setup)[-1][0] == "halt" and events(setup)[-1][2] == "tick_gap"
    with engine.connect() as conn:
        alerts = conn.execute(sa.select(Alert.kind, Alert.title)).all()
    assert [tuple(a) for a in alerts] == [("halt", f"bot {setup.bot_id} halted: tick_gap")]
    again = tick_at(setup, setup.times[44])
    assert again.decision == Decision.HALT and again.reason.startswith("halted (tick_gap): ")
    assert setup.paper.fetch_orders() == []
    done = resolve(engine=engine, bot_id=setup.bot_id, exchange=setup.paper, mode="adopt")
    assert done.startswith("resolved (adopt)")
    assert events(setup)[-1][0] == "resolve"
    resumed = tick_at(setup, setup.times[45])
    assert resumed.decision in (Decision.HOLD, Decision.ENTER) and resumed.caught_up is None
    assert resumed.bar_time == setup.times[44]
