"""Pieces every widget shares: a message line, DataFrames as HTML tables, plots in outputs."""

from __future__ import annotations

import html
import re
from typing import Any

import ipywidgets as w
import pandas as pd
from sqlalchemy import Engine

from workbench.db import default_engine


def engine_or_default(engine: Engine | None) -> Engine:
    return engine if engine is not None else default_engine()


class Message(w.HTML):
    """One line under a form: what just happened, or what went wrong and how to fix it."""

    def ok(self, text: str) -> None:
        self.value = f"<span style='color:#1a7f37'>{html.escape(text)}</span>"
        self.kind = "ok"

    def error(self, error: Exception | str) -> None:
        text = str(error)
        self.value = f"<span style='color:#cf222e'>{html.escape(text)}</span>"
        self.kind = "error"

    def clear(self) -> None:
        self.value = ""
        self.kind = ""

    @property
    def text(self) -> str:
        """The message without its markup (what a test or a reader checks)."""
        return plain_text(self.value)


def plain_text(markup: str) -> str:
    """``markup`` without its tags and entities."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def frame_html(frame: pd.DataFrame, *, max_rows: int = 200) -> str:
    """A DataFrame as a compact HTML table (escaped)."""
    if frame.empty:
        return "<i>nothing to show</i>"
    return frame.head(max_rows).to_html(
        index=False, border=0, classes="wb-table", na_rep="", float_format=lambda v: f"{v:,.6g}"
    )


def show_figure(output: w.Output, figure: Any) -> None:
    """Replace what ``output`` shows with ``figure`` (a plotly figure). The figure goes into
    the widget's own outputs, so it shows in any kernel and a test can read it back."""
    import plotly.io as pio

    bundle = pio.renderers["plotly_mimetype"].to_mimebundle(figure.to_dict())
    output.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)
