"""The main job, ``workbench demo``: a tour that writes and reads real rows, offline.

It grows with the product; every step prints what it did and where to look.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.accounts import local_user
from workbench.bots import create_bot, list_bots
from workbench.db import migrate, session_scope
from workbench.db.stats import table_stats
from workbench.settings import Settings, get_settings

DEMO_BOTS: list[dict[str, Any]] = [
    {
        "name": "demo-ema-cross",
        "symbol": "BTC/USDT",
        "timeframe": "5m",
        "strategy": "ema_cross",
        "ema_fast": 12,
        "ema_slow": 26,
        "stop_loss_perc": "2",
        "take_profit_perc": "4",
    },
    {
        "name": "demo-rsi",
        "symbol": "BTC/USDT",
        "timeframe": "5m",
        "strategy": "rsi",
        "rsi_period": 14,
        "rsi_oversold": 30,
        "rsi_overbought": 70,
        "position_size_perc": "50",
    },
]


def run_demo(
    *, settings: Settings | None = None, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Initialise the home, create the demo bots, read them back; returns a summary."""
    settings = settings or get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.fernet_keys()
    migrate.upgrade(settings.database_url)
    say(f"database ready at revision {migrate.current(settings.database_url)}")
    with session_scope() as session:
        owner = local_user(session=session)
        owner_email = owner.email
        existing = {bot.name for bot in list_bots(session=session, owner_id=owner.id)}
        for fields in DEMO_BOTS:
            if fields["name"] not in existing:
                create_bot(session=session, owner_id=owner.id, **fields)
    with session_scope() as session:
        bots = list_bots(session=session)
        for bot in bots:
            say(
                f"bot {bot.id}: {bot.name} {bot.symbol} {bot.timeframe} {bot.strategy} "
                f"capital {bot.initial_capital} ({'dry run' if bot.dry_run else 'LIVE'})"
            )
    stats = table_stats(settings.database_url)
    say("rows: " + ", ".join(f"{s['table']}={s['rows']}" for s in stats if s["rows"]))
    say(f"home: {settings.home}")
    return {"bots": [b.name for b in bots], "owner": owner_email, "tables": stats}
