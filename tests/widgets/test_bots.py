"""The bot config form, driven as a person would: set values, click, read what it shows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import ipywidgets as w
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from traitlets import TraitError

from tests.fakes.binance import FakeBinanceServer
from workbench.accounts import add_api_key, local_user
from workbench.cache import EmbeddedCache
from workbench.db import session_scope
from workbench.db.models import BotConfig, Trade
from workbench.errors import TemporaryError
from workbench.market.cached import cached_symbols
from workbench.market.candles import upsert_candles
from workbench.market.ccxt_adapter import CcxtExchange
from workbench.market.sample import SYNTHETIC_EXCHANGE, sample_candles
from workbench.schemas import BotConfigCreate
from workbench.settings import Settings
from workbench.widgets.bots import GROUPS, BotForm
from workbench.widgets.fields import OptionalNumber


def offline(_exchange: str, _kind: str) -> list[str]:
    return []


def fill(form: BotForm, **values: object) -> None:
    for name, value in values.items():
        form.controls[name].value = value


def bots(engine: Engine) -> list[BotConfig]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(BotConfig).order_by(BotConfig.id)))


def widget_texts(widget: w.Widget) -> list[str]:
    """Every string a widget tree holds in its state (what the browser could show)."""
    texts: list[str] = []
    for value in widget.get_state().values():
        if isinstance(value, str):
            texts.append(value)
        if isinstance(value, list | tuple):
            texts.extend(str(v) for v in value)
    for child in getattr(widget, "children", ()):
        texts.extend(widget_texts(child))
    return texts


def test_every_field_has_one_control_in_one_group(engine: Engine) -> None:
    form = BotForm(engine, symbols=offline)
    grouped = [name for names in GROUPS.values() for name in names]
    # strategy_params: a user strategy's own controls (param_box), built from its declaration
    assert sorted([*grouped, "strategy_params"]) == sorted(BotConfigCreate.model_fields)
    assert len(grouped) == len(set(grouped))
    # Bounds come from the schema: the database's limits, not the form's own.
    assert (form.controls["leverage"].min, form.controls["leverage"].max) == (1, 125)
    assert form.controls["ema_fast"].max == 10_000
    assert isinstance(form.controls["stop_loss_perc"], OptionalNumber)
    assert form.controls["stop_loss_perc"].number.max == 100
    assert isinstance(form.controls["trailing_stop_active"], w.Checkbox)
    builtins = [v for _, v in form.controls["strategy"].options][:3]
    assert builtins == ["ema_cross", "rsi", "ema_rsi"]


def test_create_from_the_form_stores_exact_values(engine: Engine) -> None:
    form = BotForm(engine, symbols=offline)
    fill(
        form,
        name="swing",
        symbol="ETH/USDT",
        timeframe="1h",
        ema_fast=9,
        ema_slow=21,
        stop_loss_perc=2.5,
        initial_capital=2500.0,
    )
    assert form.field_errors() == {}
    form.save.click()
    assert "created bot" in form.message.text
    [bot] = bots(engine)
    assert (bot.name, bot.symbol, bot.timeframe, bot.exchange) == (
        "swing",
        "ETH/USDT",
        "1h",
        SYNTHETIC_EXCHANGE,
    )
    assert (bot.ema_fast, bot.ema_slow) == (9, 21)
    assert bot.stop_loss_perc == Decimal("2.5")
    assert bot.initial_capital == Decimal(2500)
    assert bot.take_profit_perc is None
    assert form.bot_id == bot.id and form.picker.value == bot.id


def test_bad_input_shows_field_errors_and_writes_nothing(engine: Engine) -> None:
    form = BotForm(engine, symbols=offline)
    fill(form, name="bad", symbol="not a symbol")
    assert "must be like BTC/USDT" in form.field_errors()["symbol"]
    fill(form, symbol="BTC/USDT", ema_fast=30, ema_slow=20, leverage=5)
    errors = form.field_errors()
    assert errors["ema_fast"] == "must be less than ema_slow (20), got 30"
    assert "leverage" in errors and "futures" in errors["leverage"]
    assert "symbol" not in errors
    assert "must be less than ema_slow" in form.errors["ema_fast"].value
    form.controls["stop_loss_perc"].value = 5  # an unrelated change keeps the errors shown
    form.save.click()
    assert "invalid BotConfigCreate" in form.message.text
    assert bots(engine) == []
    # Position size: exactly one way.
    fill(form, symbol="BTC/USDT", ema_fast=5, leverage=1, position_size_perc=None)
    assert "position_size_perc" in form.field_errors()
    fill(form, position_size_fixed=250)
    assert form.field_errors() == {}


def test_name_taken_is_refused(engine: Engine) -> None:
    form = BotForm(engine, symbols=offline)
    fill(form, name="one", symbol="BTC/USDT")
    form.save.click()
    form.picker.value = None  # back to a new bot
    fill(form, name="one", symbol="ETH/USDT")
    form.save.click()
    assert "already exists" in form.message.text
    assert [b.symbol for b in bots(engine)] == ["BTC/USDT"]


def test_load_edit_clone_and_activate(engine: Engine) -> None:
    form = BotForm(engine, symbols=offline)
    fill(form, name="base", symbol="BTC/USDT", strategy="rsi", rsi_period=10)
    form.save.click()
    first = form.bot_id
    assert first is not None

    other = BotForm(engine, symbols=offline)  # a second form sees it and loads it
    other.picker.value = first
    assert other.controls["rsi_period"].value == 10
    assert other.controls["strategy"].value == "rsi"
    other.controls["rsi_oversold"].value = 25
    other.save.click()
    assert bots(engine)[0].rsi_oversold == 25

    other.clone.click()
    assert other.bot_id is None and other.controls["name"].value == "base (copy)"
    other.save.click()
    assert [(b.name, b.rsi_oversold, b.strategy) for b in bots(engine)] == [
        ("base", 25, "rsi"),
        ("base (copy)", 25, "rsi"),
    ]

    other.activate.click()
    assert bots(engine)[1].is_active is True
    assert other.activate.description == "Deactivate"
    other.activate.click()
    assert bots(engine)[1].is_active is False


def test_strategy_shows_its_own_parameters(engine: Engine) -> None:
    form = BotForm(engine, symbols=offline)
    form.controls["strategy"].value = "ema_cross"
    assert form.rows["ema_fast"].layout.display is None
    assert form.rows["rsi_period"].layout.display == "none"
    assert form.rows["custom_rsi_period"].layout.display == "none"
    form.controls["strategy"].value = "ema_rsi"
    assert form.rows["ema_period"].layout.display is None
    assert form.rows["rsi_period"].layout.display is None
    assert form.rows["ema_fast"].layout.display == "none"


def test_delete_with_trades_needs_confirmation_and_keeps_them(engine: Engine) -> None:
    form = BotForm(engine, symbols=offline)
    fill(form, name="trader", symbol="BTC/USDT")
    form.save.click()
    bot_id = form.bot_id
    with session_scope(engine) as session:
        session.add(
            Trade(
                bot_config_id=bot_id,
                user_id=local_user(session=session).id,
                exchange="paper",
                exchange_order_id="o-1",
                symbol="BTC/USDT",
                side="buy",
                order_type="market",
                price=Decimal(100),
                quantity_filled=Decimal(1),
                quote_quantity_filled=Decimal(100),
                timestamp=datetime(2024, 1, 1, tzinfo=UTC),
            )
        )
    form.delete.click()
    assert "has 1 trades" in form.message.text
    assert len(bots(engine)) == 1
    form.confirm_delete.value = True
    form.delete.click()
    assert "its 1 trades are kept" in form.message.text
    assert bots(engine) == []
    with session_scope(engine) as session:
        assert session.scalar(sa.select(Trade.bot_config_id)) is None
    assert form.bot_id is None and form.picker.options == (("(new bot)", None),)


def test_api_keys_are_chosen_by_label_and_shown_masked(settings: Settings, engine: Engine) -> None:
    plain_key, plain_secret = "AKIAPLAINKEY1234567890", "s3cr3t-value-never-shown"
    with session_scope(engine) as session:
        key = add_api_key(
            session=session,
            user_id=local_user(session=session).id,
            exchange="binance",
            key_name="main",
            api_key=plain_key,
            api_secret=plain_secret,
        )
        key_id = key.id
    form = BotForm(engine, symbols=offline)
    labels = dict((v, k) for k, v in form.controls["api_key_id"].options)
    assert labels[key_id].startswith("main (binance, ")
    fill(form, name="live", symbol="BTC/USDT", api_key_id=key_id, dry_run=False)
    form.save.click()
    assert bots(engine)[0].api_key_id == key_id
    texts = " ".join(widget_texts(form))
    assert plain_secret not in texts and plain_key not in texts


def test_symbols_come_from_the_cached_exchange_list_and_stored_candles(
    engine: Engine, tmp_path: Path, binance_server: FakeBinanceServer
) -> None:
    upsert_candles(
        engine=engine,
        frame=sample_candles(50, timeframe="5m", seed=1),
        exchange="binance",
        symbol="SAMPLE/USDT",
        timeframe="5m",
    )
    exchange = CcxtExchange("binance", api_urls=binance_server.api_urls(), timeout_ms=500)
    cache = EmbeddedCache(tmp_path / "cache", namespace="form")
    listed = cached_symbols(cache, exchange, "spot").value
    failing = {"on": False}

    def symbols(exchange_id: str, kind: str) -> list[str]:
        if failing["on"]:
            raise TemporaryError("exchange unreachable")
        return cached_symbols(cache, exchange, "spot").value if exchange_id == "binance" else []

    form = BotForm(engine, symbols=symbols)
    form.controls["exchange"].value = "binance"
    assert set(form.controls["symbol"].options) == {*listed, "SAMPLE/USDT"}
    assert "BTC/USDT" in listed
    failing["on"] = True
    form.controls["exchange"].value = SYNTHETIC_EXCHANGE
    form.controls["exchange"].value = "binance"
    assert form.controls["symbol"].options == ("SAMPLE/USDT",)
    assert "unavailable" in form.symbol_note.value
    cache.close()


@pytest.mark.parametrize("field", ["initial_capital", "stop_loss_perc", "position_size_fixed"])
def test_decimal_fields_round_trip(engine: Engine, field: str) -> None:
    form = BotForm(engine, symbols=offline)
    fill(form, name=f"money-{field}", symbol="BTC/USDT")
    if field == "position_size_fixed":
        fill(form, position_size_perc=None)
    fill(form, **{field: 12.34})
    form.save.click()
    assert getattr(bots(engine)[0], field) == Decimal("12.34")
    form.load(form.bot_id or 0)
    assert float(form.controls[field].value) == pytest.approx(12.34)


def test_a_user_strategy_gets_controls_from_its_declaration(engine: Engine) -> None:
    import workbench as wb

    @wb.strategy(
        params={
            "span": wb.Int(20, low=5, high=300),
            "band": wb.Float(0.01, low=0.0, high=0.1),
            "confirm": wb.Bool(False),
            "source": wb.Choice("close", ["close", "open"]),
        }
    )
    def form_breakout(candles, span, band, confirm, source):
        """Breakout over a span."""
        top = candles[source].rolling(span).max().shift(1)
        return wb.Signals(entries=candles.close > top * (1 + band), exits=candles.close < top)

    form = BotForm(engine, symbols=offline)
    assert "form_breakout" in [v for _, v in form.controls["strategy"].options]
    fill(form, name="mine", symbol="BTC/USDT", strategy="form_breakout")
    controls = form.param_controls
    assert (controls["span"].min, controls["span"].max, controls["span"].value) == (5, 300, 20)
    assert isinstance(controls["band"], w.BoundedFloatText) and controls["band"].max == 0.1
    assert isinstance(controls["confirm"], w.Checkbox)
    assert list(controls["source"].options) == ["close", "open"]
    assert form.rows["ema_fast"].layout.display == "none"  # the built-ins' columns hide

    # An error from the strategy's own rule is shown beside its field.
    form.check()
    assert form.field_errors() == {}
    controls["span"].value = 40
    form.save.click()
    (bot,) = bots(engine)
    assert (bot.strategy, bot.strategy_params) == (
        "form_breakout",
        {"span": 40, "band": 0.01, "confirm": False, "source": "close"},
    )
    form.load(bot.id)
    assert form.param_controls["span"].value == 40


def test_an_error_inside_a_quiet_update_leaves_the_form_listening(engine: Engine) -> None:
    form = BotForm(engine, symbols=offline)
    with pytest.raises(TraitError), form.quiet():
        form.controls["api_key_id"].value = 12345  # no such key: the update fails midway
    assert not form.is_quiet
    fill(form, name="after", symbol="not a symbol")
    assert "must be like BTC/USDT" in form.field_errors()["symbol"]


def test_a_bot_saved_elsewhere_loads_in_an_open_form(engine: Engine) -> None:
    form = BotForm(engine, symbols=offline)
    other = BotForm(engine, symbols=offline)
    fill(other, name="elsewhere", symbol="BTC/USDT")
    other.save.click()
    assert other.bot_id is not None
    form.load(other.bot_id)  # not yet in this form's picker
    assert form.picker.value == other.bot_id and form.controls["name"].value == "elsewhere"
    fill(form, symbol="not a symbol")  # and the form still checks what is typed
    assert "symbol" in form.field_errors()
