"""Trade queries: filters, pages (by number and by key), totals and PnL per day, all in SQL,
checked against the same computation in pandas on each database kind."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workbench.accounts import local_user
from workbench.bots import create_bot
from workbench.bots.trades import (
    cursor_of,
    daily_totals,
    equity_curve,
    pnl_per_day,
    query_trades,
    trade_symbols,
    trade_totals,
)
from workbench.db import session_scope
from workbench.db.models import Trade
from workbench.errors import ValidationError

START = datetime(2024, 3, 1, tzinfo=UTC)
MONEY = ("quote_quantity_filled", "commission_amount", "realized_pnl")


def seed_trades(engine: Engine, count: int = 240) -> tuple[list[int], pd.DataFrame]:
    """Trades of two bots and of a person (no bot) over ten days: both sides, two symbols,
    three trades per timestamp (so order and pages must break ties by id), a fill one
    second before each midnight. Returns the bot ids and the rows as a frame."""
    with session_scope(engine) as session:
        owner = local_user(session=session).id
        bots = [
            create_bot(session=session, user_id=owner, name=f"b{i}", symbol="BTC/USDT").id
            for i in range(2)
        ]
    rows = []
    for i in range(count):
        sell = i % 2 == 1
        at = START + timedelta(hours=i // 3)
        if i % 24 == 23:
            at = at.replace(hour=23, minute=59, second=59)
        rows.append(
            {
                "bot_config_id": [bots[0], bots[1], None][i % 5 % 3],
                "user_id": owner,
                "exchange": "paper",
                "exchange_order_id": f"o{i}",
                "client_order_id": f"c{i}",
                "symbol": "BTC/USDT" if i % 3 else "ETH/USDT",
                "side": "sell" if sell else "buy",
                "order_type": "market",
                "price": Decimal(100 + i),
                "quantity_filled": Decimal("0.5"),
                "quote_quantity_filled": Decimal(100 + i) / 2,
                "commission_amount": Decimal("0.0375"),
                "realized_pnl": Decimal(i % 7 - 3) * Decimal("1.25") if sell else None,
                "timestamp": at,
            }
        )
    with engine.begin() as conn:
        conn.execute(sa.insert(Trade), rows)
    frame = pd.DataFrame(rows)
    frame["id"] = range(1, count + 1)  # inserted in order on a fresh table
    for column in MONEY:
        frame[column] = frame[column].astype(float)
    return bots, frame


def chosen(frame: pd.DataFrame, filters: dict[str, Any]) -> pd.DataFrame:
    """``filters`` applied in pandas, newest first (the order the queries promise)."""
    keep = pd.Series(True, index=frame.index)
    if filters.get("bot_id") is not None:
        keep &= frame["bot_config_id"] == filters["bot_id"]
    for column in ("symbol", "side"):
        if filters.get(column):
            keep &= frame[column] == filters[column]
    if filters.get("start"):
        keep &= frame["timestamp"] >= filters["start"]
    if filters.get("end"):
        keep &= frame["timestamp"] < filters["end"]
    return frame[keep].sort_values(["timestamp", "id"], ascending=False)


FILTERS = {
    "everything": {},
    "bot": {"bot": 1},
    "symbol": {"symbol": "ETH/USDT"},
    "side": {"side": "sell"},
    "window": {"start": START + timedelta(days=2), "end": START + timedelta(days=5)},
    "all": {
        "bot": 0,
        "symbol": "BTC/USDT",
        "side": "sell",
        "start": START + timedelta(days=1, hours=5),
        "end": START + timedelta(days=7),
    },
    "nothing": {"symbol": "XRP/USDT"},
}


@pytest.mark.parametrize("case", list(FILTERS))
def test_filters_rows_totals_and_days_match_pandas(
    engine: Engine, session: Session, case: str
) -> None:
    bots, frame = seed_trades(engine)
    filters = dict(FILTERS[case])
    if "bot" in filters:
        filters["bot_id"] = bots[filters.pop("bot")]
    expected = chosen(frame, filters)
    assert (len(expected) == 0) == (case == "nothing")
    assert (len(expected) == len(frame)) == (case == "everything")

    rows = query_trades(session=session, page_size=1000, **filters)
    assert list(rows["id"]) == list(expected["id"])
    assert rows["timestamp"].dt.tz is not None

    totals = trade_totals(session=session, **filters)
    assert totals["count"] == len(expected)
    for key, column in (("volume", "quote_quantity_filled"), ("fees", "commission_amount")):
        assert isinstance(totals[key], Decimal)
        assert float(totals[key]) == pytest.approx(expected[column].sum())
    assert float(totals["realized_pnl"]) == pytest.approx(expected["realized_pnl"].sum())

    daily = pnl_per_day(session=session, **filters)
    by_day = expected.groupby(expected["timestamp"].dt.floor("D").dt.tz_localize(None))
    assert list(daily["day"]) == list(by_day.size().index)
    assert list(daily["trades"]) == list(by_day.size())
    assert [float(v) for v in daily["realized_pnl"]] == pytest.approx(
        list(by_day["realized_pnl"].sum())
    )
    assert [float(v) for v in daily["cumulative_pnl"]] == pytest.approx(
        list(by_day["realized_pnl"].sum().cumsum())
    )
    assert daily_totals(daily) == pytest.approx(totals)


def test_days_are_utc_days_whatever_the_session_time_zone(engine: Engine) -> None:
    _bots, frame = seed_trades(engine, count=96)
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(sa.text("SET TIME ZONE 'Asia/Tokyo'"))
        daily = pnl_per_day(session=session)
    # 23:59:59 UTC is still that UTC day (in Tokyo it is 08:59 the next morning)
    assert list(frame.groupby(frame["timestamp"].dt.floor("D")).size()) == [72, 24]
    assert list(daily["trades"]) == [72, 24]


def test_pages_by_number_and_by_key_walk_the_same_rows(engine: Engine, session: Session) -> None:
    _bots, frame = seed_trades(engine, count=100)
    size, filters = 7, {"side": "buy"}
    expected = list(chosen(frame, filters)["id"])  # 50 rows: 7 full pages and 1 of 1
    pages = [
        list(query_trades(session=session, page=n, page_size=size, **filters)["id"])
        for n in range(8)
    ]
    assert [len(p) for p in pages] == [7] * 7 + [1]
    assert list(itertools.chain(*pages)) == expected
    assert query_trades(session=session, page=8, page_size=size, **filters).empty

    page = query_trades(session=session, page_size=size, **filters)
    for n in range(1, 8):  # older, by key
        page = query_trades(
            session=session, before=cursor_of(page.iloc[-1]), page_size=size, **filters
        )
        assert list(page["id"]) == pages[n]
    assert query_trades(
        session=session, before=cursor_of(page.iloc[-1]), page_size=size, **filters
    ).empty
    for n in range(6, -1, -1):  # newer, by key
        page = query_trades(
            session=session, after=cursor_of(page.iloc[0]), page_size=size, **filters
        )
        assert list(page["id"]) == pages[n]
    oldest = query_trades(session=session, from_oldest=True, page_size=1, **filters)
    assert list(oldest["id"]) == pages[-1]
    second = query_trades(session=session, from_oldest=True, page=1, page_size=7, **filters)
    assert list(second["id"]) == expected[-14:-7]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"side": "hold"}, "side"),
        ({"start": START, "end": START}, "end"),
        ({"start": START, "end": START - timedelta(days=1)}, "end"),
        ({"start": datetime(2024, 3, 1)}, "start"),
        ({"page": -1}, "page"),
        ({"page_size": 0}, "page"),
        ({"page_size": 10_001}, "page"),
        ({"page": 2, "before": (START, 5)}, "page"),
        ({"before": (START, 5), "after": (START, 1)}, "page"),
    ],
)
def test_bad_queries_are_rejected_by_field(
    session: Session, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        query_trades(session=session, **options)
    assert field in raised.value.errors


def test_symbols_equity_and_an_empty_table(engine: Engine, session: Session) -> None:
    assert trade_symbols(session=session) == []
    assert trade_totals(session=session) == {
        "count": 0,
        "volume": 0,
        "fees": 0,
        "realized_pnl": 0,
    }
    empty = pnl_per_day(session=session)
    assert empty.empty and equity_curve(empty).empty

    bots, frame = seed_trades(engine, count=60)
    assert trade_symbols(session=session) == ["BTC/USDT", "ETH/USDT"]
    daily = pnl_per_day(session=session, bot_id=bots[0])
    equity = equity_curve(daily, initial_capital=Decimal(1000))
    pnl = chosen(frame, {"bot_id": bots[0]})
    by_day = pnl.groupby(pnl["timestamp"].dt.floor("D"))["realized_pnl"].sum().cumsum()
    assert [float(v) for v in equity] == pytest.approx(list(1000 + by_day))
    assert all(isinstance(v, Decimal) for v in equity)
