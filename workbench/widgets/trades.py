"""The trade browser: filters, a page of trades, totals, the equity curve and PnL per day."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ipywidgets as w
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.bots.trades import (
    MONEY,
    Cursor,
    TradeFilters,
    cursor_of,
    daily_totals,
    pnl_figure,
    pnl_per_day,
    query_trades,
    trade_symbols,
)
from workbench.db import session_scope
from workbench.db.models import BotConfig
from workbench.errors import WorkbenchError
from workbench.timeutil import day_start
from workbench.widgets.common import Message, engine_or_default, frame_html, show_figure

ANY = "any"


class TradeBrowser(w.VBox):
    """Filter by bot, symbol, side and dates; page through trades (by key, so any page is
    fast); totals, equity curve and PnL per day of everything the filters match."""

    def __init__(self, engine: Engine | None = None, *, page_size: int = 50) -> None:
        self.engine = engine_or_default(engine)
        self.page_size = page_size
        self.page = 0
        self.pages = 1
        self.applied: TradeFilters = {}
        self.totals_shown: dict[str, Any] = {"count": 0}
        self.capital: dict[int, Decimal] = {}
        self.rows = pd.DataFrame()
        style = {"description_width": "initial"}
        self.bot = w.Dropdown(description="bot", style=style)
        self.symbol = w.Dropdown(description="symbol", style=style)
        self.side = w.Dropdown(description="side", options=[ANY, "buy", "sell"], style=style)
        self.start = w.DatePicker(description="from", style=style)
        self.end = w.DatePicker(description="until (incl.)", style=style)
        self.apply = w.Button(description="Apply", button_style="primary", icon="filter")
        self.first_page = w.Button(description="Newest", icon="angle-double-left")
        self.prev_page = w.Button(description="Newer", icon="arrow-left")
        self.next_page = w.Button(description="Older", icon="arrow-right")
        self.last_page = w.Button(description="Oldest", icon="angle-double-right")
        self.page_label = w.HTML()
        self.totals = w.HTML()
        self.table = w.HTML()
        self.plots = w.Output()
        self.message = Message()
        self.apply.on_click(lambda _: self.apply_filters())
        self.first_page.on_click(lambda _: self.show(0))
        self.prev_page.on_click(lambda _: self.show(self.page - 1))
        self.next_page.on_click(lambda _: self.show(self.page + 1))
        self.last_page.on_click(lambda _: self.show(self.pages - 1))
        pager = [self.first_page, self.prev_page, self.page_label, self.next_page, self.last_page]
        super().__init__(
            [
                w.HBox([self.bot, self.symbol, self.side]),
                w.HBox([self.start, self.end, self.apply]),
                self.message,
                self.totals,
                w.HBox(pager),
                self.table,
                self.plots,
            ]
        )
        self.refresh_choices()
        self.apply_filters()

    def refresh_choices(self) -> None:
        """Fill the bot and symbol pickers from the database."""
        with session_scope(self.engine) as session:
            bots = session.execute(
                sa.select(BotConfig.id, BotConfig.name, BotConfig.initial_capital).order_by(
                    BotConfig.id
                )
            ).all()
            symbols = trade_symbols(session=session)
        self.capital = {i: capital for i, _, capital in bots}
        self.bot.options = [(ANY, None), *((f"{i}: {n}", i) for i, n, _ in bots)]
        self.symbol.options = [ANY, *symbols]

    def filters(self) -> TradeFilters:
        """The chosen filters as :func:`workbench.bots.trades.query_trades` takes them."""
        return {
            "bot_id": self.bot.value,
            "symbol": None if self.symbol.value == ANY else self.symbol.value,
            "side": None if self.side.value == ANY else self.side.value,
            "start": day_start(self.start.value),
            "end": day_start(self.end.value, 1),
        }

    def apply_filters(self) -> None:
        """Totals and plots of the chosen filters (one grouped query), then the newest page."""
        try:
            filters = self.filters()
            with session_scope(self.engine) as session:
                daily = pnl_per_day(session=session, **filters)
        except WorkbenchError as e:
            self.message.error(e)
            return
        totals = daily_totals(daily)
        self.applied, self.totals_shown = filters, totals
        self.page, self.rows = 0, pd.DataFrame()
        self.pages = max(1, -(-totals["count"] // self.page_size))
        self.totals.value = (
            f"<b>{totals['count']:,}</b> trades · volume <b>{_money(totals['volume'])}</b>"
            f" · fees <b>{_money(totals['fees'], digits=4)}</b>"
            f" · realized PnL <b>{_money(totals['realized_pnl'], sign='+')}</b>"
        )
        if daily.empty:
            self.plots.outputs = ()
        else:
            capital = self.capital.get(filters["bot_id"]) if filters["bot_id"] else None
            show_figure(self.plots, pnl_figure(daily, initial_capital=capital))
        self.show(0)

    def show(self, page: int) -> None:
        """Show page ``page`` (0 = newest) of the applied filters' trades: a neighbouring
        page or either end by key, any other by number."""
        page = min(max(page, 0), self.pages - 1)
        shown = self.rows if len(self.rows) else None
        options: dict[str, Any] = {"page": page}
        if shown is not None and page == self.page + 1:
            options = {"before": _cursor(shown, -1)}
        elif shown is not None and page == self.page - 1:
            options = {"after": _cursor(shown, 0)}
        elif page == self.pages - 1 and page > 0:
            last = self.totals_shown["count"] - page * self.page_size
            options = {"from_oldest": True, "page_size": last}
        options = {"page_size": self.page_size, **options}
        try:
            with session_scope(self.engine) as session:
                rows = query_trades(session=session, **options, **self.applied)
        except WorkbenchError as e:
            self.message.error(e)
            return
        self.message.clear()
        self.page, self.rows = page, rows
        self.page_label.value = f"page {page + 1:,} of {self.pages:,}"
        self.first_page.disabled = self.prev_page.disabled = page == 0
        self.last_page.disabled = self.next_page.disabled = page >= self.pages - 1
        shown_rows = rows.drop(columns=["client_order_id"])
        for column in MONEY:
            shown_rows[column] = shown_rows[column].map(_plain)
        self.table.value = frame_html(shown_rows)


def _cursor(rows: pd.DataFrame, position: int) -> Cursor:
    return cursor_of(rows.iloc[position])


def _plain(value: Decimal | None) -> str:
    """A Decimal without its trailing zeros (Numeric(28, 10) pads them)."""
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _money(value: Decimal, *, digits: int = 2, sign: str = "") -> str:
    return f"{float(value):{sign},.{digits}f}"
