"""Which exchange a tick runs on: the CLI's message for a live bot without a key, and
``as_of`` (a past moment of any stored market, never before the bot's last tick)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.bots.conftest import make_setup
from tests.conftest import MakeBot
from workbench.bots.exchanges import tick_bot
from workbench.cli import app
from workbench.db.models import BotState, PaperOrder
from workbench.errors import ValidationError
from workbench.settings import Settings


def test_a_live_bot_without_a_key_is_told_the_command_with_its_id(
    settings: Settings, make_bot: MakeBot
) -> None:
    bot_id = make_bot(name="keyless", timeframe="1h", dry_run=False).id
    result = CliRunner().invoke(app, ["bot", "tick", str(bot_id), "--inactive"])
    assert result.exit_code == 1
    assert f"`workbench bot set {bot_id} api_key_id=ID`" in result.stderr
    assert "{" not in result.stderr


def _state(engine: Engine, bot_id: int) -> object:
    with engine.connect() as conn:
        return conn.scalar(sa.select(BotState.state_data).where(BotState.bot_config_id == bot_id))


def test_as_of_ticks_any_stored_market_and_never_goes_back(
    engine: Engine, shared_data: Path
) -> None:
    setup = make_setup(engine, shared_data, bars=300)  # binance ETH/BTC 5m, stored
    moments: list[datetime] = setup.times
    results = [
        tick_bot(setup.bot_id, engine=engine, as_of=m, inactive=True) for m in moments[20:200]
    ]
    assert results[0].bar_time == moments[19]
    assert {r.decision for r in results} >= {"enter", "exit"}
    with engine.connect() as conn:
        orders = conn.scalar(sa.select(sa.func.count()).select_from(PaperOrder))
    before = _state(engine, setup.bot_id)
    with pytest.raises(ValidationError, match=r"as_of: .* is before bot .*'s last tick"):
        tick_bot(setup.bot_id, engine=engine, as_of=moments[100], inactive=True)
    assert _state(engine, setup.bot_id) == before
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(PaperOrder)) == orders
    assert (
        tick_bot(setup.bot_id, engine=engine, as_of=moments[199], inactive=True).decision == "wait"
    )
