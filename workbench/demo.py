"""The main job, ``workbench demo``: the whole workbench on the embedded defaults, offline.

Initialises the home, makes a synthetic market, creates demo bots, backtests and saves them,
runs a sweep, replays a bot tick by tick on the paper exchange, and reads it all back.
Every step says what it did and where to look.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.accounts import local_user
from workbench.backtest import backtest_config, run_sweep, save_backtest
from workbench.bots import create_bot, list_bots
from workbench.bots.replay import replay_bot
from workbench.db import default_engine, migrate, session_scope
from workbench.db.stats import table_stats
from workbench.market.candles import read_candles, summary, upsert_candles
from workbench.market.sample import SYNTHETIC_EXCHANGE, sample_candles
from workbench.rules import RuleParams
from workbench.settings import Settings, get_settings

SYMBOL, TIMEFRAME, BARS = "BTC/USDT", "5m", 4000
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
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.fernet_keys()
    migrate.upgrade(settings.database_url)
    engine = default_engine()
    say(f"database ready at revision {migrate.current(settings.database_url)}")

    market = {"exchange": SYNTHETIC_EXCHANGE, "symbol": SYMBOL, "timeframe": TIMEFRAME}
    upsert_candles(engine=engine, frame=sample_candles(BARS, timeframe=TIMEFRAME, seed=7), **market)
    say(f"stored {BARS} bars of SYNTHETIC {SYMBOL} {TIMEFRAME} data (not a real market)")
    candles = read_candles(engine=engine, **market)

    with session_scope() as session:
        owner = local_user(session=session)
        existing = {bot.name for bot in list_bots(session=session, owner_id=owner.id)}
        for fields in DEMO_BOTS:
            if fields["name"] not in existing:
                create_bot(
                    session=session,
                    owner_id=owner.id,
                    exchange=SYNTHETIC_EXCHANGE,
                    symbol=SYMBOL,
                    timeframe=TIMEFRAME,
                    **fields,
                )
        bots = [
            b
            for b in list_bots(session=session, owner_id=owner.id)
            if b.name in {f["name"] for f in DEMO_BOTS}
        ]
        backtests = {}
        for bot in bots:
            result = backtest_config(candles, bot)
            row = save_backtest(
                session=session,
                result=result,
                owner_id=owner.id,
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
    say(
        f"replay: demo-ema-cross ticked {len(replay.ticks)} times on the paper exchange, "
        f"{len(replay.trades)} trades, final balance {replay.final_balance:.2f} USDT"
    )

    stored = summary(engine=engine)
    rows = table_stats(settings.database_url)
    say("rows: " + ", ".join(f"{s['table']}={s['rows']}" for s in rows if s["rows"]))
    say(f"home: {settings.home}  (open JupyterLab with `workbench lab`)")
    return {
        "bots": bot_ids,
        "backtests": backtests,
        "sweep_sets": len(table),
        "replay_trades": len(replay.trades),
        "candles": stored,
    }
