"""The explorer's backtest part: run on the shared inputs, show stats, plots and trades,
save under a name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w
import pandas as pd

from workbench.backtest import BacktestResult, backtest_config
from workbench.backtest.configs import save_config_backtest
from workbench.db import session_scope
from workbench.widgets.common import frame_html, show_figure
from workbench.widgets.run_inputs import Inputs, RunInputs

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


class BacktestPanel(w.VBox):
    """Run a backtest of ``inputs``; ``on_saved`` runs after a save (to refresh lists)."""

    def __init__(self, inputs: RunInputs, *, on_saved: Callable[[], None]) -> None:
        self.inputs = inputs
        self.on_saved = on_saved
        self.result: BacktestResult | None = None
        self.result_inputs: Inputs | None = None
        self.stats_shown: dict[str, Any] = {}
        self.run = w.Button(description="Run backtest", button_style="primary", icon="play")
        self.name = w.Text(
            description="name",
            placeholder="name to save under",
            style={"description_width": "initial"},
        )
        self.save = w.Button(description="Save", icon="save")
        self.stats = w.HTML()
        self.plots = w.Output()
        self.trades = w.HTML()
        self.run.on_click(lambda _: self.run_backtest())
        self.save.on_click(lambda _: self.save_result())
        super().__init__(
            [w.HBox([self.run, self.name, self.save]), self.stats, self.plots, self.trades]
        )

    def run_backtest(self) -> BacktestResult | None:
        """Backtest and show stats, equity and drawdown, and the trades."""
        self.result = self.result_inputs = None
        fee, slippage = self.inputs.fee.value, self.inputs.slippage.value

        def run() -> tuple[Inputs, BacktestResult]:
            inputs = self.inputs.inputs()
            return inputs, backtest_config(
                inputs.candles, inputs.config, fee=fee, slippage=slippage
            )

        done = self.inputs.act(run)
        if done is None:
            self.stats.value = self.trades.value = ""
            self.plots.outputs = ()
            return None
        inputs, result = done
        self.result, self.result_inputs = result, inputs
        stats = result.stats()
        self.stats_shown = {k: stats[k] for k in HEADLINE}
        self.stats.value = frame_html(pd.DataFrame([self.stats_shown]))
        show_figure(self.plots, result.figure())
        trades = result.trades.iloc[::-1]
        self.trades.value = f"<b>{len(trades)} trades</b>, newest first" + frame_html(trades)
        self.inputs.message.ok(
            f"{inputs.config.strategy} {result.params}: {stats['total_trades']} trades, "
            f"return {stats['total_return']:+.2%}, max drawdown {stats['max_drawdown']:.2%}"
        )
        return result

    def save_result(self) -> int | None:
        """Save the backtest shown under the given name."""
        result, inputs = self.result, self.result_inputs
        if result is None or inputs is None:
            self.inputs.message.error("run a backtest first, then save it")
            return None

        def save() -> int:
            with session_scope(self.inputs.engine) as session:
                row = save_config_backtest(
                    session=session,
                    result=result,
                    config=inputs.config,
                    name=self.name.value,
                    bot_id=inputs.bot_id,
                )
                return row.id

        saved_id = self.inputs.act(save)
        if saved_id is None:
            return None
        self.on_saved()
        self.inputs.message.ok(f"saved as backtest {saved_id}")
        return saved_id
