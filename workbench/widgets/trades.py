"""The trade browser: filters, a page of trades, totals, and PnL plots."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import ipywidgets as w
import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.bots.trades import pnl_figure, pnl_per_day, query_trades, trade_totals
from workbench.db import session_scope
from workbench.db.models import BotConfig, Trade
from workbench.errors import WorkbenchError
from workbench.widgets.common import Message, engine_or_default, frame_html, show_figure

ANY = "any"


class TradeBrowser(w.VBox):
    """Filter by bot, symbol, side and dates; page through trades; totals and PnL plots."""

    def __init__(self, engine: Engine | None = None, *, page_size: int = 50) -> None:
        self.engine = engine_or_default(engine)
        self.page_size = page_size
        self.page = 0
        style = {"description_width": "initial"}
        self.bot = w.Dropdown(description="bot", style=style)
        self.symbol = w.Dropdown(description="symbol", style=style)
        self.side = w.Dropdown(description="side", options=[ANY, "buy", "sell"], style=style)
        self.start = w.DatePicker(description="from", style=style)
        self.end = w.DatePicker(description="until (incl.)", style=style)
        self.apply = w.Button(description="Apply", button_style="primary", icon="filter")
        self.prev_page = w.Button(description="Newer", icon="arrow-left")
        self.next_page = w.Button(description="Older", icon="arrow-right")
        self.page_label = w.HTML()
        self.totals = w.HTML()
        self.table = w.HTML()
        self.plots = w.Output()
        self.message = Message()
        self.apply.on_click(lambda _: self.apply_filters())
        self.prev_page.on_click(lambda _: self.show(page=self.page - 1))
        self.next_page.on_click(lambda _: self.show(page=self.page + 1))
        filters = w.HBox([self.bot, self.symbol, self.side])
        dates = w.HBox([self.start, self.end, self.apply])
        pager = w.HBox([self.prev_page, self.page_label, self.next_page])
        super().__init__([filters, dates, self.message, self.totals, pager, self.table, self.plots])
        self.refresh_choices()
        self.apply_filters()

    def refresh_choices(self) -> None:
        """Fill the bot and symbol pickers from the database."""
        with session_scope(self.engine) as session:
            bots = session.execute(sa.select(BotConfig.id, BotConfig.name).order_by(BotConfig.id))
            self.bot.options = [(ANY, None), *((f"{i}: {n}", i) for i, n in bots)]
            symbols = session.scalars(sa.select(Trade.symbol).distinct().order_by(Trade.symbol))
            self.symbol.options = [ANY, *symbols]

    def filters(self) -> dict[str, Any]:
        """The chosen filters as :func:`query_trades` takes them."""
        return {
            "bot_id": self.bot.value,
            "symbol": None if self.symbol.value == ANY else self.symbol.value,
            "side": None if self.side.value == ANY else self.side.value,
            "start": _day_start(self.start.value, 0),
            "end": _day_start(self.end.value, 1),
        }

    def apply_filters(self) -> None:
        """Totals and PnL plots of the chosen filters, then their newest page."""
        try:
            filters = self.filters()
            with session_scope(self.engine) as session:
                totals = trade_totals(session=session, **filters)
                daily = pnl_per_day(session=session, **filters)
        except WorkbenchError as e:
            self.message.error(e)
            return
        self.applied, self.totals_shown = filters, totals
        self.totals.value = (
            f"<b>{totals['count']:,}</b> trades · volume <b>{float(totals['volume']):,.2f}</b>"
            f" · fees <b>{float(totals['fees']):,.4f}</b>"
            f" · realized PnL <b>{float(totals['realized_pnl']):+,.2f}</b>"
        )
        if daily.empty:
            self.plots.outputs = ()
        else:
            show_figure(self.plots, pnl_figure(daily))
        self.show(page=0)

    def show(self, *, page: int) -> None:
        """Show page ``page`` (0 = newest) of the applied filters' trades (one query)."""
        pages = max(1, -(-self.totals_shown["count"] // self.page_size))
        self.page = min(max(page, 0), pages - 1)
        try:
            with session_scope(self.engine) as session:
                rows = query_trades(
                    session=session, page=self.page, page_size=self.page_size, **self.applied
                )
        except WorkbenchError as e:
            self.message.error(e)
            return
        self.message.clear()
        self.rows = rows
        self.page_label.value = f"page {self.page + 1} of {pages}"
        self.prev_page.disabled = self.page == 0
        self.next_page.disabled = self.page >= pages - 1
        self.table.value = frame_html(rows.drop(columns=["client_order_id"]))


def _day_start(day: date | None, offset: int) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time(), tzinfo=UTC) + timedelta(days=offset)
