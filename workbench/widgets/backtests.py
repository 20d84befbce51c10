"""The backtest explorer: pick candles and a strategy (or a bot), run, sweep, save, compare.

It drives the same functions as ``workbench backtest`` and ``workbench sweep``
(``workbench.backtest.configs``), so a run here equals that command with the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go
import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.backtest import (
    BacktestResult,
    backtest_config,
    compare_backtests,
    run_sweep,
    sweep_heatmap,
)
from workbench.backtest.configs import (
    free_config,
    save_config_backtest,
    save_sweep_best,
    stored_candles,
)
from workbench.bots import get_bot, list_bots
from workbench.db import session_scope
from workbench.db.models import Backtest
from workbench.errors import ValidationError, WorkbenchError
from workbench.market.candles import summary
from workbench.rules import RuleParams
from workbench.schemas import BotConfigCreate
from workbench.strategies import STRATEGIES, all_strategies, get_strategy
from workbench.strategies.sweep import parse_range
from workbench.types import DEFAULT_FEE
from workbench.widgets.common import Message, engine_or_default, frame_html, show_figure
from workbench.widgets.fields import (
    OptionalNumber,
    control_for,
    field_specs,
    param_control,
    range_hint,
    to_schema,
)
from workbench.widgets.trades import day_start

RULE_FIELDS = (
    "stop_loss_perc",
    "take_profit_perc",
    "trailing_stop_perc",
    "daily_target_perc",
    "max_daily_loss_perc",
    "position_size_perc",
)
HEADLINE = (
    "start",
    "end",
    "final_value",
    "total_return",
    "max_drawdown",
    "total_trades",
    "win_rate",
    "profit_factor",
    "fees_paid",
    "sharpe_ratio",
)
MAX_SWEEP_SETS = 50_000
NO_BOT = "none: use the fields here"


@dataclass(frozen=True)
class Inputs:
    """What a run or a sweep ran on: the config, its bot (if any), candles and rules."""

    config: Any
    bot_id: int | None
    candles: pd.DataFrame
    rules: RuleParams


class BacktestExplorer(w.VBox):
    """Run a backtest or a sweep over stored candles, look at it, save it, compare saved ones."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine_or_default(engine)
        self.result: BacktestResult | None = None
        self.result_inputs: Inputs | None = None
        self.stats_shown: dict[str, Any] = {}
        self.sweep_table: pd.DataFrame | None = None
        self.sweep_inputs: Inputs | None = None
        self.series: dict[str, tuple[str, str, str]] = {}
        style = {"description_width": "initial"}
        narrow = w.Layout(width="190px")
        self.market = w.Dropdown(description="candles", style=style)
        self.start = w.DatePicker(description="from", style=style)
        self.end = w.DatePicker(description="until (incl.)", style=style)
        self.bot = w.Dropdown(description="or a bot", style=style)
        self.message = Message()
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
            description="fee",
            value=DEFAULT_FEE,
            min=0,
            max=0.1,
            step=0.0005,
            style=style,
            layout=narrow,
        )
        self.slippage = w.BoundedFloatText(
            description="slippage", value=0.0, min=0, max=0.1, step=0.0005, style=style
        )
        self.slippage.layout = narrow
        self.reload = w.Button(description="Reload lists", icon="refresh")
        # backtest
        self.run = w.Button(description="Run backtest", button_style="primary", icon="play")
        self.name = w.Text(description="name", placeholder="name to save under", style=style)
        self.save = w.Button(description="Save", icon="save")
        self.stats = w.HTML()
        self.plots = w.Output()
        self.trades = w.HTML()
        # sweep
        self.ranges: dict[str, w.Text] = {}
        self.range_box = w.HBox()
        self.run_sweep = w.Button(description="Run sweep", button_style="primary", icon="th")
        self.save_top = w.BoundedIntText(
            description="save best", value=3, min=1, max=50, style=style, layout=narrow
        )
        self.save_sweep = w.Button(description="Save best sets", icon="save")
        self.sweep_view = w.HTML()
        self.heatmap = w.Output()
        # compare
        self.saved = w.SelectMultiple(description="saved", rows=8, style=style)
        self.compare = w.Button(description="Compare", icon="columns")
        self.comparison = w.HTML()

        self.strategy.observe(lambda _: self._show_params(), "value")
        self.bot.observe(lambda _: self._follow_bot(), "value")
        self.reload.on_click(lambda _: self.refresh_choices())
        self.run.on_click(lambda _: self.run_backtest())
        self.save.on_click(lambda _: self.save_result())
        self.run_sweep.on_click(lambda _: self.sweep())
        self.save_sweep.on_click(lambda _: self.save_best())
        self.compare.on_click(lambda _: self.compare_saved())
        self.tabs = w.Tab(
            [
                w.VBox(
                    [w.HBox([self.run, self.name, self.save]), self.stats, self.plots, self.trades]
                ),
                w.VBox(
                    [
                        w.HTML(
                            "ranges as START:STOP[:STEP] (STOP excluded) or A,B,C; "
                            "an empty range keeps the value above"
                        ),
                        self.range_box,
                        w.HBox([self.run_sweep, self.save_top, self.save_sweep]),
                        self.sweep_view,
                        self.heatmap,
                    ]
                ),
                w.VBox([w.HBox([self.saved, self.compare]), self.comparison]),
            ],
            titles=["Backtest", "Sweep", "Compare saved"],
        )
        super().__init__(
            [
                w.HBox([self.market, self.start, self.end, self.reload]),
                w.HBox([self.bot, self.strategy]),
                self.param_box,
                w.HBox([self.capital, self.fee, self.slippage]),
                w.HBox(list(self.rules.values())[:3]),
                w.HBox(list(self.rules.values())[3:]),
                self.message,
                self.tabs,
            ]
        )
        self.refresh_choices()
        self._show_params()

    # -- choices -------------------------------------------------------------------------

    def refresh_choices(self) -> None:
        """Fill the candle, bot and saved-backtest pickers from the database."""
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
            saved = session.execute(sa.select(Backtest.id, Backtest.name).order_by(Backtest.id))
            self.saved.options = [(f"{i}: {n}", i) for i, n in saved]
        strategy = self.strategy.value
        names = self._strategy_names()
        if names != list(self.strategy.options):
            self.strategy.options = names
            self.strategy.value = strategy if strategy in names else "ema_cross"
        bot = self.bot.value
        self.bot.options = [(NO_BOT, None), *bots]
        self.bot.value = bot if bot in {b for _, b in bots} else None

    def _show_params(self) -> None:
        """The chosen strategy's parameter controls, built from its declaration."""
        strategy = get_strategy(self.strategy.value)
        style = {"description_width": "initial"}
        self.params = {p.name: param_control(p) for p in strategy.params}
        self.ranges = {
            p.name: w.Text(
                description=p.name,
                placeholder=range_hint(p),
                style=style,
                layout=w.Layout(width="200px"),
            )
            for p in strategy.params
        }
        self.param_box.children = list(self.params.values())
        self.range_box.children = list(self.ranges.values())

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
        try:
            with session_scope(self.engine) as session:
                bot = get_bot(session=session, bot_id=self.bot.value)
        except WorkbenchError as e:
            self.message.error(e)
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

    # -- inputs --------------------------------------------------------------------------

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

    # -- backtest ------------------------------------------------------------------------

    def run_backtest(self) -> BacktestResult | None:
        """Backtest and show stats, equity and drawdown, and the trades."""
        self.result = self.result_inputs = None
        try:
            inputs = self.inputs()
            result = backtest_config(
                inputs.candles, inputs.config, fee=self.fee.value, slippage=self.slippage.value
            )
        except WorkbenchError as e:
            self.message.error(e)
            self.stats.value = self.trades.value = ""
            self.plots.outputs = ()
            return None
        self.result, self.result_inputs = result, inputs
        stats = result.stats()
        self.stats_shown = {k: stats[k] for k in HEADLINE}
        self.stats.value = frame_html(pd.DataFrame([self.stats_shown]))
        show_figure(self.plots, result.figure())
        trades = result.trades.iloc[::-1]
        self.trades.value = f"<b>{len(trades)} trades</b>, newest first" + frame_html(trades)
        self.message.ok(
            f"{inputs.config.strategy} {result.params}: {stats['total_trades']} trades, "
            f"return {stats['total_return']:+.2%}, max drawdown {stats['max_drawdown']:.2%}"
        )
        return result

    def save_result(self) -> int | None:
        """Save the backtest shown under the given name."""
        if self.result is None or self.result_inputs is None:
            self.message.error("run a backtest first, then save it")
            return None
        inputs = self.result_inputs
        try:
            with session_scope(self.engine) as session:
                row = save_config_backtest(
                    session=session,
                    result=self.result,
                    config=inputs.config,
                    name=self.name.value,
                    bot_id=inputs.bot_id,
                )
                saved_id = row.id
        except WorkbenchError as e:
            self.message.error(e)
            return None
        self.refresh_choices()
        self.message.ok(f"saved as backtest {saved_id}")
        return saved_id

    # -- sweep ---------------------------------------------------------------------------

    def grid(self) -> dict[str, list[int]]:
        """The sweep grid: each given range, else the parameter's value above."""
        grid = {}
        for name, box in self.ranges.items():
            text = box.value.strip()
            grid[name] = parse_range(f"{name}={text}")[1] if text else [self.params[name].value]
        if all(len(values) == 1 for values in grid.values()):
            raise ValidationError(
                {"ranges": "give a range of values for at least one parameter"}, entity="sweep"
            )
        sets = 1
        for values in grid.values():
            sets *= len(values)
        if sets > MAX_SWEEP_SETS:
            raise ValidationError(
                {"ranges": f"{sets:,} parameter sets; narrow the ranges to {MAX_SWEEP_SETS:,}"},
                entity="sweep",
            )
        return grid

    def sweep(self) -> pd.DataFrame | None:
        """Sweep the grid; show the best sets and a heatmap (a line for one parameter)."""
        self.sweep_table = self.sweep_inputs = None
        try:
            grid = self.grid()
            inputs = self.inputs()
            table = run_sweep(
                inputs.candles,
                strategy=inputs.config.strategy,
                grid=grid,
                rules=inputs.rules,
                progress=False,
            )
        except WorkbenchError as e:
            self.message.error(e)
            self.sweep_view.value = ""
            self.heatmap.outputs = ()
            return None
        self.sweep_table, self.sweep_inputs = table, inputs
        self.sweep_view.value = f"<b>{len(table):,} parameter sets</b>, best 20" + frame_html(
            table.head(20)
        )
        varied = [name for name, values in grid.items() if len(values) > 1]
        if len(varied) >= 2:
            show_figure(self.heatmap, sweep_heatmap(table, varied[0], varied[1]))
        else:
            show_figure(self.heatmap, _sweep_line(table, varied[0]))
        best = table.iloc[0]
        self.message.ok(
            f"swept {len(table):,} parameter sets; best "
            + " ".join(f"{n}={int(best[n])}" for n in grid)
            + f": return {best['total_return']:+.2%}"
        )
        return table

    def save_best(self) -> list[int]:
        """Save the best ``save_top`` sets of the last sweep as full backtests."""
        if self.sweep_table is None or self.sweep_inputs is None:
            self.message.error("run a sweep first, then save its best sets")
            return []
        inputs = self.sweep_inputs
        try:
            with session_scope(self.engine) as session:
                rows = save_sweep_best(
                    session=session,
                    table=self.sweep_table,
                    candles=inputs.candles,
                    config=inputs.config,
                    rules=inputs.rules,
                    top=self.save_top.value,
                )
                ids = [row.id for row in rows]
        except WorkbenchError as e:
            self.message.error(e)
            return []
        self.refresh_choices()
        self.message.ok(f"saved as backtests {', '.join(map(str, ids))}")
        return ids

    # -- compare -------------------------------------------------------------------------

    def compare_saved(self) -> pd.DataFrame | None:
        """Show the chosen saved backtests side by side."""
        ids = list(self.saved.value)
        if len(ids) < 2:
            self.message.error("choose two or more saved backtests to compare")
            return None
        with session_scope(self.engine) as session:
            table = compare_backtests(session=session, ids=ids)
        self.comparison.value = table.to_html(border=0, na_rep="", classes="wb-table")
        self.message.ok(f"comparing {len(ids)} backtests")
        return table


def _sweep_line(table: pd.DataFrame, name: str) -> go.Figure:
    ordered = table.sort_values(name)
    fig = go.Figure(go.Scatter(x=ordered[name], y=ordered["total_return"], mode="lines+markers"))
    fig.update_layout(title=f"total_return by {name}", xaxis_title=name, yaxis_tickformat=".0%")
    return fig
