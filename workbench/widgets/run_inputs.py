"""What a backtest and a sweep run on, shared by the explorer's parts: candles, dates, a
strategy and its parameters (or a stored bot), capital, fee, slippage and the risk rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as w
import pandas as pd
from sqlalchemy import Engine

from workbench.backtest.configs import free_config, stored_candles
from workbench.bots import get_bot, list_bots
from workbench.db import session_scope
from workbench.errors import ValidationError, WorkbenchError
from workbench.market.candles import summary
from workbench.rules import RuleParams
from workbench.schemas import BotConfigCreate
from workbench.strategies import STRATEGIES, all_strategies, get_strategy
from workbench.timeutil import day_start
from workbench.types import DEFAULT_FEE
from workbench.widgets.common import Message
from workbench.widgets.fields import (
    OptionalNumber,
    control_for,
    field_specs,
    param_control,
    to_schema,
)
from workbench.widgets.form import FormView

RULE_FIELDS = (
    "stop_loss_perc",
    "take_profit_perc",
    "trailing_stop_perc",
    "daily_target_perc",
    "max_daily_loss_perc",
    "position_size_perc",
)
NO_BOT = "none: use the fields here"


@dataclass(frozen=True)
class Inputs:
    """What a run or a sweep ran on: the config, its bot (if any), candles and rules."""

    config: Any
    bot_id: int | None
    candles: pd.DataFrame
    rules: RuleParams


class RunInputs(FormView):
    """The inputs form; ``inputs()`` reads it (a ValidationError names what is wrong)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.errors: dict[str, w.HTML] = {}
        self.series: dict[str, tuple[str, str, str]] = {}
        style = {"description_width": "initial"}
        narrow = w.Layout(width="190px")
        self.message = Message()
        self.market = w.Dropdown(description="candles", style=style)
        self.start = w.DatePicker(description="from", style=style)
        self.end = w.DatePicker(description="until (incl.)", style=style)
        self.bot = w.Dropdown(description="or a bot", style=style)
        self.strategy = w.Dropdown(
            description="strategy", options=self._strategy_names(), value="ema_cross", style=style
        )
        self.params: dict[str, Any] = {}
        self.param_box = w.HBox()
        specs = field_specs(BotConfigCreate)
        self.capital_spec = specs["initial_capital"]
        self.capital = control_for(self.capital_spec, "capital")
        self.capital.layout = narrow
        self.rules = {
            name: OptionalNumber(specs[name], name.replace("_perc", " %").replace("_", " "))
            for name in RULE_FIELDS
        }
        self.fee = w.BoundedFloatText(
            description="fee", value=DEFAULT_FEE, min=0, max=0.1, step=0.0005, style=style
        )
        self.fee.layout = narrow
        self.slippage = w.BoundedFloatText(
            description="slippage", value=0.0, min=0, max=0.1, step=0.0005, style=style
        )
        self.slippage.layout = narrow
        self.reload = w.Button(description="Reload lists", icon="refresh")
        self.bot.observe(lambda _: self._follow_bot(), "value")
        super().__init__(
            [
                w.HBox([self.market, self.start, self.end, self.reload]),
                w.HBox([self.bot, self.strategy]),
                self.param_box,
                w.HBox([self.capital, self.fee, self.slippage]),
                w.HBox(list(self.rules.values())[:3]),
                w.HBox(list(self.rules.values())[3:]),
                self.message,
            ]
        )

    # -- choices -------------------------------------------------------------------------

    def refresh_choices(self) -> None:
        """Fill the candle, strategy and bot pickers from the database."""
        self.series = {
            f"{s['exchange']} {s['symbol']} {s['timeframe']}": (
                s["exchange"],
                s["symbol"],
                s["timeframe"],
            )
            for s in summary(engine=self.engine)
        }
        chosen = self.market.value
        self.market.options = list(self.series)
        if self.series:
            self.market.value = chosen if chosen in self.series else next(iter(self.series))
        with session_scope(self.engine) as session:
            bots = [(f"{b.id}: {b.name}", b.id) for b in list_bots(session=session)]
        strategy = self.strategy.value
        names = self._strategy_names()
        if names != list(self.strategy.options):
            self.strategy.options = names
            self.strategy.value = strategy if strategy in names else "ema_cross"
        bot = self.bot.value
        self.bot.options = [(NO_BOT, None), *bots]
        self.bot.value = bot if bot in {b for _, b in bots} else None

    def show_params(self) -> list[Any]:
        """The chosen strategy's parameter controls, built from its declaration; returns
        the declared parameters (the sweep builds its ranges from them)."""
        strategy = get_strategy(self.strategy.value)
        self.params = {p.name: param_control(p) for p in strategy.params}
        self.param_box.children = list(self.params.values())
        return list(strategy.params)

    def _strategy_names(self) -> list[str]:
        """Built-ins and user strategies (a broken strategy file is shown, not raised)."""
        try:
            return list(all_strategies())
        except WorkbenchError as e:
            self.message.error(e)
            return list(STRATEGIES)

    def _follow_bot(self) -> None:
        """With a bot chosen, show its config in the fields (read-only: the bot's is run)."""
        if self.bot.value is None:
            self._lock(False)
            return
        bot_id = self.bot.value

        def read() -> Any:
            with session_scope(self.engine) as session:
                return get_bot(session=session, bot_id=bot_id)

        bot = self.act(read)
        if bot is None:
            return
        label = f"{bot.exchange} {bot.symbol} {bot.timeframe}"
        if label in self.series:
            self.market.value = label
        self.strategy.value = bot.strategy
        for name, value in get_strategy(bot.strategy).params_from_config(bot).items():
            self.params[name].value = value
        self.capital.value = float(bot.initial_capital)
        for name, control in self.rules.items():
            control.value = getattr(bot, name)
        if not bot.trailing_stop_active:
            self.rules["trailing_stop_perc"].value = None
        self._lock(True)
        self.message.ok(f"bot {bot.id}: {bot.name}; its config is what runs")

    def _lock(self, locked: bool) -> None:
        for control in [self.market, self.strategy, self.capital, *self.params.values()]:
            control.disabled = locked
        for rule in self.rules.values():
            rule.enabled.disabled = locked
            rule.number.disabled = locked or not rule.enabled.value

    # -- reading -------------------------------------------------------------------------

    def config(self) -> tuple[Any, int | None]:
        """The config to backtest and its bot: the chosen bot, or the fields of this form."""
        if self.bot.value is not None:
            with session_scope(self.engine) as session:
                return get_bot(session=session, bot_id=self.bot.value), self.bot.value
        if self.market.value is None:
            raise ValidationError(
                {"candles": "no candles stored; see `workbench data sample` or `data fetch`"},
                entity="backtest",
            )
        exchange, symbol, timeframe = self.series[self.market.value]
        fields: dict[str, Any] = {name: control.value for name, control in self.params.items()}
        fields |= {name: control.value for name, control in self.rules.items()}
        fields["initial_capital"] = to_schema(self.capital_spec, self.capital.value)
        fields["trailing_stop_active"] = fields["trailing_stop_perc"] is not None
        if fields["position_size_perc"] is None:
            del fields["position_size_perc"]  # the schema's default: all in
        config = free_config(
            exchange=exchange,
            symbol=symbol,
            timeframe=timeframe,
            strategy=self.strategy.value,
            fields=fields,
        )
        return config, None

    def inputs(self) -> Inputs:
        """The config, candles and rules a run or sweep uses (ValidationError if bad)."""
        config, bot_id = self.config()
        candles = stored_candles(
            engine=self.engine,
            exchange=config.exchange,
            symbol=config.symbol,
            timeframe=config.timeframe,
            start=day_start(self.start.value),
            end=day_start(self.end.value, 1),
        )
        rules = RuleParams.from_config(config, fee=self.fee.value, slippage=self.slippage.value)
        return Inputs(config, bot_id, candles, rules)
