"""The bot form's kill switch: "Stop bot" asks to confirm, then deactivates the bot and,
with "close position" ticked, sells its position at market on its paper account."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from tests.bots.test_stop import events, held, is_active, synthetic_bots, trades
from workbench.settings import Settings
from workbench.widgets.bots import BotForm


def offline(_exchange: str, _kind: str) -> list[str]:
    return []


def test_stop_button_confirms_then_stops_and_closes(
    settings: Settings, engine: Engine, shared_data: Path
) -> None:
    holder, flat = synthetic_bots(engine, shared_data)
    form = BotForm(engine, symbols=offline)
    form.picker.value = holder
    form.close_position.value = True
    form.stop.click()  # asks first: nothing happens yet
    assert form.stop.description == "Confirm stop"
    assert "sell its position" in form.message.value
    assert is_active(engine, holder) and held(engine, holder) > 0

    form.stop.click()
    assert not is_active(engine, holder) and held(engine, holder) == 0.0
    assert trades(engine, holder)[-1][0].endswith("-stop")
    assert events(engine, holder)[-2:] == [("stop", None), ("close", "kill_switch")]
    assert form.message.kind == "ok" and "closed" in form.message.value
    assert form.stop.description == "Stop bot" and form.activate.description == "Activate"

    # Another bot, without closing: deactivated only.
    form.picker.value = flat
    form.close_position.value = False
    form.stop.click()
    form.stop.click()
    assert not is_active(engine, flat) and events(engine, flat)[-1] == ("stop", None)
