"""Reading trades: filtered, paged and totalled in the database (fast with millions).

Filters (keyword arguments of every function here, see :class:`TradeFilters`): ``bot_id``,
``symbol``, ``side`` and a time range ``start <= timestamp < end``. Pages come newest
first, by key (``before``/``after`` a row's :data:`Cursor`: equally fast at any depth) or
by number (``page``: OFFSET, fine near either end). Money stays Decimal; the figure
helpers convert to float for plotting only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict, TypeVar

import pandas as pd
import plotly.graph_objects as go
import sqlalchemy as sa
from sqlalchemy.orm import Session
from typing_extensions import Unpack

from workbench.db.models import Trade
from workbench.errors import ValidationError

Q = TypeVar("Q", bound=sa.Select)  # type: ignore[type-arg]
# A row's (timestamp, id): where a keyset page starts.
Cursor = tuple[datetime, int]
MAX_PAGE_SIZE = 10_000

COLUMNS = (
    "id",
    "bot_config_id",
    "timestamp",
    "exchange",
    "symbol",
    "side",
    "order_type",
    "price",
    "quantity_filled",
    "quote_quantity_filled",
    "commission_amount",
    "commission_asset",
    "realized_pnl",
    "client_order_id",
)
MONEY = ("price", "quantity_filled", "quote_quantity_filled", "commission_amount", "realized_pnl")


class TradeFilters(TypedDict, total=False):
    bot_id: int | None
    symbol: str | None
    side: str | None
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class TradeFilter:
    """Which trades: any of bot, symbol, side and a time range [start, end)."""

    bot_id: int | None = None
    symbol: str | None = None
    side: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        errors = {}
        if self.side not in (None, "buy", "sell"):
            errors["side"] = "must be buy or sell"
        for name in ("start", "end"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                errors[name] = "must be timezone-aware (UTC)"
        if not errors and self.start and self.end and self.end <= self.start:
            errors["end"] = "must be after start"
        if errors:
            raise ValidationError(errors, entity="trade filter")

    def where(self, query: Q) -> Q:
        conditions = [
            Trade.bot_config_id == self.bot_id if self.bot_id is not None else None,
            Trade.symbol == self.symbol if self.symbol else None,
            Trade.side == self.side if self.side else None,
            Trade.timestamp >= self.start if self.start else None,
            Trade.timestamp < self.end if self.end else None,
        ]
        return query.where(*(c for c in conditions if c is not None))


def cursor_of(row: Any) -> Cursor:
    """The cursor of a row of :func:`query_trades`' frame (``frame.iloc[i]``)."""
    timestamp = row["timestamp"]
    if isinstance(timestamp, pd.Timestamp):
        timestamp = timestamp.to_pydatetime()
    return timestamp, int(row["id"])


def query_trades(
    *,
    session: Session,
    page: int = 0,
    page_size: int = 50,
    before: Cursor | None = None,
    after: Cursor | None = None,
    from_oldest: bool = False,
    **filters: Unpack[TradeFilters],
) -> pd.DataFrame:
    """``page_size`` trades, newest first: page ``page`` counted from the newest (from the
    oldest if ``from_oldest``), or the trades just older than ``before`` / just newer than
    ``after`` (keyset paging, as fast deep down as at the top)."""
    if page < 0 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationError(
            {"page": f"page >= 0 and 1 <= page_size <= {MAX_PAGE_SIZE}"}, entity="trade query"
        )
    if (page > 0 or from_oldest) + (before is not None) + (after is not None) > 1:
        raise ValidationError(
            {"page": "give a page number, a before cursor or an after cursor, not two"},
            entity="trade query",
        )
    query = TradeFilter(**filters).where(sa.select(*(getattr(Trade, c) for c in COLUMNS)))
    oldest_first = after is not None or from_oldest
    if before is not None:
        at, key = before
        query = query.where(Trade.timestamp <= at, sa.or_(Trade.timestamp < at, Trade.id < key))
    if after is not None:
        at, key = after
        query = query.where(Trade.timestamp >= at, sa.or_(Trade.timestamp > at, Trade.id > key))
    if oldest_first:
        query = query.order_by(Trade.timestamp, Trade.id)
    else:
        query = query.order_by(Trade.timestamp.desc(), Trade.id.desc())
    rows = session.execute(query.offset(page * page_size).limit(page_size)).fetchall()
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.iloc[::-1].reset_index(drop=True) if oldest_first else frame


