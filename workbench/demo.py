"""The main job, ``workbench demo``: the whole workbench on the embedded defaults, offline.

Initialises the home, makes a synthetic market, creates demo bots, backtests and saves them,
runs a sweep, replays a bot tick by tick on the paper exchange, runs the live-bot job notebook
(papermill) for a run of replayed ticks and then the daily report notebook, and reads it all
back. Every step says what it did and where to look.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workbench.accounts import local_user
from workbench.backtest import backtest_config, run_sweep, save_backtest
from workbench.bots import create_bot, delete_bot, list_bots
from workbench.bots.configs import bot_fields
from workbench.bots.replay import replay_bot
from workbench.db import default_engine, migrate, session_scope
from workbench.db.models import BotEvent
from workbench.db.stats import table_stats
from workbench.errors import ConfigError, OperationalError
from workbench.jobs import RunStatus, run_notebook
from workbench.jobs.notebooks import notebooks_folder
from workbench.market.candles import read_candles, summary, upsert_candles
from workbench.market.sample import SYNTHETIC_EXCHANGE, sample_candles
from workbench.progress import progress_bar
from workbench.rules import RuleParams
from workbench.settings import Settings, get_settings, make_private_dir

SYMBOL, TIMEFRAME, BARS, SEED = "BTC/USDT", "5m", 4000, 7
DEMO_BOTS: list[dict[str, Any]] = [
    {
        "name": "demo-ema-cross",
        "strategy": "ema_cross",
        "ema_fast": 12,
        "ema_slow": 26,
        "stop_loss_perc": "2",
        "take_profit_perc": "4",
        "max_daily_loss_perc": "5",
    },
    {
        "name": "demo-rsi",
        "strategy": "rsi",
        "rsi_period": 14,
        "rsi_oversold": 30,
        "rsi_overbought": 70,
        "position_size_perc": "50",
        "trailing_stop_active": True,
        "trailing_stop_perc": "3",
    },
]


def run_demo(
    *, settings: Settings | None = None, say: Callable[[str], None] = print, progress: bool = True
) -> dict[str, Any]:
    """Run the demo; returns a summary of what it made."""
    settings = settings or get_settings()
    if settings.env == "production":
        raise ConfigError(
            "the demo writes synthetic data and is refused in production "
            "(WORKBENCH_ENV=production); run it on a development home"
        )
    make_private_dir(settings.home)
    settings.fernet_keys()
    migrate.upgrade(settings.database_url)
    engine = default_engine()
    say(f"database ready at revision {migrate.current(settings.database_url)}")

    market = {"exchange": SYNTHETIC_EXCHANGE, "symbol": SYMBOL, "timeframe": TIMEFRAME}
    upsert_candles(
        engine=engine, frame=sample_candles(BARS, timeframe=TIMEFRAME, seed=SEED), **market
    )
    say(f"stored {BARS} bars of SYNTHETIC {SYMBOL} {TIMEFRAME} data (not a real market)")
    candles = read_candles(
        engine=engine, exchange=SYNTHETIC_EXCHANGE, symbol=SYMBOL, timeframe=TIMEFRAME
    )

    with session_scope() as session:
        owner = local_user(session=session)
        existing = {bot.name for bot in list_bots(session=session, user_id=owner.id)}
        for fields in DEMO_BOTS:
            if fields["name"] not in existing:
                create_bot(
                    session=session,
                    user_id=owner.id,
                    exchange=SYNTHETIC_EXCHANGE,
                    symbol=SYMBOL,
                    timeframe=TIMEFRAME,
                    **fields,
                )
        bots = [
            b
            for b in list_bots(session=session, user_id=owner.id)
            if b.name in {f["name"] for f in DEMO_BOTS}
        ]
        backtests = {}
        for bot in bots:
            result = backtest_config(candles, bot)
            row = save_backtest(
                session=session,
                result=result,
                user_id=owner.id,
                name=f"demo {bot.name}",
                bot_id=bot.id,
                **market,
            )
            stats = result.stats()
            backtests[bot.name] = row.id
            say(
                f"backtest {row.id}: {bot.name}: return {stats['total_return']:+.2%}, "
                f"max drawdown {stats['max_drawdown']:.2%}, {stats['total_trades']} trades"
            )
        bot_ids = {bot.name: bot.id for bot in bots}

    table = run_sweep(
        candles,
        strategy="ema_cross",
        grid={"ema_fast": list(range(5, 30, 2)), "ema_slow": list(range(10, 60, 4))},
        rules=RuleParams(stop_loss=0.02, take_profit=0.04),
        progress=progress,
    )
    best = table.iloc[0]
    say(
        f"sweep: {len(table)} ema_cross sets; best ema_fast={int(best.ema_fast)} "
        f"ema_slow={int(best.ema_slow)} return {best.total_return:+.2%}"
    )

    replay = replay_bot(
        bot_ids["demo-ema-cross"],
        engine=engine,
        start=candles.index[-600].to_pydatetime(),
        progress=progress,
    )
    still_open = len(replay.trades) and replay.trades["exit_reason"].iloc[-1] == "open"
    say(
        f"replay: demo-ema-cross ticked {len(replay.ticks)} times on the paper exchange, "
        f"{len(replay.trades)} trades, USDT balance {replay.final_balance:.2f}"
        + (" (a position is still open)" if still_open else "")
    )

    jobs = run_job_notebooks(engine, candles, replay.trades, say=say, progress=progress)

    stored = summary(engine=engine)
    rows = table_stats(settings.database_url)
    say("rows: " + ", ".join(f"{s['table']}={s['rows']}" for s in rows if s["rows"]))
    say(f"home: {settings.home}")
    say("open JupyterLab on the notebooks with `workbench lab` (start with 00_start_here)")
    return {
        "jobs": jobs,
        "bots": bot_ids,
        "backtests": backtests,
        "sweep_sets": len(table),
        "replay_trades": len(replay.trades),
        "candles": stored,
    }


JOB_BOT = "demo-live-job"
MAX_JOB_TICKS = 8


def job_moments(candles: pd.DataFrame, trades: pd.DataFrame) -> list[datetime]:
    """Replay moments around the shortest recent round trip of ``trades`` (a bar before the
    entry to the exit), so the live-bot job both enters and exits in a few ticks."""
    step = candles.index[1] - candles.index[0]
    closed = trades.dropna(subset=["exit_time"])
    if closed.empty:
        first, count = trades["entry_time"].iloc[-1] - step, 3
    else:
        bars = (closed["exit_time"] - closed["entry_time"]) // step
        chosen = closed[bars == bars.min()].iloc[-1]
        first, count = chosen["entry_time"] - step, min(MAX_JOB_TICKS, int(bars.min()) + 2)
    return [(first + i * step).to_pydatetime() for i in range(count)]


def run_job_notebooks(
    engine: Engine,
    candles: pd.DataFrame,
    replayed: pd.DataFrame,
    *,
    say: Callable[[str], None],
    progress: bool,
) -> dict[str, Any]:
    """Tick a fresh copy of the demo EMA bot through the live-bot notebook at replayed
    moments (paper exchange, stored candles), then run the daily report notebook."""
    with session_scope(engine) as session:
        owner = local_user(session=session)
        template = next(b for b in list_bots(session=session) if b.name == "demo-ema-cross")
        for old in list_bots(session=session):
            if old.name == JOB_BOT:  # a fresh paper account each demo; old trades are kept
                delete_bot(session=session, bot_id=old.id, force=True)
        session.flush()
        fields = {**bot_fields(template), "name": JOB_BOT, "is_active": True}
        bot_id = create_bot(session=session, user_id=owner.id, **fields).id
    runs = []
    for moment in progress_bar(
        job_moments(candles, replayed), desc="live-bot job", disable=not progress
    ):
        parameters = {"bot_id": bot_id, "paper": True, "as_of": moment.isoformat()}
        run = run_notebook(notebooks_folder() / "jobs" / "live_bot.ipynb", parameters, timeout=600)
        runs.append(run)
        if run.status != RunStatus.SUCCEEDED:
            raise OperationalError(f"live-bot job run {run.id} {run.status}: {run.error}")
    with session_scope(engine) as session:
        decisions = [(e.bar_time, e.decision, e.reason) for e in bot_events(session, bot_id)]
    say(f"live-bot job: {len(runs)} runs of notebooks/jobs/live_bot.ipynb on the paper exchange")
    for bar, decision, reason in decisions:
        say(f"  {bar:%Y-%m-%d %H:%M} {decision}: {reason}")
    say(f"  last output: {runs[-1].html_path}")
    day = runs[-1].parameters["as_of"][:10]
    report = run_notebook(
        notebooks_folder() / "jobs" / "daily_report.ipynb",
        {"date": day, "bots": [bot_id]},
        timeout=600,
    )
    if report.status != RunStatus.SUCCEEDED:
        raise OperationalError(f"daily report run {report.id} {report.status}: {report.error}")
    say(f"daily report of {day}: {report.html_path}")
    return {
        "bot_id": bot_id,
        "live_bot_runs": [r.id for r in runs],
        "decisions": [d for _, d, _ in decisions],
        "report_run": report.id,
        "outputs": [r.html_path for r in [*runs, report]],
    }


def bot_events(session: Session, bot_id: int) -> list[BotEvent]:
    query = sa.select(BotEvent).where(BotEvent.bot_id == bot_id).order_by(BotEvent.id)
    return list(session.scalars(query))
