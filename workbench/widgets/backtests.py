"""The backtest explorer: pick candles and a strategy (or a bot), run, sweep, save, compare.

It drives the same functions as ``workbench backtest`` and ``workbench sweep``
(``workbench.backtest.configs``), so a run here equals that command with the same inputs.
Three parts share one inputs form (``RunInputs``): ``BacktestPanel``, ``SweepPanel`` and
``ComparePanel``; the explorer puts them together and names their controls for a test.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import pandas as pd
from sqlalchemy import Engine

from workbench.backtest import BacktestResult
from workbench.widgets.backtest_panel import BacktestPanel
from workbench.widgets.common import engine_or_default
from workbench.widgets.compare_panel import ComparePanel
from workbench.widgets.run_inputs import RunInputs
from workbench.widgets.sweep_panel import SweepPanel


class BacktestExplorer(w.VBox):
    """Run a backtest or a sweep over stored candles, look at it, save it, compare saved ones."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.setup = RunInputs(engine_or_default(engine))
        self.backtest = BacktestPanel(self.setup, on_saved=self.refresh_choices)
        self.sweeper = SweepPanel(self.setup, on_saved=self.refresh_choices)
        self.comparer = ComparePanel(self.setup)
        # The controls a person (or a test) uses, by name.
        setup, run, sweep, compare = self.setup, self.backtest, self.sweeper, self.comparer
        self.message = setup.message
        self.market, self.start, self.end, self.bot = (
            setup.market,
            setup.start,
            setup.end,
            setup.bot,
        )
        self.strategy, self.rules, self.fee = setup.strategy, setup.rules, setup.fee
        self.slippage, self.capital = setup.slippage, setup.capital
        self.run, self.name, self.save = run.run, run.name, run.save
        self.stats, self.plots, self.trades = run.stats, run.plots, run.trades
        self.run_sweep, self.save_top, self.save_sweep = (
            sweep.run_sweep,
            sweep.save_top,
            sweep.save_sweep,
        )
        self.sweep_view, self.heatmap = sweep.sweep_view, sweep.heatmap
        self.saved, self.compare, self.comparison = (
            compare.saved,
            compare.compare,
            compare.comparison,
        )

        self.strategy.observe(lambda _: self._show_params(), "value")
        setup.reload.on_click(lambda _: self.refresh_choices())
        self.tabs = w.Tab([run, sweep, compare], titles=["Backtest", "Sweep", "Compare saved"])
        super().__init__([setup, self.tabs])
        self.refresh_choices()
        self._show_params()

    @property
    def params(self) -> dict[str, Any]:
        return self.setup.params

    @property
    def ranges(self) -> dict[str, w.Text]:
        return self.sweeper.ranges

    @property
    def result(self) -> BacktestResult | None:
        return self.backtest.result

    @property
    def stats_shown(self) -> dict[str, Any]:
        return self.backtest.stats_shown

    @property
    def sweep_table(self) -> pd.DataFrame | None:
        return self.sweeper.sweep_table

    def refresh_choices(self) -> None:
        """Fill the candle, bot and saved-backtest pickers from the database."""
        self.setup.refresh_choices()
        self.comparer.refresh()

    def run_backtest(self) -> BacktestResult | None:
        return self.backtest.run_backtest()

    def _show_params(self) -> None:
        self.sweeper.show_ranges(self.setup.show_params())
