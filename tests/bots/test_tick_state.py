"""The tick's stored state: typed, versioned, engine slots by name; version 0 still loads."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from tests.bots.conftest import make_setup
from workbench.bots.runner import run_tick
from workbench.bots.state import V0_ENGINE_SLOTS, TickState, engine_slots, held_quantity
from workbench.db.models import BotState, Trade
from workbench.errors import OperationalError
from workbench.rules import RuleParams
from workbench.rules import engine as e

# As the tick before the typed state wrote it: a positional engine list, an intent dict.
V0 = {
    "engine": [
        9.5,
        0.25,
        0.0661,
        1.66,
        0.0672,
        0.0,
        20000.0,
        10.0,
        1.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0017,
    ],
    "last_bar": 1_728_000_000_000,
    "last_risk": "daily_target",
    "intent": {
        "client_order_id": "wb3-1728000000000-sell",
        "side": "sell",
        "bar": 1_728_000_000_000,
        "reason": "stop_loss",
        "amount": "0.25",
        "written_ms": 1_728_000_300_500,
        "fate": "unknown",
    },
}


def test_a_version_0_state_loads_with_named_engine_slots() -> None:
    state = TickState.load(V0, bot_id=3)
    assert state.version == 1 and state.last_bar == V0["last_bar"]
    assert state.engine["qty"] == 0.25 and state.engine["entry_fee"] == 0.0017
    assert state.engine["day_start_equity"] == 10.0
    assert state.intent is not None and state.intent.fate == "unknown"
    assert str(state.intent.amount) == "0.25" and state.intent.written_ms == 1_728_000_300_500
    assert state.last_risk == "daily_target"
    params = RuleParams(initial_capital=10.0).to_array()
    book = state.engine_array(params)
    assert [book[engine_slots()[n]] for n in V0_ENGINE_SLOTS] == V0["engine"]
    dumped = state.with_engine(book).dump()
    assert dumped["version"] == 1 and dumped["engine"]["qty"] == 0.25
    assert dumped["intent"]["fate"] == "unknown" and dumped["last_bar"] == V0["last_bar"]
    assert TickState.load(dumped) == state.with_engine(book)
    assert held_quantity(V0) == 0.25 and held_quantity(dumped) == 0.25 and held_quantity({}) == 0


def test_a_slot_the_stored_state_lacks_takes_the_engines_fresh_value() -> None:
    """What adding an engine slot does to a stored bot: the others keep their values."""
    params = RuleParams(initial_capital=10.0).to_array()
    stored = TickState.load(V0).dump()
    del stored["engine"]["day"], stored["engine"]["cash"]
    stored["engine"]["a_slot_since_removed"] = 5.0
    book = TickState.load(stored).engine_array(params)
    fresh = e.new_state(params)
    assert book[e.S_DAY] == fresh[e.S_DAY] == -1.0 and book[e.S_CASH] == 10.0
    assert book[e.S_QTY] == 0.25 and len(book) == e.N_STATE


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"version": 7}, "has version 7; this workbench reads versions 0 to 1"),
        ({"version": 1, "engine": {"qty": "lots"}}, "is not a valid version 1 state"),
        ({"engine": [0.0] * 15}, "is not a valid version 0 state"),
    ],
)
def test_a_state_it_cannot_read_is_refused_naming_the_column(data: dict, says: str) -> None:
    with pytest.raises(
        OperationalError, match=re.escape("bot 4's stored state (bot_states.state_data)")
    ) as err:
        TickState.load(data, bot_id=4)
    assert says in str(err.value)


def test_a_bot_stored_in_version_0_trades_on_as_if_never_converted(
    engine: Engine, shared_data: Path
) -> None:
    clean = make_setup(engine, shared_data, bars=160, account="clean")
    old = make_setup(engine, shared_data, bars=160, account="old")
    for moment in clean.times[1:]:
        for setup in (clean, old):
            setup.prices.advance_to(moment)
            run_tick(setup.bot_id, engine=engine, exchange=setup.paper, history=None)
        with engine.begin() as conn:  # rewrite the old bot's state as the v0 code wrote it
            data = conn.scalar(
                sa.select(BotState.state_data).where(BotState.bot_config_id == old.bot_id)
            )
            assert data["version"] == 1
            v0 = {k: v for k, v in data.items() if k != "version"}
            v0["engine"] = [data["engine"][name] for name in V0_ENGINE_SLOTS]
            conn.execute(
                sa.update(BotState)
                .where(BotState.bot_config_id == old.bot_id)
                .values(state_data=v0)
            )
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Trade.bot_config_id, Trade.client_order_id, Trade.quantity_filled)
        ).all()
    mine = {
        bot: [(c.split("-", 1)[1], q) for b, c, q in rows if b == bot]
        for bot in (clean.bot_id, old.bot_id)
    }
    assert len(mine[clean.bot_id]) >= 4
    assert mine[old.bot_id] == mine[clean.bot_id]
    assert np.isclose(
        float(old.paper.fetch_balance()["BTC"].total),
        float(clean.paper.fetch_balance()["BTC"].total),
    )
