"""The bot config form: every field of a bot, grouped, validated by the CLI's schema.

>>> form = BotForm()                     # in a notebook cell; ``form`` displays itself
>>> form.controls["ema_fast"].value = 9  # what a test (or a person) does
>>> form.save.click()
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ccxt
import ipywidgets as w
from sqlalchemy import Engine

from workbench.accounts import key_label, list_api_keys, local_user
from workbench.bots.configs import (
    bot_fields,
    create_bot,
    delete_bot,
    get_bot,
    list_bots,
    trade_count,
    update_bot,
)
from workbench.cache import get_cache
from workbench.db import session_scope
from workbench.errors import ValidationError, WorkbenchError
from workbench.market.cached import cached_symbols
from workbench.market.candles import summary
from workbench.market.ccxt_adapter import CcxtExchange
from workbench.market.sample import SYNTHETIC_EXCHANGE
from workbench.schemas import BotConfigCreate, validate
from workbench.strategies import STRATEGIES, all_strategies, get_strategy
from workbench.types import MarketType
from workbench.widgets.common import Message, engine_or_default
from workbench.widgets.fields import field_specs, observe_value, param_control, to_schema
from workbench.widgets.form import FormView, error_box, schema_controls

SymbolSource = Callable[[str, str], list[str]]

GROUPS: dict[str, tuple[str, ...]] = {
    "General": (
        "name",
        "exchange",
        "symbol",
        "timeframe",
        "is_active",
        "dry_run",
        "api_key_id",
        "check_interval_seconds",
    ),
    # The built-ins' seed columns and their overrides, from the registry; a user
    # strategy's parameters get controls built from its declaration (``param_box``).
    "Strategy": (
        "strategy",
        *dict.fromkeys(p for s in STRATEGIES.values() for p in s.param_names),
        *dict.fromkeys(f"custom_{p}" for s in STRATEGIES.values() for p in s.param_names),
    ),
    "Risk and daily rules": (
        "stop_loss_perc",
        "take_profit_perc",
        "trailing_stop_active",
        "trailing_stop_perc",
        "daily_target_perc",
        "max_daily_loss_perc",
        "max_daily_trades",
        "custom_stop_loss",
        "custom_take_profit",
        "custom_trailing_stop",
    ),
    "Sizing": ("initial_capital", "position_size_perc", "position_size_fixed"),
    "Futures": ("position_type", "leverage", "transfer_amount", "auto_transfer_funds"),
}
TIMEFRAMES = ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d", "1w"]
NEW_BOT = "(new bot)"


def label(name: str) -> str:
    return name.replace("_perc", " %").replace("_", " ")


def stored_symbols(engine: Engine, exchange: str) -> list[str]:
    """Symbols with candles stored for ``exchange``."""
    return sorted({s["symbol"] for s in summary(engine=engine) if s["exchange"] == exchange})


def exchange_symbols(exchange: str, market_type: str) -> list[str]:
    """The exchange's symbol list through the cache (TTL, last good value when it fails)."""
    if exchange not in ccxt.exchanges:
        return []
    return cached_symbols(get_cache(), CcxtExchange(exchange), MarketType(market_type)).value


STOP, CONFIRM_STOP = "Stop bot", "Confirm stop"


