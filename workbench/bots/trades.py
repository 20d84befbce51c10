"""Reading trades: filtered, paged and totalled in the database (fast with millions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import pandas as pd
import plotly.graph_objects as go
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.db.models import Trade
from workbench.errors import ValidationError

Q = TypeVar("Q", bound=sa.Select)  # type: ignore[type-arg]

COLUMNS = (
    "id",
    "bot_id",
    "executed_at",
    "exchange",
    "symbol",
    "side",
    "order_type",
    "price",
    "quantity",
    "quote_quantity",
    "commission",
    "commission_asset",
    "realized_pnl",
    "client_order_id",
)


@dataclass(frozen=True)
class TradeFilter:
    """Which trades: any of bot, symbol, side and a time range [start, end)."""

    bot_id: int | None = None
    symbol: str | None = None
    side: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.side not in (None, "buy", "sell"):
            raise ValidationError({"side": "must be buy or sell"}, entity="trade filter")
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": "must be after start"}, entity="trade filter")

    def where(self, query: Q) -> Q:
        conditions = [
            Trade.bot_id == self.bot_id if self.bot_id is not None else None,
            Trade.symbol == self.symbol if self.symbol else None,
            Trade.side == self.side if self.side else None,
            Trade.executed_at >= self.start if self.start else None,
            Trade.executed_at < self.end if self.end else None,
        ]
        return query.where(*(c for c in conditions if c is not None))


def query_trades(
    *, session: Session, page: int = 0, page_size: int = 50, **filters: Any
) -> pd.DataFrame:
    """One page of trades, newest first. Filters: see :class:`TradeFilter`."""
    if page < 0 or not 1 <= page_size <= 10_000:
        raise ValidationError(
            {"page": "page >= 0 and 1 <= page_size <= 10000"}, entity="trade query"
        )
    chosen = TradeFilter(**filters)
    query = chosen.where(sa.select(*(getattr(Trade, c) for c in COLUMNS)))
    query = query.order_by(Trade.executed_at.desc(), Trade.id.desc())
    rows = session.execute(query.offset(page * page_size).limit(page_size)).fetchall()
    return pd.DataFrame(rows, columns=list(COLUMNS))


def trade_totals(*, session: Session, **filters: Any) -> dict[str, Any]:
    """Count, volume (quote), fees and realized PnL of the filtered trades."""
    query = TradeFilter(**filters).where(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(Trade.quote_quantity), 0),
            sa.func.coalesce(sa.func.sum(Trade.commission), 0),
            sa.func.coalesce(sa.func.sum(Trade.realized_pnl), 0),
        ).select_from(Trade)
    )
    count, volume, fees, pnl = session.execute(query).one()
    return {"count": count, "volume": volume, "fees": fees, "realized_pnl": pnl}


def pnl_per_day(*, session: Session, **filters: Any) -> pd.DataFrame:
    """Realized PnL and trade count per UTC day, grouped in the database; with the
    cumulative PnL (the equity curve's shape)."""
    day = sa.func.date(Trade.executed_at)
    if session.get_bind().dialect.name == "postgresql":
        day = sa.func.date(sa.func.timezone("UTC", Trade.executed_at))
    query = TradeFilter(**filters).where(
        sa.select(
            day.label("day"),
            sa.func.count().label("trades"),
            sa.func.coalesce(sa.func.sum(Trade.realized_pnl), 0).label("realized_pnl"),
        )
        .select_from(Trade)
        .group_by(day)
        .order_by(day)
    )
    frame = pd.DataFrame(session.execute(query).fetchall(), columns=["day", "trades", "pnl"])
    frame["day"] = pd.to_datetime(frame["day"])
    frame["pnl"] = frame["pnl"].astype(float)
    frame["cumulative_pnl"] = frame["pnl"].cumsum()
    return frame


def pnl_figure(daily: pd.DataFrame) -> go.Figure:
    """Cumulative realized PnL (the equity curve over capital) above PnL per day."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4])
    fig.add_scatter(x=daily["day"], y=daily["cumulative_pnl"], name="cumulative PnL", row=1, col=1)
    colors = ["#1a7f37" if v >= 0 else "#cf222e" for v in daily["pnl"]]
    fig.add_bar(
        x=daily["day"], y=daily["pnl"], name="PnL per day", marker_color=colors, row=2, col=1
    )
    fig.update_layout(title="realized PnL", height=420, showlegend=False)
    return fig
