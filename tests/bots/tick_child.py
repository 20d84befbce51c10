"""A bot tick in its own process, for tests that kill, race and restart real processes.

``python -m tests.bots.tick_child live DB_URL FAKE_URL BOT_ID [ORDER_WINDOW_MS]``
    one tick of a live bot through the real ccxt client against the fake Binance server;
    prints the result as JSON, and exits like ``workbench bot tick`` (0, or 1/2/75 with the
    error on stderr).
``python -m tests.bots.tick_child replay DB_URL BOT_ID ACCOUNT``
    ticks a paper bot over its stored candles, bar after bar, resuming after the bar the
    bot last decided on (a killed run picks up where the bot's state says it was).
"""

from __future__ import annotations

import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

from workbench.bots.runner import run_tick
from workbench.db import make_engine
from workbench.errors import WorkbenchError


def live(db_url: str, fake_url: str, bot_id: int, window_ms: int | None) -> int:
    from tests.fakes.binance import API_KEY, SECRET, api_urls
    from workbench.accounts.api_keys import Credentials
    from workbench.cli.common import exit_code
    from workbench.market.ccxt_adapter import CcxtExchange
    from workbench.market.retry import RetryPolicy

    engine = make_engine(db_url)
    exchange = CcxtExchange(
        "binance",
        credentials=Credentials(API_KEY, SECRET),
        api_urls=api_urls(fake_url),
        retry=RetryPolicy(attempts=3, first_wait=0.05, max_wait=0.2, max_delay=5),
        timeout_ms=int(os.environ.get("TICK_CHILD_TIMEOUT_MS", "6000")),
        settle_seconds=1.0,
        order_window_ms=window_ms,
    )
    try:
        result = run_tick(bot_id, engine=engine, exchange=exchange)
    except WorkbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_code(e)
    order = result.order
    print(
        json.dumps(
            {
                "decision": result.decision,
                "reason": result.reason,
                "note": result.note,
                "order": None if order is None else order.client_order_id,
            }
        )
    )
    return 0


def replay(db_url: str, bot_id: int, account: str) -> int:
    import sqlalchemy as sa

    from workbench.db.models import BotState
    from workbench.market.candles import read_candles
    from workbench.market.paper import PaperExchange, PaperTerms
    from workbench.market.prices import ReplayPrices

    engine = make_engine(db_url)
    candles = read_candles(engine=engine, exchange="binance", symbol="ETH/BTC", timeframe="5m")
    times = [t.to_pydatetime() for t in candles.index]
    with engine.connect() as conn:
        data = (
            conn.scalar(sa.select(BotState.state_data).where(BotState.bot_config_id == bot_id))
            or {}
        )
    done = data.get("last_bar")
    start = 1 if done is None else 1 + [int(t.timestamp() * 1000) for t in times].index(done)
    prices = ReplayPrices(
        engine=engine, exchange="binance", timeframe="5m", symbols=["ETH/BTC"], start=times[0]
    )
    paper = PaperExchange(
        engine=engine,
        prices=prices,
        account=account,
        terms=PaperTerms(fee_rate=Decimal("0.001")),
        initial_balances={"BTC": Decimal(10)},
    )
    print("ready", flush=True)
    for moment in times[start:]:
        prices.advance_to(moment)
        run_tick(bot_id, engine=engine, exchange=paper, history=None)
    return 0


def wait_for_go() -> None:
    """With TICK_CHILD_GO set: say "ready" (imports done), then wait for the go file, so a
    test can start two ticks at one moment whatever the machine's load."""
    go = os.environ.get("TICK_CHILD_GO")
    if go:
        Path(f"{go}.ready-{os.getpid()}").touch()
        while not Path(go).exists():
            time.sleep(0.01)


if __name__ == "__main__":
    wait_for_go()
    mode, *args = sys.argv[1:]
    if mode == "live":
        window = int(args[3]) if len(args) > 3 else None
        sys.exit(live(args[0], args[1], int(args[2]), window))
    sys.exit(replay(args[0], int(args[1]), args[2]))
