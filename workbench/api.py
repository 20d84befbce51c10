"""The notebook-facing API: short calls that return DataFrames, results and figures.

>>> import workbench as wb
>>> wb.init()                      # database ready; a synthetic sample market if none stored
>>> df = wb.candles()              # the first stored market, or wb.candles("BTC/USDT", "5m")
>>> result = wb.backtest(df, strategy="ema_cross", ema_fast=9, ema_slow=21)
>>> result.stats(); result.figure()
>>> table = wb.sweep(df, ema_fast=range(5, 30, 5), ema_slow=range(20, 80, 10))
>>> wb.heatmap(table, "ema_fast", "ema_slow")
>>> wb.bots(); wb.trades(); wb.runs()
>>> wb.bot_form()                  # the widgets: bot_form, trade_browser, backtest_explorer,
...                                # job_dashboard

Everything uses the settings of this process (``WORKBENCH_HOME``, ``WORKBENCH_DATABASE_URL``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go
import sqlalchemy as sa

from workbench.db import default_engine, migrate, session_scope
from workbench.errors import ConfigError, NotFoundError, ValidationError
from workbench.settings import get_settings, make_private_dir
from workbench.timeutil import parse_moment as _moment
from workbench.types import DEFAULT_FEE

if TYPE_CHECKING:
    from workbench.backtest import BacktestResult
    from workbench.bots.runner import TickResult
    from workbench.db.models import JobRun
    from workbench.strategies.base import Strategy

Moment = str | datetime | None
SAMPLE_BOT = "sample-ema-cross"
StrategyLike = Any  # a strategy's name, or the object ``@wb.strategy`` made


def init(*, sample: bool = False) -> pd.DataFrame:
    """Make the workbench ready in this process: the home folder, the secret key and the
    database at the newest revision. ``sample=True`` (the tour notebooks) also stores a
    synthetic sample market when no candles are stored; never in production. Returns
    :func:`markets`."""
    from workbench.market.candles import summary, upsert_candles
    from workbench.market.sample import SYNTHETIC_EXCHANGE, sample_candles

    settings = get_settings()
    if sample and settings.env == "production":
        raise ConfigError(
            "sample data is never written in production (WORKBENCH_ENV=production); "
            "import or fetch real candles with `workbench data import|fetch`"
        )
    make_private_dir(settings.home)
    settings.fernet_keys()
    migrate.upgrade(settings.database_url)
    if sample and not summary(engine=default_engine()):
        from workbench.demo import BARS, SEED, SYMBOL, TIMEFRAME

        frame = sample_candles(BARS, timeframe=TIMEFRAME, seed=SEED)
        upsert_candles(
            engine=default_engine(),
            frame=frame,
            exchange=SYNTHETIC_EXCHANGE,
            symbol=SYMBOL,
            timeframe=TIMEFRAME,
        )
    return markets()


def connect() -> None:
    """Use the configured database as it is (job notebooks): nothing is created, migrated
    or written. Raises ConfigError unless the database is at the newest revision."""
    from workbench.db.ready import require_ready

    require_ready(get_settings().database_url)


def markets() -> pd.DataFrame:
    """The stored candle series: exchange, symbol, timeframe, first, last, count, gaps."""
    from workbench.market.candles import summary

    return pd.DataFrame(summary(engine=default_engine()))


def candles(
    symbol: str | None = None,
    timeframe: str | None = None,
    *,
    exchange: str | None = None,
    start: Moment = None,
    end: Moment = None,
) -> pd.DataFrame:
    """Stored candles (open, high, low, close, volume) on a UTC index. Without arguments:
    the first stored market. ``start``/``end`` take dates like ``"2024-01-31"``."""
    from workbench.market.candles import read_candles
    from workbench.market.names import normalize_given

    exchange, symbol, timeframe = normalize_given(exchange, symbol, timeframe)
    stored = markets()
    if stored.empty:
        raise NotFoundError("no candles stored; run wb.init() or `workbench data sample`")
    chosen = stored
    for column, value in (("symbol", symbol), ("timeframe", timeframe), ("exchange", exchange)):
        if value is not None:
            chosen = chosen[chosen[column] == value]
    if chosen.empty:
        have = ", ".join(f"{r.exchange} {r.symbol} {r.timeframe}" for r in stored.itertuples())
        raise NotFoundError(f"no stored candles match; stored: {have}")
    market = chosen.iloc[0]
    frame = read_candles(
        engine=default_engine(),
        exchange=market["exchange"],
        symbol=market["symbol"],
        timeframe=market["timeframe"],
        start=_moment(start, "start"),
        end=_moment(end, "end"),
    )
    frame.attrs["market"] = {k: market[k] for k in ("exchange", "symbol", "timeframe")}
    return frame


def plot_candles(frame: pd.DataFrame, *, indicators: pd.DataFrame | None = None) -> go.Figure:
    """A candlestick chart, with indicator lines (e.g. ``signals(...)``'s EMA columns)."""
    market = frame.attrs.get("market", {})
    fig = go.Figure(
        go.Candlestick(
            x=frame.index,
            open=frame["open"],
            high=frame["high"],
            low=frame["low"],
            close=frame["close"],
            name="price",
        )
    )
    if indicators is not None:
        for column in indicators.columns:
            if column.startswith("ema"):
                fig.add_scatter(x=indicators.index, y=indicators[column], name=column, mode="lines")
    title = " ".join(str(v) for v in market.values())
    fig.update_layout(title=title, xaxis_rangeslider_visible=False, height=450)
    return fig


def signals(
    frame: pd.DataFrame, strategy: StrategyLike = "ema_cross", **params: Any
) -> pd.DataFrame:
    """A strategy's indicators with its entry and exit flags, per bar."""
    from workbench.strategies import get_strategy

    chosen = get_strategy(strategy)
    return chosen.signals(frame, **chosen.validate(params)).frame()


def plot_signals(frame: pd.DataFrame, signals: Any, *, bars: int | None = 400) -> go.Figure:
    """Candles with a strategy's indicator lines and its entries (green) and exits (red):
    ``signals`` is what ``donchian(frame, ...)`` or ``wb.signals(...)`` returns."""
    shown = signals.frame() if hasattr(signals, "frame") else signals
    if bars is not None:
        frame, shown = frame.tail(bars), shown.tail(bars)
    fig = plot_candles(frame)
    flags = {"entries", "exits", "short_entries", "short_exits"}
    for column in shown.columns:
        if column not in flags and column != "rsi":
            fig.add_scatter(x=shown.index, y=shown[column], name=str(column), mode="lines")
    for column, color, symbol in (("entries", "green", "triangle-up"), ("exits", "red", "x")):
        if column in shown.columns:
            hits = shown.index[shown[column].astype(bool)]
            fig.add_scatter(
                x=hits,
                y=frame.loc[hits, "close"],
                mode="markers",
                name=column,
                marker={"color": color, "symbol": symbol, "size": 9},
            )
    return fig


def replay(bot: int, *, start: Moment = None, end: Moment = None, fee: float = 0.001) -> Any:
    """Replay a bot tick by tick over its stored candles on a fresh paper account
    (``.trades`` in the backtest's columns, ``.ticks``, ``.final_balance``)."""
    from workbench.bots.replay import replay_bot

    return replay_bot(
        bot,
        engine=default_engine(),
        start=_moment(start, "start"),
        end=_moment(end, "end"),
        fee=fee,
        progress=False,
    )


def strategies() -> pd.DataFrame:
    """Every strategy: built-ins, strategy files and this kernel's ``@wb.strategy``
    definitions, with parameters (bounds), source and code fingerprint."""
    from workbench.strategies import all_strategies

    rows = [
        {
            "name": s.name,
            "parameters": ", ".join(f"{p.name}={p.default} [{p.bounds_text()}]" for p in s.params),
            "source": s.where,
            "fingerprint": s.fingerprint,
            "description": s.description,
        }
        for s in all_strategies().values()
    ]
    return pd.DataFrame(rows)


def check_strategy(
    strategy: StrategyLike,
    frame: pd.DataFrame | None = None,
    *,
    exchange: str | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    **params: Any,
) -> Any:
    """The look-ahead check and warm-up measure of ``strategy`` with ``params`` on
    ``frame`` (default: the stored market named, or the first). ``.passed``,
    ``.summary()``, ``.look_ahead`` (the first differing bar and series), ``.warmup``."""
    from workbench.strategies.check import check_strategy as check

    if frame is None:
        frame = candles(symbol, timeframe, exchange=exchange)
    return check(strategy, frame, params)


def save_strategy(strategy: Any, *, overwrite: bool = True) -> str:
    """Write a strategy defined in this notebook to ``$WORKBENCH_HOME/strategies/`` so
    bots, jobs and the CLI can use it; returns the file's path."""
    from workbench.strategies import save_strategy as save

    return str(save(strategy, overwrite=overwrite))


def _strategy_name(strategy: StrategyLike) -> str:
    from workbench.strategies import get_strategy

    return get_strategy(strategy).name


def backtest(
    frame: pd.DataFrame | None = None,
    *,
    bot: int | None = None,
    strategy: str | Strategy = "ema_cross",
    fee: float = DEFAULT_FEE,
    slippage: float = 0.0,
    **fields: Any,
) -> BacktestResult:
    """Backtest a bot (``bot=ID``, its fields overridden by any given) or a strategy (a name
    or a Strategy) with any bot config fields (``ema_fast=9, stop_loss_perc=2,
    max_daily_loss_perc=5, ...``) over ``frame`` (``wb.candles(...)``, or any frame with
    open/high/low/close on a UTC index or with a ``timestamp`` column; default: the stored
    candles of the bot's market). A frame without a market needs ``symbol=`` (and
    ``exchange=``, ``timeframe=``). See ``result.stats()``, ``result.trades``,
    ``result.figure()``."""
    from workbench.backtest import backtest_config

    frame = None if frame is None else _candle_frame(frame)
    config, chosen, own = _run_config(frame, bot, strategy, fields)
    return backtest_config(
        _frame_of(frame, config), config, fee=fee, slippage=slippage, strategy=chosen, params=own
    )


def sweep(
    frame: pd.DataFrame | None = None,
    *,
    bot: int | None = None,
    strategy: str | Strategy = "ema_cross",
    fee: float = DEFAULT_FEE,
    slippage: float = 0.0,
    progress: bool = True,
    **fields: Any,
) -> pd.DataFrame:
    """Backtest every combination of the parameter ranges
    (``ema_fast=range(5, 30), ema_slow=range(20, 80, 5)``) under the other bot config
    fields given (``stop_loss_perc=2, max_daily_trades=20, ...``) and the bot's
    (``bot=ID``), exactly as :func:`backtest` would run each; best total return first.
    ``table.attrs["rules"]`` lists the rules every row ran under."""
    from workbench.backtest import run_sweep
    from workbench.backtest.configs import sweep_grid, with_params
    from workbench.rules import RuleParams

    ranges = {k: v for k, v in fields.items() if _is_range(v)}
    fixed = {k: v for k, v in fields.items() if k not in ranges}
    frame = None if frame is None else _candle_frame(frame)
    config, chosen, own = _run_config(frame, bot, strategy, fixed)
    base = with_params(config, own) if own else config
    return run_sweep(
        _frame_of(frame, config),
        strategy=chosen,
        grid=sweep_grid(chosen, base, ranges),
        rules=RuleParams.from_config(config, fee=fee, slippage=slippage),
        progress=progress,
    )


def heatmap(table: pd.DataFrame, x: str, y: str, value: str = "total_return") -> go.Figure:
    """A sweep's ``value`` over two of its parameters."""
    from workbench.backtest import sweep_heatmap

    return sweep_heatmap(table, x, y, value)


def save(result: BacktestResult, name: str, frame: pd.DataFrame | None = None) -> int:
    """Save a backtest under ``name`` and the market it ran on (``frame``'s, else the
    result's); returns its id (see :func:`backtests`)."""
    from workbench.accounts import local_user
    from workbench.backtest import save_backtest

    attached = (frame.attrs.get("market") if frame is not None else None) or result.market
    if not attached:
        raise ValidationError(
            {
                "market": "unknown for this backtest: pass the frame from wb.candles(...), or "
                "run wb.backtest(frame, symbol=..., exchange=..., timeframe=...) first"
            },
            entity="backtest",
        )
    with session_scope(default_engine()) as session:
        row = save_backtest(
            session=session,
            result=result,
            user_id=local_user(session=session).id,
            name=name,
            exchange=str(attached["exchange"]),
            symbol=str(attached["symbol"]),
            timeframe=str(attached["timeframe"]),
        )
        return row.id


def backtests() -> pd.DataFrame:
    """Saved backtests, newest first."""
    from workbench.db.models import Backtest

    columns = ["id", "name", "strategy", "symbol", "timeframe", "start_date", "end_date"]
    columns += ["final_value", "total_return", "max_drawdown", "total_trades"]
    query = sa.select(*(getattr(Backtest, c) for c in columns)).order_by(Backtest.id.desc())
    return _frame(query)


def compare(*ids: int) -> pd.DataFrame:
    """Saved backtests side by side (one column each)."""
    from workbench.backtest import compare_backtests

    with session_scope(default_engine()) as session:
        return compare_backtests(session=session, ids=list(ids))


def bots() -> pd.DataFrame:
    """Every bot and its state (running, last tick, what it last said)."""
    from workbench.db.models import BotConfig, BotState

    query = (
        sa.select(
            BotConfig.id,
            BotConfig.name,
            BotConfig.exchange,
            BotConfig.symbol,
            BotConfig.timeframe,
            BotConfig.strategy,
            BotConfig.is_active,
            BotConfig.dry_run,
            BotState.last_execution,
            BotState.status_message,
        )
        .outerjoin(BotState, BotState.bot_config_id == BotConfig.id)
        .order_by(BotConfig.id)
    )
    return _frame(query)


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

    when = _moment(as_of, "as_of")
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


def sample_trades(bot: int | None = None, *, bars: int = 300) -> int:
    """For the tour notebooks: when no trades are recorded, tick ``bot`` (by default a
    sample dry-run bot on the first stored market, made here) on paper over the last
    ``bars`` stored bars so there are trades to look at. Returns how many trades there are."""
    from workbench.db.models import Trade
    from workbench.progress import progress_bar

    count = sa.select(sa.func.count()).select_from(Trade)
    with default_engine().connect() as conn:
        if conn.scalar(count):
            return int(conn.scalar(count) or 0)
    bot_id = bot if bot is not None else _sample_bot()
    with session_scope(default_engine()) as session:
        from workbench.bots import get_bot

        market = get_bot(session=session, bot_id=bot_id)
        frame = candles(market.symbol, market.timeframe, exchange=market.exchange)
    for moment in progress_bar(frame.index[-bars:], unit="tick", desc="sample ticks"):
        tick(bot_id, as_of=moment, inactive=True)
    with default_engine().connect() as conn:
        return int(conn.scalar(count) or 0)


def _sample_bot() -> int:
    """The tour's sample bot (made once, dry run, on the first stored market)."""
    from workbench.db.models import BotConfig
    from workbench.demo import DEMO_BOTS

    with session_scope(default_engine()) as session:
        found = session.scalar(sa.select(BotConfig.id).where(BotConfig.name == SAMPLE_BOT))
    if found is not None:
        return found
    return create_bot(**_first_market(), **{**DEMO_BOTS[0], "name": SAMPLE_BOT, "dry_run": True})


def tick_figure(result: TickResult, bars: int = 120) -> go.Figure:
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


def daily_report(day: Moment = None, bots: list[int] | None = None) -> Any:
    """The daily report (``.summary``, ``.trades``, ``.events``, ``.equity``, ``.figure()``)
    of ``day`` (default: the last day with activity) for ``bots`` (default: all)."""
    from workbench.bots.report import daily_report as report

    moment = _moment(day, "date")
    return report(engine=default_engine(), day=moment.date() if moment else None, bot_ids=bots)


def trades(
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
            start=_moment(start, "start"),
            end=_moment(end, "end"),
            page=0,
            page_size=limit,
        )


def events(bot: int | None = None, *, start: Moment = None, end: Moment = None) -> pd.DataFrame:
    """What bots decided and why: orders and the risk rules that held them back."""
    from workbench.db.models import BotEvent

    query = sa.select(
        BotEvent.bot_id, BotEvent.bar_time, BotEvent.decision, BotEvent.reason, BotEvent.risk_rule
    ).order_by(BotEvent.bar_time, BotEvent.id)
    if bot is not None:
        query = query.where(BotEvent.bot_id == bot)
    if (first := _moment(start, "start")) is not None:
        query = query.where(BotEvent.bar_time >= first)
    if (last := _moment(end, "end")) is not None:
        query = query.where(BotEvent.bar_time < last)
    return _frame(query)


def runs(limit: int = 20) -> pd.DataFrame:
    """Recent job runs: notebook, status, start, duration, error, output."""
    from workbench.jobs import list_runs, run_fields

    with session_scope(default_engine()) as session:
        rows = [run_fields(r) for r in list_runs(session=session, limit=limit)]
    return pd.DataFrame(rows)


def run(notebook: str, parameters: dict[str, Any] | None = None, **options: Any) -> JobRun:
    """Run a notebook with papermill as a recorded job (see :func:`runs`)."""
    from workbench.jobs import run_notebook

    return run_notebook(notebook, parameters or {}, **options)


def bot_form() -> Any:
    """The bot configuration form (ipywidgets)."""
    from workbench.widgets.bots import BotForm

    return BotForm()


def trade_browser() -> Any:
    """The trade browser: filters, pages, totals, equity and PnL per day."""
    from workbench.widgets.trades import TradeBrowser

    return TradeBrowser()


def backtest_explorer() -> Any:
    """The backtest explorer: run, sweep, save and compare backtests."""
    from workbench.widgets.backtests import BacktestExplorer

    return BacktestExplorer()


def job_dashboard() -> Any:
    """The job dashboard: schedules, run now, recent runs and their outputs."""
    from workbench.widgets.jobs import JobDashboard

    return JobDashboard()


# -- helpers ----------------------------------------------------------------------------


def _frame(query: sa.Select) -> pd.DataFrame:  # type: ignore[type-arg]
    with default_engine().connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _first_market() -> dict[str, str]:
    stored = markets()
    if stored.empty:
        raise NotFoundError("no candles stored; run wb.init() or `workbench data sample`")
    return {k: stored.iloc[0][k] for k in ("exchange", "symbol", "timeframe")}


def _run_config(
    frame: pd.DataFrame | None, bot: int | None, strategy: str | Strategy, fields: dict
) -> tuple[Any, Strategy, dict[str, Any]]:
    """(the bot config a run uses, its strategy, strategy parameters that are no config
    field): the bot's fields (``bot=ID``) or a free config on the frame's market, with
    ``fields`` over them, validated like any bot config. Never a guessed market."""
    from workbench.backtest.configs import free_config, market_of, split_fields, with_fields
    from workbench.bots import get_bot
    from workbench.strategies import get_strategy

    if bot is not None:
        with session_scope(default_engine()) as session:
            row = get_bot(session=session, bot_id=bot)
            chosen = get_strategy(row.strategy)
            config_fields, own = split_fields(chosen, fields)
            return with_fields(row, config_fields), chosen, own
    chosen = get_strategy(strategy)
    config_fields, own = split_fields(chosen, fields)
    market = market_of(frame, config_fields)
    rest = {k: v for k, v in config_fields.items() if k not in market}
    return free_config(**market, strategy=chosen.name, fields=rest), chosen, own


def _candle_frame(frame: pd.DataFrame) -> pd.DataFrame:
    from workbench.backtest.frames import candle_frame

    return candle_frame(frame)


def _frame_of(frame: pd.DataFrame | None, config: Any) -> pd.DataFrame:
    """``frame``, else the stored candles of ``config``'s market."""
    if frame is not None:
        return frame
    return candles(config.symbol, config.timeframe, exchange=config.exchange)


def _is_range(value: Any) -> bool:
    return isinstance(value, Iterable) and not isinstance(value, str | bytes | dict)
