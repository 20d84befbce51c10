"""The trade browser and the trade queries behind it, on each database kind."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.accounts import local_user
from workbench.bots import create_bot
from workbench.db import session_scope
from workbench.db.models import Trade
from workbench.widgets.trades import TradeBrowser

START = datetime(2024, 3, 1, tzinfo=UTC)


def seed_trades(engine: Engine, count: int = 240) -> tuple[list[int], pd.DataFrame]:
    """Trades of two bots over ten days, both sides, two symbols; returns them as a frame."""
    with session_scope(engine) as session:
        owner = local_user(session=session).id
        bots = [
            create_bot(session=session, owner_id=owner, name=f"b{i}", symbol="BTC/USDT").id
            for i in range(2)
        ]
    rows = []
    for i in range(count):
        sell = i % 2 == 1
        rows.append(
            {
                "bot_id": bots[i % 4 // 2],
                "owner_id": owner,
                "exchange": "paper",
                "exchange_order_id": f"o{i}",
                "client_order_id": f"c{i}",
                "symbol": "BTC/USDT" if i % 3 else "ETH/USDT",
                "side": "sell" if sell else "buy",
                "order_type": "market",
                "price": Decimal(100 + i),
                "quantity": Decimal("0.5"),
                "quote_quantity": Decimal(100 + i) / 2,
                "commission": Decimal("0.05"),
                "realized_pnl": Decimal(i % 7 - 3) if sell else None,
                "executed_at": START + timedelta(hours=i),
            }
        )
    with engine.begin() as conn:
        conn.execute(sa.insert(Trade), rows)
    frame = pd.DataFrame(rows)
    for column in ("quote_quantity", "commission", "realized_pnl"):
        frame[column] = frame[column].astype(float)
    return bots, frame


def test_filters_pages_and_totals_come_from_the_database(engine: Engine) -> None:
    bots, frame = seed_trades(engine)
    browser = TradeBrowser(engine, page_size=25)
    assert "240" in browser.totals.value and browser.page_label.value == "page 1 of 10"
    assert browser.rows["executed_at"].is_monotonic_decreasing  # newest first
    assert browser.prev_page.disabled and not browser.next_page.disabled

    browser.bot.value = bots[1]
    browser.symbol.value = "BTC/USDT"
    browser.side.value = "sell"
    browser.start.value = date(2024, 3, 3)
    browser.end.value = date(2024, 3, 6)  # inclusive: up to the end of that day
    browser.apply.click()
    expected = frame[
        (frame["bot_id"] == bots[1])
        & (frame["symbol"] == "BTC/USDT")
        & (frame["side"] == "sell")
        & (frame["executed_at"] >= datetime(2024, 3, 3, tzinfo=UTC))
        & (frame["executed_at"] < datetime(2024, 3, 7, tzinfo=UTC))
    ]
    totals = browser.totals_shown
    assert totals["count"] == len(expected) > 0
    assert float(totals["volume"]) == pytest.approx(expected["quote_quantity"].sum())
    assert float(totals["fees"]) == pytest.approx(expected["commission"].sum())
    assert float(totals["realized_pnl"]) == pytest.approx(expected["realized_pnl"].sum())
    assert set(browser.rows["client_order_id"]) <= set(expected["client_order_id"])
    assert len(browser.rows) == min(25, len(expected))
    assert "application/vnd.plotly.v1+json" in browser.plots.outputs[0]["data"]  # PnL plotted


def test_paging_walks_every_trade_once(engine: Engine) -> None:
    _bots, frame = seed_trades(engine, count=60)
    browser = TradeBrowser(engine, page_size=25)
    seen = list(browser.rows["id"])
    browser.next_page.click()
    seen += list(browser.rows["id"])
    browser.next_page.click()
    seen += list(browser.rows["id"])
    assert browser.page_label.value == "page 3 of 3" and browser.next_page.disabled
    assert len(seen) == len(set(seen)) == len(frame)
    browser.next_page.click()  # past the end stays on the last page
    assert browser.page == 2
    browser.prev_page.click()
    assert browser.page == 1


def test_bad_dates_show_an_error_and_keep_the_table(engine: Engine) -> None:
    seed_trades(engine, count=10)
    browser = TradeBrowser(engine)
    before = browser.table.value
    browser.start.value = date(2024, 3, 5)
    browser.end.value = date(2024, 3, 1)
    browser.apply.click()
    assert "end: must be after start" in browser.message.text
    assert browser.table.value == before


def test_an_empty_database_shows_nothing_plainly(engine: Engine) -> None:
    browser = TradeBrowser(engine)
    assert "nothing to show" in browser.table.value
    assert browser.totals_shown["count"] == 0 and not browser.plots.outputs