class BotForm(FormView):
    """Create, load, edit, clone, (de)activate and delete bot configurations.

    ``symbols(exchange, position_type)`` lists the symbols offered for an exchange; by
    default the stored ones plus the exchange's cached list (for real exchanges).
    """

    def __init__(self, engine: Engine | None = None, *, symbols: SymbolSource | None = None):
        self.engine = engine_or_default(engine)
        self.symbols = symbols or exchange_symbols
        self.bot_id: int | None = None
        self.specs = {
            n: s for n, s in field_specs(BotConfigCreate).items() if n != "strategy_params"
        }
        self.param_controls: dict[str, Any] = {}
        self.param_errors: dict[str, w.HTML] = {}
        self.param_box = w.VBox()
        self.strategy_note = w.HTML()
        self.controls: dict[str, Any] = schema_controls(
            BotConfigCreate, label, special=self._special_controls(), exclude=("strategy_params",)
        )
        self.errors = {n: error_box() for n in self.specs}
        self.symbol_note = w.HTML()
        self.message = Message()
        self.rows: dict[str, w.HBox] = {}

        self.picker = w.Dropdown(description="bot", style={"description_width": "initial"})
        self.save = w.Button(description="Save", button_style="primary", icon="save")
        self.clone = w.Button(description="Clone", icon="copy")
        self.activate = w.Button(description="Activate", icon="play")
        self.delete = w.Button(description="Delete", button_style="danger", icon="trash")
        self.confirm_delete = w.Checkbox(
            description="delete even with trades (the trades are kept)", indent=False
        )
        self.stop = w.Button(description=STOP, button_style="warning", icon="stop")
        self.close_position = w.Checkbox(description="close position at market", indent=False)
        self.stop.on_click(lambda _: self.stop_bot())
        self.picker.observe(self._picked, "value")
        self.save.on_click(lambda _: self.save_bot())
        self.clone.on_click(lambda _: self.clone_bot())
        self.activate.on_click(lambda _: self.toggle_active())
        self.delete.on_click(lambda _: self.delete_bot())
        for control in self.controls.values():
            observe_value(control, self._changed)
        for name in ("exchange", "position_type"):
            self.controls[name].observe(self._market_changed, "value")
        self.controls["strategy"].observe(lambda _: self._show_strategy(), "value")

        sections = w.Accordion(children=[self._group(names) for names in GROUPS.values()])
        for i, title in enumerate(GROUPS):
            sections.set_title(i, title)
        sections.selected_index = 0
        actions = w.HBox([self.save, self.clone, self.activate, self.delete, self.confirm_delete])
        actions.children += (self.stop, self.close_position)
        super().__init__([self.picker, sections, actions, self.message])
        self._refresh_picker()
        self.new_bot()

    # -- building -------------------------------------------------------------------------

    def _special_controls(self) -> dict[str, Callable[[], w.Widget]]:
        """The fields whose control offers known choices (the rest follow the schema)."""
        style = {"description_width": "initial"}
        return {
            "exchange": lambda: w.Combobox(
                description="exchange",
                options=[SYNTHETIC_EXCHANGE, *ccxt.exchanges],
                ensure_option=False,
                style=style,
            ),
            "symbol": lambda: w.Combobox(description="symbol", placeholder="BTC/USDT", style=style),
            "timeframe": lambda: w.Combobox(
                description="timeframe", options=TIMEFRAMES, style=style
            ),
            "strategy": lambda: w.Dropdown(
                description="strategy", options=self._strategies(), style=style
            ),
            "api_key_id": lambda: w.Dropdown(
                description="API key", options=[("none", None)], style=style
            ),
        }

    def _group(self, names: tuple[str, ...]) -> w.VBox:
        rows: list[w.Widget] = []
        for name in names:
            self.rows[name] = w.HBox([self.controls[name], self.errors[name]])
            rows.append(self.rows[name])
            if name == "symbol":
                rows.append(self.symbol_note)
            if name == "strategy":
                rows += [self.strategy_note, self.param_box]
        return w.VBox(rows)

    # -- values ---------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The form's fields as the schema takes them (a user strategy's parameters in
        ``strategy_params``)."""
        values = {n: to_schema(spec, self.controls[n].value) for n, spec in self.specs.items()}
        values["strategy_params"] = {n: c.value for n, c in self.param_controls.items()}
        return values

    def set_values(self, values: dict[str, Any]) -> None:
        params = values.get("strategy_params") or {}
        with self.quiet():
            for name, value in values.items():
                if name == "strategy_params":
                    continue
                control = self.controls[name]
                if isinstance(control, w.Checkbox):
                    control.value = bool(value)
                elif isinstance(control, w.BoundedFloatText):
                    control.value = float(value)
                elif name == "api_key_id":
                    self._refresh_keys()
                    control.value = value
                else:
                    control.value = value
        self._show_strategy()
        with self.quiet():
            for name, value in params.items():
                if name in self.param_controls:
                    self.param_controls[name].value = value

    def error_boxes(self) -> dict[str, w.HTML]:
        return {**self.errors, **self.param_errors}

    def check(self) -> dict[str, str]:
        """Validate the form with the schema and show each error beside its field."""
        try:
            validate(BotConfigCreate, self.values())
            errors: dict[str, str] = {}
        except ValidationError as e:
            errors = e.errors
        self.show_errors(errors)
        return errors

    def _changed(self, _change: dict[str, Any]) -> None:
        if not self.is_quiet:
            self.check()

    # -- actions --------------------------------------------------------------------------

    def new_bot(self) -> None:
        """Empty the form for a new bot (the schema's defaults, the first stored market)."""
        self.bot_id = None
        defaults = {n: s.default for n, s in self.specs.items()}
        stored = summary(engine=self.engine)
        market = stored[0] if stored else {"exchange": SYNTHETIC_EXCHANGE, "symbol": ""}
        defaults |= {
            "name": "",
            "exchange": market["exchange"],
            "symbol": market["symbol"],
            "position_size_perc": 100,
        }
        self.set_values(defaults)
        self._refresh_symbols()
        self.show_errors({})
        with self.quiet():
            self.picker.index = 0
        self._show_buttons()

    def load(self, bot_id: int) -> None:
        """Show the stored bot ``bot_id``."""
        with session_scope(self.engine) as session:
            fields = bot_fields(get_bot(session=session, bot_id=bot_id))
        self.bot_id = bot_id
        self.set_values(fields)
        self._refresh_symbols()
        self.check()
        if bot_id not in {value for _, value in self.picker.options}:
            self._refresh_picker()  # created elsewhere since the list was read
        with self.quiet():
            self.picker.value = bot_id
        self.confirm_delete.value = False
        self._show_buttons()
        self.message.clear()

    def save_bot(self) -> int | None:
        """Create the bot, or update the loaded one; field errors are shown, nothing saved."""
        values = self.values()

        def store() -> tuple[int, str]:
            with session_scope(self.engine) as session:
                if self.bot_id is None:
                    owner = local_user(session=session).id
                    bot = create_bot(session=session, user_id=owner, **values)
                else:
                    bot = update_bot(session=session, bot_id=self.bot_id, **values)
                return bot.id, bot.name

        created = self.bot_id is None
        stored = self.act(store)
        if stored is None:
            return None
        bot_id, name = stored
        self._refresh_picker()
        self.load(bot_id)
        self.message.ok(f"{'created' if created else 'saved'} bot {bot_id} ({name})")
        return bot_id

    def clone_bot(self) -> None:
        """Start a new bot from the loaded one (saved when you click Save)."""
        if self.bot_id is None:
            self.message.error("load a bot to clone first")
            return
        source = self.bot_id
        name = f"{self.controls['name'].value} (copy)"
        self.bot_id = None
        with self.quiet():
            self.picker.index = 0
            self.controls["name"].value = name
            self.controls["is_active"].value = False
        self._show_buttons()
        self.message.ok(f"copy of bot {source}: change what you like, then Save")

    def toggle_active(self) -> None:
        """Activate or deactivate the loaded bot at once."""
        if self.bot_id is None:
            self.message.error("save the bot before activating it")
            return
        bot_id, active = self.bot_id, not self.controls["is_active"].value

        def switch() -> bool:
            with session_scope(self.engine) as session:
                update_bot(session=session, bot_id=bot_id, is_active=active)
            return True

        if not self.act(switch):
            return
        self.load(self.bot_id)
        self.message.ok(f"bot {self.bot_id} {'activated' if active else 'deactivated'}")

    def stop_bot(self) -> None:
        """Kill switch: the first click asks to confirm; the second deactivates the bot at
        once and, with "close position" ticked, sells its position at market."""
        if self.bot_id is None or self.stop.description == STOP:
            self.stop.description = STOP if self.bot_id is None else CONFIRM_STOP
            self.message.error(
                "load a bot to stop first"
                if self.bot_id is None
                else f"click '{CONFIRM_STOP}' to stop bot {self.bot_id}"
                + (" and sell its position at market" if self.close_position.value else "")
            )
            return
        from workbench.bots.stop import stop_bot

        self.stop.description = STOP
        bot_id = self.bot_id
        result = self.act(
            lambda: stop_bot(bot_id, engine=self.engine, close=self.close_position.value)
        )
        if result is None:
            return
        self.load(bot_id)
        self.message.ok(result.summary())

    def delete_bot(self) -> None:
        """Delete the loaded bot; with trades only when confirmed (the trades are kept)."""
        if self.bot_id is None:
            self.message.error("load a bot to delete first")
            return
        bot_id = self.bot_id

        def remove() -> int | None:
            with session_scope(self.engine) as session:
                trades = trade_count(session=session, bot_id=bot_id)
                if trades and not self.confirm_delete.value:
                    self.message.error(
                        f"bot {bot_id} has {trades} trades; tick 'delete even with trades' "
                        "and click Delete again (the trades are kept, detached from the bot)"
                    )
                    return None
                return delete_bot(session=session, bot_id=bot_id, force=bool(trades))

        kept = self.act(remove)
        if kept is None:
            return
        self._refresh_picker()
        self.new_bot()
        note = f"; its {kept} trades are kept" if kept else ""
        self.message.ok(f"deleted bot {bot_id}{note}")

    # -- helpers --------------------------------------------------------------------------

    def _picked(self, change: dict[str, Any]) -> None:
        if self.is_quiet:
            return
        if change["new"] is None:
            self.new_bot()
        else:
            self.load(change["new"])

    def _market_changed(self, _change: dict[str, Any]) -> None:
        if not self.is_quiet:
            self._refresh_symbols()

    def _refresh_picker(self) -> None:
        with session_scope(self.engine) as session:
            bots = [(f"{b.id}: {b.name}", b.id) for b in list_bots(session=session)]
        with self.quiet():
            self.picker.options = [(NEW_BOT, None), *bots]
        self._refresh_keys()

    def _refresh_keys(self) -> None:
        with session_scope(self.engine) as session:
            keys = [(key_label(k), k.id) for k in list_api_keys(session=session)]
        self.controls["api_key_id"].options = [("none", None), *keys]

    def _refresh_symbols(self) -> None:
        exchange = self.controls["exchange"].value
        stored = stored_symbols(self.engine, exchange)
        try:
            listed = self.symbols(exchange, self.controls["position_type"].value)
            self.symbol_note.value = ""
        except WorkbenchError as e:
            listed = []
            self.symbol_note.value = (
                f"<small>symbol list of {exchange} unavailable ({e}); showing stored "
                "symbols; you can type any symbol</small>"
            )
        self.controls["symbol"].options = sorted(set(stored) | set(listed))

    def _strategies(self) -> list[tuple[str, str]]:
        """Every strategy for the dropdown (a broken strategy file is shown, not raised)."""
        try:
            known = all_strategies()
        except WorkbenchError as e:
            self.strategy_note.value = f"<small>{html.escape(str(e))}</small>"
            known = dict(STRATEGIES)
        return [(f"{s.name}: {s.description}", s.name) for s in known.values()]

    def _show_strategy(self) -> None:
        try:
            strategy = get_strategy(self.controls["strategy"].value)
        except WorkbenchError:
            return
        used = set(strategy.param_names) if strategy.builtin else set()
        for name in GROUPS["Strategy"][1:]:
            visible = name.removeprefix("custom_") in used
            self.rows[name].layout.display = None if visible else "none"
        self._build_params(strategy)
        rules = (
            f"enter when {strategy.entry_rule}; exit when {strategy.exit_rule}"
            if strategy.entry_rule
            else f"{strategy.description} ({strategy.where})"
        )
        self.strategy_note.value = f"<small>{html.escape(rules)}</small>"

    def _build_params(self, strategy: Any) -> None:
        """Controls for a user strategy's declared parameters, an error beside each."""
        params = () if strategy.builtin else strategy.params
        self.param_controls = {p.name: param_control(p) for p in params}
        self.param_errors = {p.name: error_box() for p in params}
        for control in self.param_controls.values():
            control.observe(self._changed, "value")
        self.param_box.children = [
            w.HBox([self.param_controls[n], self.param_errors[n]]) for n in self.param_controls
        ]

    def _show_buttons(self) -> None:
        loaded = self.bot_id is not None
        for button in (self.clone, self.activate, self.delete, self.stop):
            button.disabled = not loaded
        self.stop.description = STOP
        active = bool(self.controls["is_active"].value)
        self.activate.description = "Deactivate" if active else "Activate"
        self.activate.icon = "pause" if active else "play"
