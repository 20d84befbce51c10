"""``workbench bot resolve``: a dry-run bot halted by its paper account's truth, resolved."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.conftest import MakeBot
from workbench.bots.exchanges import exchange_for_bot
from workbench.bots.reconcile import held_quantity
from workbench.cli import app
from workbench.db import session_scope
from workbench.db.models import BotConfig, BotEvent, BotState
from workbench.market.candles import read_file, upsert_candles
from workbench.settings import Settings


def test_resolve_asks_then_adopts_and_the_bot_ticks_again(
    settings: Settings, engine: Engine, shared_data: Path, make_bot: MakeBot
) -> None:
    frame = read_file(shared_data / "ETH_BTC-5m.csv").iloc[:300]
    upsert_candles(
        engine=engine, exchange="synthetic", symbol="ETH/BTC", timeframe="5m", frame=frame
    )
    bot_id = make_bot(
        name="resolve-me",
        exchange="synthetic",
        symbol="ETH/BTC",
        timeframe="5m",
        strategy="ema_cross",
        ema_fast=5,
        ema_slow=13,
        initial_capital="10",
    ).id
    runner = CliRunner()
    first = runner.invoke(app, ["bot", "tick", str(bot_id), "--inactive"])
    assert first.exit_code == 0 and "halted" not in first.output, first.output
    not_yet = runner.invoke(app, ["bot", "resolve", str(bot_id), "--adopt", "--yes"])
    assert not_yet.exit_code != 0 and f"bot {bot_id} is not halted" in not_yet.output

    with session_scope(engine) as session:  # someone buys on the bot's paper account
        paper = exchange_for_bot(
            session=session, engine=engine, bot=session.get_one(BotConfig, bot_id)
        )
    paper.create_order(
        "ETH/BTC", "buy", "market", Decimal("2"), client_order_id=f"wb{bot_id}-by-hand-buy"
    )
    halted = runner.invoke(app, ["bot", "tick", str(bot_id), "--inactive"])
    assert halted.exit_code == 0, halted.output
    assert "halted (reconcile): the exchange holds more" in halted.output
    assert f"`workbench bot resolve {bot_id}` shows the evidence" in halted.output
    shown = runner.invoke(app, ["bot", "resolve", str(bot_id), "--json"])
    assert shown.exit_code == 0, shown.output
    evidence = json.loads(shown.stdout)["evidence"]
    assert Decimal(evidence["exchange"]) - Decimal(evidence["ours"]) == Decimal("2")
    assert [o["client_order_id"] for o in evidence["unknown_fills"]] == [f"wb{bot_id}-by-hand-buy"]

    both = runner.invoke(app, ["bot", "resolve", str(bot_id), "--adopt", "--close", "--yes"])
    assert both.exit_code != 0 and "choose one" in both.output
    unasked = runner.invoke(app, ["bot", "resolve", str(bot_id), "--adopt"])
    assert unasked.exit_code != 0 and "needs --yes" in unasked.output
    with engine.connect() as conn:
        still = conn.execute(
            sa.select(BotState.halt_reason).where(BotState.bot_config_id == bot_id)
        ).scalar_one()
    assert still is not None  # a refused resolve changes nothing

    done = runner.invoke(app, ["bot", "resolve", str(bot_id), "--adopt", "--yes"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("resolved (adopt): recorded wb")
    with sa.orm.Session(engine) as session:
        state = session.scalar(sa.select(BotState).where(BotState.bot_config_id == bot_id))
        assert state is not None and state.halt_reason is None
        assert held_quantity(state) == Decimal("2")
        decisions = session.scalars(
            sa.select(BotEvent.decision).where(BotEvent.bot_id == bot_id).order_by(BotEvent.id)
        ).all()
    assert decisions[-2:] == ["halt", "resolve"]
    again = runner.invoke(app, ["bot", "tick", str(bot_id), "--inactive"])
    assert again.exit_code == 0 and "halted" not in again.output, again.output