def trade_symbols(*, session: Session) -> list[str]:
    """Every symbol traded, sorted: one index probe per symbol, not a scan of all trades."""
    first = sa.select(sa.func.min(Trade.symbol).label("symbol")).cte("symbols", recursive=True)
    following = (
        sa.select(sa.func.min(Trade.symbol)).where(Trade.symbol > first.c.symbol).scalar_subquery()
    )
    symbols = first.union_all(sa.select(following).where(first.c.symbol.is_not(None)))
    query = sa.select(symbols.c.symbol).where(symbols.c.symbol.is_not(None))
    return sorted(session.scalars(query))


def trade_totals(*, session: Session, **filters: Unpack[TradeFilters]) -> dict[str, Any]:
    """Count, volume (quote quantity), fees (commission) and realized PnL of the trades."""
    query = TradeFilter(**filters).where(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(Trade.quote_quantity_filled), 0),
            sa.func.coalesce(sa.func.sum(Trade.commission_amount), 0),
            sa.func.coalesce(sa.func.sum(Trade.realized_pnl), 0),
        ).select_from(Trade)
    )
    count, volume, fees, pnl = session.execute(query).one()
    return {"count": count, "volume": volume, "fees": fees, "realized_pnl": pnl}


def pnl_per_day(*, session: Session, **filters: Unpack[TradeFilters]) -> pd.DataFrame:
    """Per UTC day (grouped in the database): trades, volume, fees, realized PnL, and the
    cumulative realized PnL. Money columns hold Decimals."""
    day = sa.func.date(Trade.timestamp)
    if session.get_bind().dialect.name == "postgresql":
        day = sa.func.date(sa.func.timezone("UTC", Trade.timestamp))
    query = TradeFilter(**filters).where(
        sa.select(
            day,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(Trade.quote_quantity_filled), 0),
            sa.func.coalesce(sa.func.sum(Trade.commission_amount), 0),
            sa.func.coalesce(sa.func.sum(Trade.realized_pnl), 0),
        )
        .select_from(Trade)
        .group_by(day)
        .order_by(day)
    )
    columns = ["day", "trades", "volume", "fees", "realized_pnl"]
    frame = pd.DataFrame(session.execute(query).fetchall(), columns=columns)
    frame["day"] = pd.to_datetime(frame["day"])
    frame["trades"] = frame["trades"].astype("int64")
    frame["cumulative_pnl"] = frame["realized_pnl"].cumsum()
    return frame


def daily_totals(daily: pd.DataFrame) -> dict[str, Any]:
    """:func:`trade_totals` from :func:`pnl_per_day`'s frame (saves a second scan)."""
    return {
        "count": int(daily["trades"].sum()),
        **{c: sum(daily[c], Decimal(0)) for c in ("volume", "fees", "realized_pnl")},
    }


def equity_curve(daily: pd.DataFrame, *, initial_capital: Decimal | int = 0) -> pd.Series:
    """Equity at each day's end: ``initial_capital`` plus the cumulative realized PnL
    (from :func:`pnl_per_day`, so cheap with any number of trades)."""
    equity = Decimal(initial_capital) + daily["cumulative_pnl"]
    return pd.Series(equity.to_numpy(), index=pd.DatetimeIndex(daily["day"]), name="equity")


def pnl_figure(daily: pd.DataFrame, *, initial_capital: Decimal | int | None = None) -> go.Figure:
    """The equity curve (or cumulative realized PnL without a capital) above PnL per day."""
    from plotly.subplots import make_subplots

    top = "equity" if initial_capital is not None else "cumulative realized PnL"
    curve = equity_curve(daily, initial_capital=initial_capital or 0).astype(float)
    pnl = daily["realized_pnl"].astype(float)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.6, 0.4],
        vertical_spacing=0.06,
        subplot_titles=(top, "realized PnL per day"),
    )
    fig.add_scatter(x=curve.index, y=curve, name=top, row=1, col=1)
    colors = ["#1a7f37" if v >= 0 else "#cf222e" for v in pnl]
    fig.add_bar(x=daily["day"], y=pnl, name="PnL per day", marker_color=colors, row=2, col=1)
    fig.update_layout(height=460, showlegend=False, margin={"t": 40})
    return fig
