"""The daily report of bots: PnL, trades, equity and drawdown, risk-rule events, and where
live trading diverged from the backtest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import plotly.graph_objects as go
import sqlalchemy as sa
from plotly.subplots import make_subplots
from sqlalchemy import Engine

from workbench.analytics.returns import max_drawdown
from workbench.bots.drift_compare import divergences_of
from workbench.db.models import BotConfig, BotEvent, Trade


@dataclass
class DailyReport:
    day: date
    summary: pd.DataFrame  # one row per bot
    trades: pd.DataFrame  # the day's trades
    events: pd.DataFrame  # the day's orders and risk-rule events
    equity: pd.DataFrame  # one column per bot: capital + realized PnL, up to the day's end
    drift: pd.DataFrame  # the day's divergences from the backtest, with their cause

    @property
    def drawdown(self) -> pd.DataFrame:
        return self.equity / self.equity.cummax() - 1.0

    def figure(self) -> go.Figure:
        """Equity over drawdown, one line per bot."""
        fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3])
        for column in self.equity.columns:
            fig.add_scatter(x=self.equity.index, y=self.equity[column], name=column, row=1, col=1)
            fig.add_scatter(
                x=self.drawdown.index,
                y=self.drawdown[column],
                name=f"{column} drawdown",
                fill="tozeroy",
                row=2,
                col=1,
            )
        fig.update_layout(title=f"equity and drawdown up to {self.day}", height=480)
        fig.update_yaxes(tickformat=".1%", row=2, col=1)
        return fig


def latest_activity_day(engine: Engine) -> date | None:
    """The last day with a trade or a bot event (the report's default day)."""
    with engine.connect() as conn:
        last = [
            conn.scalar(sa.select(sa.func.max(Trade.timestamp))),
            conn.scalar(sa.select(sa.func.max(BotEvent.bar_time))),
        ]
    moments = [m for m in last if m is not None]
    return max(moments).astimezone(UTC).date() if moments else None


def daily_report(
    *, engine: Engine, day: date | None = None, bot_ids: list[int] | None = None
) -> DailyReport:
    """The report of ``day`` (default: the last day with activity, else today, UTC) for
    ``bot_ids`` (default: every bot)."""
    day = day or latest_activity_day(engine) or datetime.now(UTC).date()
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    bots_query = sa.select(BotConfig.id, BotConfig.name, BotConfig.initial_capital)
    if bot_ids is not None:
        bots_query = bots_query.where(BotConfig.id.in_(bot_ids))
    trade_columns = (
        Trade.bot_config_id,
        Trade.timestamp,
        Trade.symbol,
        Trade.side,
        Trade.price,
        Trade.quantity_filled,
        Trade.quote_quantity_filled,
        Trade.commission_amount,
        Trade.realized_pnl,
    )
    with engine.connect() as conn:
        bots = pd.DataFrame(conn.execute(bots_query.order_by(BotConfig.id)).fetchall())
        ids = [] if bots.empty else [int(i) for i in bots["id"]]
        history = _frame(
            conn,
            sa.select(*trade_columns)
            .where(Trade.bot_config_id.in_(ids), Trade.timestamp < end)
            .order_by(Trade.timestamp, Trade.id),
            [c.key for c in trade_columns],
        )
        events = _frame(
            conn,
            sa.select(
                BotEvent.bot_id,
                BotEvent.bar_time,
                BotEvent.decision,
                BotEvent.reason,
                BotEvent.risk_rule,
            )
            .where(BotEvent.bot_id.in_(ids), BotEvent.bar_time >= start, BotEvent.bar_time < end)
            .order_by(BotEvent.bar_time, BotEvent.id),
            ["bot_id", "bar_time", "decision", "reason", "risk_rule"],
        )
    for column in (
        "price",
        "quantity_filled",
        "quote_quantity_filled",
        "commission_amount",
        "realized_pnl",
    ):
        history[column] = history[column].astype(float)
    history["timestamp"] = pd.to_datetime(history["timestamp"], utc=True)
    todays = history[history["timestamp"] >= start]
    names = {} if bots.empty else dict(zip(bots["id"], bots["name"], strict=True))
    equity = _equity(history, bots, start)
    drift = divergences_of(engine=engine, bot_ids=names, start=start, end=end)
    rows = []
    for bot_id, name in names.items():
        mine = todays[todays["bot_config_id"] == bot_id]
        risk = events[(events["bot_id"] == bot_id) & events["risk_rule"].notna()]
        column = f"{bot_id}: {name}"
        curve = equity[column] if column in equity else pd.Series(dtype=float)
        rows.append(
            {
                "bot_id": bot_id,
                "name": name,
                "trades": len(mine),
                "volume": mine["quote_quantity_filled"].sum(),
                "fees": mine["commission_amount"].sum(),
                "realized_pnl": mine["realized_pnl"].fillna(0).sum(),
                "equity_end": curve.iloc[-1] if len(curve) else None,
                "max_drawdown": max_drawdown(curve.dropna().to_numpy(dtype="float64")),
                "risk_events": len(risk),
                "divergences": int((drift["bot_id"] == bot_id).sum()),
            }
        )
    return DailyReport(
        day, pd.DataFrame(rows), todays.reset_index(drop=True), events, equity, drift
    )


def _equity(history: pd.DataFrame, bots: pd.DataFrame, start: datetime) -> pd.DataFrame:
    """Capital plus cumulative realized PnL after each trade, one column per bot. Each curve
    opens with the capital at the report day's start, or at the start of the day of the
    bot's first trade when that is earlier; trades at one moment count as one point."""
    curves = {}
    for bot in bots.itertuples():
        mine = history[history["bot_config_id"] == bot.id]
        capital = float(bot.initial_capital)
        pnl = mine.set_index("timestamp")["realized_pnl"].fillna(0.0)
        curve = capital + pnl.cumsum()
        first_day = [curve.index[0].floor("D")] if len(curve) else []
        opening = pd.Series([capital], index=[min([pd.Timestamp(start), *first_day])])
        joined = pd.concat([opening, curve])
        curves[f"{bot.id}: {bot.name}"] = joined[~joined.index.duplicated(keep="last")]
    if not curves:
        return pd.DataFrame()
    return pd.concat(curves, axis=1, sort=True).ffill()


def _frame(conn: sa.Connection, query: sa.Select, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(conn.execute(query).fetchall(), columns=columns)
