"""The trade browser, clicked through on each database kind: what it shows is what the
database holds under the chosen filters."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.bots.test_trades_query import chosen, seed_trades
from workbench.bots.trades import query_trades
from workbench.widgets.trades import TradeBrowser


def plotted(browser: TradeBrowser) -> str:
    [output] = browser.plots.outputs
    return str(output["data"]["application/vnd.plotly.v1+json"])


def test_filters_and_totals_match_the_trades_they_choose(engine: Engine) -> None:
    bots, frame = seed_trades(engine)
    browser = TradeBrowser(engine, page_size=25)
    assert "<b>240</b> trades" in browser.totals.value
    assert browser.page_label.value == "page 1 of 10"
    assert list(browser.rows["id"]) == list(chosen(frame, {})["id"][:25])  # newest first
    assert browser.prev_page.disabled and not browser.next_page.disabled
    assert list(browser.symbol.options) == ["any", "BTC/USDT", "ETH/USDT"]
    assert "cumulative realized PnL" in plotted(browser)

    browser.bot.value = bots[1]
    browser.symbol.value = "BTC/USDT"
    browser.side.value = "sell"
    browser.start.value = date(2024, 3, 3)
    browser.end.value = date(2024, 3, 6)  # inclusive: up to the end of that day
    browser.apply.click()
    filters = {
        "bot_id": bots[1],
        "symbol": "BTC/USDT",
        "side": "sell",
        "start": datetime(2024, 3, 3, tzinfo=UTC),
        "end": datetime(2024, 3, 7, tzinfo=UTC),
    }
    expected = chosen(frame, filters)
    assert browser.applied == filters
    totals = browser.totals_shown
    assert totals["count"] == len(expected) and 0 < len(expected) < 25
    assert float(totals["volume"]) == pytest.approx(expected["quote_quantity_filled"].sum())
    assert float(totals["fees"]) == pytest.approx(expected["commission_amount"].sum())
    assert float(totals["realized_pnl"]) == pytest.approx(expected["realized_pnl"].sum())
    assert f"<b>{len(expected)}</b> trades" in browser.totals.value
    assert list(browser.rows["id"]) == list(expected["id"])
    assert browser.page_label.value == "page 1 of 1" and browser.next_page.disabled
    assert browser.table.value.count("<tr") == len(expected) + 1  # a header and each trade
    assert "<td>0.0375</td>" in browser.table.value  # money without Numeric's padding
    assert "equity" in plotted(browser)  # one bot: its capital plus realized PnL


def test_paging_walks_every_trade_once_both_ways(engine: Engine, session: Session) -> None:
    _bots, frame = seed_trades(engine, count=110)
    browser = TradeBrowser(engine, page_size=25)
    pages = [list(browser.rows["id"])]
    while not browser.next_page.disabled:
        browser.next_page.click()
        pages.append(list(browser.rows["id"]))
    assert browser.page_label.value == "page 5 of 5" and [len(p) for p in pages][-1] == 10
    assert list(itertools.chain(*pages)) == list(
        chosen(frame, {})["id"]
    )  # every trade once, in order
    for n, page in enumerate(pages):
        by_number = query_trades(session=session, page=n, page_size=25)
        assert page == list(by_number["id"])
    browser.next_page.click()  # past the end stays on the last page
    assert browser.page == 4 and list(browser.rows["id"]) == pages[4]
    for n in range(3, -1, -1):
        browser.prev_page.click()
        assert browser.page == n and list(browser.rows["id"]) == pages[n]
    assert browser.prev_page.disabled and browser.first_page.disabled
    browser.last_page.click()
    assert list(browser.rows["id"]) == pages[4] and browser.last_page.disabled
    browser.first_page.click()
    assert list(browser.rows["id"]) == pages[0]

    browser.next_page.click()
    browser.side.value = "buy"  # a new filter starts again at its newest page
    browser.apply.click()
    assert browser.page == 0
    assert list(browser.rows["id"]) == list(chosen(frame, {"side": "buy"})["id"][:25])


def test_bad_dates_show_an_error_and_keep_what_was_shown(engine: Engine) -> None:
    seed_trades(engine, count=30)
    browser = TradeBrowser(engine)
    shown = (browser.table.value, browser.totals.value, browser.applied)
    browser.start.value = date(2024, 3, 5)
    browser.end.value = date(2024, 3, 1)
    browser.apply.click()
    assert "end: must be after start" in browser.message.text
    assert (browser.table.value, browser.totals.value, browser.applied) == shown
    browser.end.value = date(2024, 3, 5)  # one whole day is fine
    browser.apply.click()
    assert browser.message.text == "" and browser.totals_shown["count"] == 0


def test_an_empty_database_shows_nothing_plainly(engine: Engine) -> None:
    browser = TradeBrowser(engine)
    assert "nothing to show" in browser.table.value
    assert browser.totals_shown["count"] == 0 and not browser.plots.outputs
    assert browser.page_label.value == "page 1 of 1"
    assert browser.next_page.disabled and browser.prev_page.disabled
