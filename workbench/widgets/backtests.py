"""The backtest explorer: pick candles and a strategy (or a bot), run, sweep, save, compare."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.accounts import local_user
from workbench.backtest import (
    BacktestResult,
    backtest_config,
    compare_backtests,
    run_sweep,
    save_backtest,
    sweep_heatmap,
)
from workbench.bots import get_bot, list_bots
from workbench.db import session_scope
from workbench.db.models import Backtest
from workbench.errors import ValidationError, WorkbenchError
from workbench.market.candles import read_candles, summary
from workbench.rules import RuleParams
from workbench.schemas import BotConfigCreate, validate
from workbench.strategies import STRATEGIES, get_strategy
from workbench.strategies.sweep import parse_range
from workbench.widgets.common import Message, engine_or_default, frame_html, show_figure
from workbench.widgets.fields import OptionalNumber, field_specs

RULE_FIELDS = ("stop_loss_perc", "take_profit_perc", "trailing_stop_perc", "max_daily_loss_perc")
HEADLINE = ("total_return", "max_drawdown", "total_trades", "win_rate", "sharpe_ratio")


class BacktestExplorer(w.VBox):
    """Run a backtest or a sweep over stored candles, look at it, save it, compare saved ones."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine_or_default(engine)
        self.result: BacktestResult | None = None
        self.sweep_table: pd.DataFrame | None = None
        style = {"description_width": "initial"}
        self.market = w.Dropdown(description="candles", style=style)
        self.bot = w.Dropdown(description="or a bot", style=style)
        self.strategy = w.Dropdown(
            description="strategy", options=list(STRATEGIES), value="ema_cross", style=style
        )
        self.params: dict[str, w.BoundedIntText] = {}
        self.param_box = w.HBox()
        specs = field_specs(BotConfigCreate)
        self.rules = {
            name: OptionalNumber(specs[name], name.replace("_perc", " %").replace("_", " "))
            for name in RULE_FIELDS
        }
        self.fee = w.BoundedFloatText(description="fee", value=0.001, min=0, max=0.1, step=0.0005)
        self.run = w.Button(description="Run backtest", button_style="primary", icon="play")
        self.ranges: dict[str, w.Text] = {}
        self.range_box = w.HBox()
        self.run_sweep = w.Button(description="Run sweep", icon="th")
        self.name = w.Text(description="name", placeholder="name to save under", style=style)
        self.save = w.Button(description="Save", icon="save")
        self.saved = w.SelectMultiple(description="saved", rows=6, style=style)
        self.compare = w.Button(description="Compare", icon="columns")
        self.stats = w.HTML()
        self.trades = w.HTML()
        self.plots = w.Output()
        self.comparison = w.HTML()
        self.message = Message()
        self.strategy.observe(lambda _: self._show_params(), "value")
        self.run.on_click(lambda _: self.run_backtest())
        self.run_sweep.on_click(lambda _: self.sweep())
        self.save.on_click(lambda _: self.save_result())
        self.compare.on_click(lambda _: self.compare_saved())
        super().__init__(
            [
                w.HBox([self.market, self.bot]),
                w.HBox([self.strategy, self.fee]),
                self.param_box,
                w.HBox(list(self.rules.values())),
                w.HBox([self.run, self.name, self.save]),
                w.HTML("<b>sweep</b> ranges as START:STOP[:STEP] or A,B,C"),
                self.range_box,
                self.run_sweep,
                self.message,
                self.stats,
                self.plots,
                self.trades,
                w.HBox([self.saved, self.compare]),
                self.comparison,
            ]
        )
        self.refresh_choices()
        self._show_params()

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
        self.market.options = list(self.series)
        if self.market.value is None and self.series:
            self.market.value = next(iter(self.series))
        with session_scope(self.engine) as session:
            bots = [(f"{b.id}: {b.name}", b.id) for b in list_bots(session=session)]
            saved = session.execute(sa.select(Backtest.id, Backtest.name).order_by(Backtest.id))
            self.saved.options = [(f"{i}: {n}", i) for i, n in saved]
        self.bot.options = [("none: use the fields here", None), *bots]

    def _show_params(self) -> None:
        strategy = get_strategy(self.strategy.value)
        self.params = {
            p.name: w.BoundedIntText(
                description=p.name,
                value=p.default,
                min=p.low,
                max=p.high,
                style={"description_width": "initial"},
                layout=w.Layout(width="180px"),
            )
            for p in strategy.params
        }
        self.ranges = {
            p.name: w.Text(
                description=p.name,
                placeholder=f"{p.low}:{p.high}",
                style={"description_width": "initial"},
                layout=w.Layout(width="200px"),
            )
            for p in strategy.params
        }
        self.param_box.children = list(self.params.values())
        self.range_box.children = list(self.ranges.values())

    def config(self) -> Any:
        """The bot config to backtest: the chosen bot, or the fields of this form."""
        if self.bot.value is not None:
            with session_scope(self.engine) as session:
                return get_bot(session=session, bot_id=self.bot.value)
        if self.market.value is None:
            raise ValidationError({"candles": "no candles stored; see `workbench data sample`"})
        exchange, symbol, timeframe = self.series[self.market.value]
        fields = {name: control.value for name, control in self.params.items()}
        fields |= {name: control.value for name, control in self.rules.items()}
        return validate(
            BotConfigCreate,
            {
                "name": "explorer",
                "exchange": exchange,
                "symbol": symbol,
                "timeframe": timeframe,
                "strategy": self.strategy.value,
                **fields,
            },
        )

    def candles(self, config: Any) -> pd.DataFrame:
        return read_candles(
            engine=self.engine,
            exchange=config.exchange,
            symbol=config.symbol,
            timeframe=config.timeframe,
        )

    def run_backtest(self) -> BacktestResult | None:
        """Backtest and show stats, equity and drawdown, and the trades."""
        try:
            config = self.config()
            result = backtest_config(self.candles(config), config, fee=self.fee.value)
        except WorkbenchError as e:
            self.message.error(e)
            return None
        self.result, self.result_config = result, config
        stats = result.stats()
        self.stats.value = frame_html(pd.DataFrame([{k: stats[k] for k in HEADLINE}]))
        show_figure(self.plots, result.figure())
        self.trades.value = frame_html(result.trades.tail(50))
        self.message.ok(
            f"{config.strategy} {result.params}: {stats['total_trades']} trades, "
            f"return {stats['total_return']:+.2%}"
        )
        return result

    def sweep(self) -> pd.DataFrame | None:
        """Sweep the given parameter ranges; show the best sets and a heatmap."""
        try:
            config = self.config()
            grid = dict(
                parse_range(f"{name}={box.value or box.placeholder}")
                for name, box in self.ranges.items()
            )
            rules = RuleParams.from_config(config, fee=self.fee.value)
            table = run_sweep(
                self.candles(config),
                strategy=config.strategy,
                grid=grid,
                rules=rules,
                progress=False,
            )
        except WorkbenchError as e:
            self.message.error(e)
            return None
        self.sweep_table = table
        self.stats.value = frame_html(table.head(10))
        names = list(grid)
        if len(names) >= 2:
            show_figure(self.plots, sweep_heatmap(table, names[0], names[1]))
        self.message.ok(f"swept {len(table)} parameter sets; best first")
        return table

    def save_result(self) -> int | None:
        """Save the last backtest under the given name."""
        if self.result is None:
            self.message.error("run a backtest first, then save it")
            return None
        if not self.name.value.strip():
            self.message.error("name: give the backtest a name to save it under")
            return None
        config = self.result_config
        with session_scope(self.engine) as session:
            row = save_backtest(
                session=session,
                result=self.result,
                owner_id=local_user(session=session).id,
                name=self.name.value.strip(),
                exchange=config.exchange,
                symbol=config.symbol,
                timeframe=config.timeframe,
                bot_id=self.bot.value,
            )
            saved_id = row.id
        self.refresh_choices()
        self.message.ok(f"saved as backtest {saved_id}")
        return saved_id

    def compare_saved(self) -> None:
        """Show the chosen saved backtests side by side."""
        ids = list(self.saved.value)
        if len(ids) < 2:
            self.message.error("choose two or more saved backtests to compare")
            return
        with session_scope(self.engine) as session:
            table = compare_backtests(session=session, ids=ids)
        self.comparison.value = table.to_html(border=0, na_rep="")
        self.message.ok(f"comparing {len(ids)} backtests")
