"""Regression for the fault-injection probe: a bot ticked by real processes that are killed
with SIGKILL at random moments makes exactly the trades of an undisturbed run (the probe:
234 kills over 420 ticks, 0 duplicates, 0 lost trades; here sized for CI)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine

from tests.bots.conftest import make_setup
from workbench.bots.runner import run_tick
from workbench.db.models import Trade

ROOT = Path(__file__).resolve().parents[2]
CHILD = [sys.executable, "-m", "tests.bots.tick_child", "replay"]
BARS = 400
KILLS = 12


def trades(engine: Engine, bot_id: int) -> list[tuple[str, str]]:
    """(client order id without the bot id, side) of the bot's trades, in order."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Trade.client_order_id, Trade.side)
            .where(Trade.bot_config_id == bot_id)
            .order_by(Trade.id)
        )
        return [(str(c).split("-", 1)[1], str(s)) for c, s in rows]


def test_random_sigkills_over_many_ticks_double_and_lose_nothing(
    engine: Engine, shared_data: Path
) -> None:
    clean = make_setup(engine, shared_data, bars=BARS, account="clean")
    for moment in clean.times[1:]:
        clean.prices.advance_to(moment)
        run_tick(clean.bot_id, engine=engine, exchange=clean.paper, history=None)
    expected = trades(engine, clean.bot_id)
    assert len(expected) >= 6

    crashy = make_setup(engine, shared_data, bars=BARS, account="crashy")
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(20261201)
    kills = 0
    while True:
        child = subprocess.Popen(
            [*CHILD, url, str(crashy.bot_id), "crashy"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            child.stdout.readline()  # "ready": started up, ticking from here
            if kills < KILLS:
                try:
                    child.wait(timeout=rng.uniform(0.02, 0.4))
                except subprocess.TimeoutExpired:
                    child.send_signal(signal.SIGKILL)
                    kills += 1
            child.wait(timeout=600)
        finally:
            if child.poll() is None:
                child.kill()
            child.communicate()
        if child.returncode == 0:
            break
        assert child.returncode == -signal.SIGKILL
    assert kills == KILLS

    got = trades(engine, crashy.bot_id)
    assert got == expected  # 0 lost, 0 doubled
    orders = crashy.paper.fetch_orders()
    assert len(orders) == len(got)  # the exchange saw each order once
    assert len({o.client_order_id for o in orders}) == len(orders)
    assert crashy.paper.fetch_balance()["BTC"].total == clean.paper.fetch_balance()["BTC"].total
