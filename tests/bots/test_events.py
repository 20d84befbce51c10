"""Bot events: every order and each risk rule that changed course, logged by the tick."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine

from tests.bots.conftest import make_setup
from workbench.bots import update_bot
from workbench.bots.runner import run_tick
from workbench.db import session_scope
from workbench.db.models import BotEvent, Trade


def test_orders_and_risk_rules_are_logged_once(engine: Engine, shared_data: Path) -> None:
    setup = make_setup(engine, shared_data, bars=600)
    with session_scope(engine) as session:  # tight stop and a one-trade day
        update_bot(session=session, bot_id=setup.bot_id, stop_loss_perc="0.2", max_daily_trades=1)
    results = []
    for moment in setup.times[1:]:
        setup.prices.advance_to(moment)
        results.append(run_tick(setup.bot_id, engine=engine, exchange=setup.paper, history=None))
    with session_scope(engine) as session:
        events = list(session.scalars(sa.select(BotEvent).order_by(BotEvent.id)))
        trades = session.scalar(sa.select(sa.func.count()).select_from(Trade))
    orders = [ev for ev in events if ev.decision in ("enter", "exit")]
    assert len(orders) == trades > 0
    assert [ev.bar_time for ev in orders] == [
        r.bar_time for r in results if r.decision in ("enter", "exit")
    ]
    assert any(ev.risk_rule == "stop_loss" for ev in orders)
    limits = [ev for ev in events if ev.risk_rule == "max_daily_trades"]
    held = [r for r in results if r.reason == "max trades per day reached"]
    assert limits and len(limits) < len(held)  # logged when it starts holding, not every tick
    assert all(ev.decision == "hold" for ev in limits)
    # Each decided tick says what the strategy said on its bar, and its events carry it.
    decided = [r for r in results if r.decision != "wait"]
    assert decided and all("strategy says " in r.note for r in decided)
    assert all(r.risk_rule == "max_daily_trades" for r in held)
    entries = [ev for ev in orders if ev.decision == "enter"]
    assert entries and all("strategy says enter: EMA(" in ev.reason for ev in entries)
