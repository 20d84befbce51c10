"""The explorer's compare part: saved backtests side by side."""

from __future__ import annotations

import ipywidgets as w
import pandas as pd
import sqlalchemy as sa

from workbench.backtest import compare_backtests
from workbench.db import session_scope
from workbench.db.models import Backtest
from workbench.widgets.run_inputs import RunInputs


class ComparePanel(w.VBox):
    """Pick two or more saved backtests and compare them."""

    def __init__(self, inputs: RunInputs) -> None:
        self.inputs = inputs
        self.saved = w.SelectMultiple(
            description="saved", rows=8, style={"description_width": "initial"}
        )
        self.compare = w.Button(description="Compare", icon="columns")
        self.comparison = w.HTML()
        self.compare.on_click(lambda _: self.compare_saved())
        super().__init__([w.HBox([self.saved, self.compare]), self.comparison])

    def refresh(self) -> None:
        """List the saved backtests."""
        with session_scope(self.inputs.engine) as session:
            saved = session.execute(sa.select(Backtest.id, Backtest.name).order_by(Backtest.id))
            self.saved.options = [(f"{i}: {n}", i) for i, n in saved]

    def compare_saved(self) -> pd.DataFrame | None:
        """Show the chosen saved backtests side by side."""
        ids = list(self.saved.value)
        if len(ids) < 2:
            self.inputs.message.error("choose two or more saved backtests to compare")
            return None
        with session_scope(self.inputs.engine) as session:
            table = compare_backtests(session=session, ids=ids)
        self.comparison.value = table.to_html(border=0, na_rep="", classes="wb-table")
        self.inputs.message.ok(f"comparing {len(ids)} backtests")
        return table
