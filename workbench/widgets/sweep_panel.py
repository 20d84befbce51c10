"""The explorer's sweep part: ranges per parameter over the shared inputs, the best sets
and a heatmap, the best sets saved as full backtests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go

from workbench.backtest import run_sweep, sweep_heatmap
from workbench.backtest.configs import save_sweep_best
from workbench.db import session_scope
from workbench.errors import ValidationError
from workbench.strategies.sweep import parse_range
from workbench.widgets.common import frame_html, show_figure
from workbench.widgets.fields import range_hint
from workbench.widgets.run_inputs import Inputs, RunInputs

MAX_SWEEP_SETS = 50_000


class SweepPanel(w.VBox):
    """Sweep the chosen strategy's parameters; ``on_saved`` runs after a save."""

    def __init__(self, inputs: RunInputs, *, on_saved: Callable[[], None]) -> None:
        self.inputs = inputs
        self.on_saved = on_saved
        self.sweep_table: pd.DataFrame | None = None
        self.sweep_inputs: Inputs | None = None
        self.ranges: dict[str, w.Text] = {}
        self.range_box = w.HBox()
        self.run_sweep = w.Button(description="Run sweep", button_style="primary", icon="th")
        self.save_top = w.BoundedIntText(
            description="save best",
            value=3,
            min=1,
            max=50,
            style={"description_width": "initial"},
            layout=w.Layout(width="190px"),
        )
        self.save_sweep = w.Button(description="Save best sets", icon="save")
        self.sweep_view = w.HTML()
        self.heatmap = w.Output()
        self.run_sweep.on_click(lambda _: self.sweep())
        self.save_sweep.on_click(lambda _: self.save_best())
        super().__init__(
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
        )

    def show_ranges(self, params: list[Any]) -> None:
        """One range field per declared parameter, with a hint of its range."""
        self.ranges = {
            p.name: w.Text(
                description=p.name,
                placeholder=range_hint(p),
                style={"description_width": "initial"},
                layout=w.Layout(width="200px"),
            )
            for p in params
        }
        self.range_box.children = list(self.ranges.values())

    def grid(self) -> dict[str, list[Any]]:
        """The sweep grid: each given range, else the parameter's value above."""
        grid = {}
        for name, box in self.ranges.items():
            text = box.value.strip()
            grid[name] = (
                parse_range(f"{name}={text}")[1] if text else [self.inputs.params[name].value]
            )
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

        def run() -> tuple[dict[str, list[Any]], Inputs, pd.DataFrame]:
            grid = self.grid()
            inputs = self.inputs.inputs()
            table = run_sweep(
                inputs.candles,
                strategy=inputs.config.strategy,
                grid=grid,
                rules=inputs.rules,
                progress=False,
            )
            return grid, inputs, table

        done = self.inputs.act(run)
        if done is None:
            self.sweep_view.value = ""
            self.heatmap.outputs = ()
            return None
        grid, inputs, table = done
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
        self.inputs.message.ok(
            f"swept {len(table):,} parameter sets; best "
            + " ".join(f"{n}={int(best[n])}" for n in grid)
            + f": return {best['total_return']:+.2%}"
        )
        return table

    def save_best(self) -> list[int]:
        """Save the best ``save_top`` sets of the last sweep as full backtests."""
        table, inputs = self.sweep_table, self.sweep_inputs
        if table is None or inputs is None:
            self.inputs.message.error("run a sweep first, then save its best sets")
            return []

        def save() -> list[int]:
            with session_scope(self.inputs.engine) as session:
                rows = save_sweep_best(
                    session=session,
                    table=table,
                    candles=inputs.candles,
                    config=inputs.config,
                    rules=inputs.rules,
                    top=self.save_top.value,
                )
                return [row.id for row in rows]

        ids = self.inputs.act(save)
        if ids is None:
            return []
        self.on_saved()
        self.inputs.message.ok(f"saved as backtests {', '.join(map(str, ids))}")
        return ids


def _sweep_line(table: pd.DataFrame, name: str) -> go.Figure:
    ordered = table.sort_values(name)
    fig = go.Figure(go.Scatter(x=ordered[name], y=ordered["total_return"], mode="lines+markers"))
    fig.update_layout(title=f"total_return by {name}", xaxis_title=name, yaxis_tickformat=".0%")
    return fig
