"""Bots: create, list, tick, replay; their trades, events and the daily report."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go
import sqlalchemy as sa

from workbench.api._common import Moment, moment, query_frame
from workbench.api.data import candles, list_markets, plot_candles
from workbench.db import default_engine, session_scope
from workbench.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from workbench.bots.replay import ReplayResult
    from workbench.bots.report import DailyReport
    from workbench.bots.runner import TickResult

SAMPLE_BOT = "sample-ema-cross"


def list_bots() -> pd.DataFrame:
    """Every bot and its state (running, last tick, what it last said)."""
    from workbench.bots.views import BotView, read_bots

    with session_scope(default_engine()) as session:
        views = read_bots(session=session)
    return pd.DataFrame([v.as_dict() for v in views], columns=[f.name for f in fields(BotView)])


def create_bot(**fields: Any) -> int:
    """Create a bot from bot config fields (validated like the form and the CLI)."""
    from workbench.accounts import local_user
    from workbench.bots import create_bot as create

    with session_scope(default_engine()) as session:
        return create(session=session, user_id=local_user(session=session).id, **fields).id


def tick(
    bot: int, *, paper: bool = False, as_of: Moment = None, inactive: bool = False
) -> TickResult:
    """One tick of a bot, as the live-bot job runs it: on the bot's own venue (paper for a
    dry-run bot, the exchange for a live one) unless ``paper=True``. ``as_of`` replays a
    past moment on stored candles (on paper). An inactive bot ticks only with
    ``inactive=True``."""
    from workbench.bots.exchanges import tick_bot

    when = moment(as_of, "as_of")
    return tick_bot(bot, engine=default_engine(), paper=paper, as_of=when, inactive=inactive)


def job_bot(bot_id: int | None) -> int:
    """The bot a job ticks: exactly ``bot_id`` (it must exist), never a guess."""
    from workbench.bots import get_bot

    if bot_id is None:
        raise ValidationError(
            {"bot_id": "no bot given; run the job with `-p bot_id N` (see `workbench bot list`)"},
            entity="job parameters",
        )
    with session_scope(default_engine()) as session:
        return get_bot(session=session, bot_id=int(bot_id)).id


def replay(
    bot: int, *, start: Moment = None, end: Moment = None, fee: float = 0.001
) -> ReplayResult:
    """Replay a bot tick by tick over its stored candles on a fresh paper account
    (``.trades`` in the backtest's columns, ``.ticks``, ``.final_balance``)."""
    from workbench.bots.replay import replay_bot

    return replay_bot(
        bot,
        engine=default_engine(),
        start=moment(start, "start"),
        end=moment(end, "end"),
        fee=fee,
        progress=False,
    )


def plot_tick(result: TickResult, bars: int = 120) -> go.Figure:
    """The bars a tick saw, its bot's indicators, and what it decided on the last bar."""
    from workbench.bots import get_bot
    from workbench.strategies import get_strategy

    with session_scope(default_engine()) as session:
        bot = get_bot(session=session, bot_id=result.bot_id)
        strategy = get_strategy(bot.strategy)
        params = strategy.params_from_config(bot)
        market = (bot.symbol, bot.timeframe, bot.exchange)
    last = None if result.bar_time is None else result.bar_time + pd.Timedelta(milliseconds=1)
    frame = candles(market[0], market[1], exchange=market[2], end=last)
    shown = strategy.signals(frame, **params).indicators.tail(bars)
    fig = plot_candles(frame.tail(bars), indicators=shown)
    if result.bar_time is not None:
        fig.add_annotation(
            x=result.bar_time,
            y=float(frame["high"].iloc[-1]),
            text=f"{result.decision}: {result.reason}",
            showarrow=True,
        )
    return fig


def sample_trades(bot: int | None = None, *, bars: int = 300) -> int:
    """For the tour notebooks: when no trades are recorded, tick ``bot`` (by default a
    sample dry-run bot on the first stored market, made here) on paper over the last
    ``bars`` stored bars so there are trades to look at. Returns how many trades there are."""
    from workbench.bots import get_bot
    from workbench.db.models import Trade
    from workbench.progress import progress_bar

    count = sa.select(sa.func.count()).select_from(Trade)
    with default_engine().connect() as conn:
        if conn.scalar(count):
            return int(conn.scalar(count) or 0)
    bot_id = bot if bot is not None else _sample_bot()
    with session_scope(default_engine()) as session:
        market = get_bot(session=session, bot_id=bot_id)
        frame = candles(market.symbol, market.timeframe, exchange=market.exchange)
    for when in progress_bar(frame.index[-bars:], unit="tick", desc="sample ticks"):
        tick(bot_id, as_of=when, inactive=True)
    with default_engine().connect() as conn:
        return int(conn.scalar(count) or 0)


def daily_report(day: Moment = None, bots: list[int] | None = None) -> DailyReport:
    """The daily report (``.summary``, ``.trades``, ``.events``, ``.equity``, ``.figure()``)
    of ``day`` (default: the last day with activity) for ``bots`` (default: all)."""
    from workbench.bots.report import daily_report as report

    when = moment(day, "date")
    return report(engine=default_engine(), day=when.date() if when else None, bot_ids=bots)


def list_trades(
    bot: int | None = None,
    *,
    symbol: str | None = None,
    side: str | None = None,
    start: Moment = None,
    end: Moment = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """Recorded trades, newest first (filtered in the database)."""
    from workbench.bots.trades import query_trades

    with session_scope(default_engine()) as session:
        return query_trades(
            session=session,
            bot_id=bot,
            symbol=symbol,
            side=side,
            start=moment(start, "start"),
            end=moment(end, "end"),
            page=0,
            page_size=limit,
        )


def list_events(
    bot: int | None = None, *, start: Moment = None, end: Moment = None
) -> pd.DataFrame:
    """What bots decided and why: orders and the risk rules that held them back."""
    from workbench.db.models import BotEvent

    query = sa.select(
        BotEvent.bot_id, BotEvent.bar_time, BotEvent.decision, BotEvent.reason, BotEvent.risk_rule
    ).order_by(BotEvent.bar_time, BotEvent.id)
    if bot is not None:
        query = query.where(BotEvent.bot_id == bot)
    if (first := moment(start, "start")) is not None:
        query = query.where(BotEvent.bar_time >= first)
    if (last := moment(end, "end")) is not None:
        query = query.where(BotEvent.bar_time < last)
    return query_frame(query)


def _sample_bot() -> int:
    """The tour's sample bot (made once, dry run, on the first stored market)."""
    from workbench.db.models import BotConfig
    from workbench.demo import DEMO_BOTS

    with session_scope(default_engine()) as session:
        found = session.scalar(sa.select(BotConfig.id).where(BotConfig.name == SAMPLE_BOT))
    if found is not None:
        return found
    stored = list_markets()
    if stored.empty:
        raise NotFoundError("no candles stored; run wb.init() or `workbench data sample`")
    market = {k: str(stored.iloc[0][k]) for k in ("exchange", "symbol", "timeframe")}
    return create_bot(**market, **{**DEMO_BOTS[0], "name": SAMPLE_BOT, "dry_run": True})
