"""The tick under crashes, concurrency and exchange faults: nothing lost, nothing doubled."""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from tests.bots.conftest import Setup, make_setup
from workbench.bots.runner import run_tick
from workbench.cache import LockBusyError
from workbench.db.models import BotState, Trade
from workbench.market.exchange import Exchange, Order


class Crash(BaseException):
    """The process dies here (not an error anything may catch)."""


class CrashingExchange:
    """A real exchange in front of another that dies at a chosen step, once."""

    def __init__(self, inner: Exchange, step: str | None) -> None:
        self.inner, self.step, self.id = inner, step, inner.id

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _maybe_crash(self, step: str) -> None:
        if self.step == step:
            self.step = None
            raise Crash(step)

    def fetch_ticker(self, symbol: str) -> Any:
        self._maybe_crash("before_order")
        return self.inner.fetch_ticker(symbol)

    def create_order(self, *args: Any, **kwargs: Any) -> Order:
        order = self.inner.create_order(*args, **kwargs)
        self._maybe_crash("after_accept")
        return order


def trades(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(sa.select(Trade.client_order_id, Trade.side).order_by(Trade.id))
        ]


def run_all(setup: Setup, crash_at: dict[int, str] | None = None) -> list[tuple[str, str]]:
    crash_at = crash_at or {}
    for i, moment in enumerate(setup.times[1:]):
        setup.prices.advance_to(moment)
        exchange = CrashingExchange(setup.paper, crash_at.get(i))
        try:
            run_tick(
                setup.bot_id,
                engine=setup.engine,
                exchange=exchange,
                history=None,
            )
        except Crash:
            # The scheduler runs the tick again (same bar, new process).
            run_tick(
                setup.bot_id,
                engine=setup.engine,
                exchange=setup.paper,
                history=None,
            )
        if crash_at.get(i) == "after_commit":
            run_tick(
                setup.bot_id,
                engine=setup.engine,
                exchange=setup.paper,
                history=None,
            )
    return trades(setup.engine)


def test_crashes_at_every_step_lose_and_double_nothing(engine: Engine, shared_data: Path) -> None:
    clean = make_setup(engine, shared_data, account="clean")
    expected = run_all(clean)
    assert len(expected) >= 10
    rng = random.Random(7)
    steps = ["before_order", "after_accept", "after_commit"]
    for run in range(3):
        crashy = make_setup(engine, shared_data, account=f"crashy{run}")
        ticks = len(crashy.times) - 1
        crash_at = {rng.randrange(ticks): rng.choice(steps) for _ in range(40)}
        got = run_all(crashy, crash_at)
        mine = [t for t in got if t[0].startswith(f"wb{crashy.bot_id}-")]
        assert [(c.split("-", 1)[1], s) for c, s in mine] == [
            (c.split("-", 1)[1], s) for c, s in expected
        ]
        orders = crashy.paper.fetch_orders()
        assert len(orders) == len(mine)  # the exchange saw each order exactly once
        assert len({o.client_order_id for o in orders}) == len(orders)
        assert crashy.paper.fetch_balance()["BTC"].total == clean.paper.fetch_balance()["BTC"].total


def test_two_ticks_at_once_only_one_trades(setup: Setup) -> None:
    entry_bar = next(
        i
        for i, moment in enumerate(setup.times[1:], start=1)
        if _advance_and_decide(setup, moment) == "enter"
    )
    assert entry_bar > 0
    setup.prices.advance_to(setup.times[entry_bar + 1])

    class SlowExchange(CrashingExchange):
        def fetch_ohlcv(self, *args: Any, **kwargs: Any) -> Any:
            time.sleep(0.5)
            return self.inner.fetch_ohlcv(*args, **kwargs)

    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def tick() -> None:
        barrier.wait()
        try:
            result = run_tick(
                setup.bot_id,
                engine=setup.engine,
                exchange=SlowExchange(setup.paper, None),
                history=None,
            )
            outcomes.append(result.decision)
        except LockBusyError as e:
            outcomes.append(f"busy: {e}")

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    busy = [o for o in outcomes if o.startswith("busy")]
    assert len(busy) == 1 and "already running a tick" in busy[0]


def _advance_and_decide(setup: Setup, moment: datetime) -> str:
    setup.prices.advance_to(moment)
    return run_tick(setup.bot_id, engine=setup.engine, exchange=setup.paper, history=None).decision


def test_a_failed_tick_keeps_the_state_and_says_why(setup: Setup) -> None:
    setup.prices.advance_to(setup.times[50])
    run_tick(setup.bot_id, engine=setup.engine, exchange=setup.paper, history=None)
    with setup.engine.connect() as conn:
        before = conn.execute(sa.select(BotState.state_data)).scalar_one()

    class Broken(CrashingExchange):
        def fetch_ohlcv(self, *args: Any, **kwargs: Any) -> Any:
            from workbench.errors import TemporaryError

            raise TemporaryError("binance: 503 Service Unavailable")

    setup.prices.advance_to(setup.times[51])
    from workbench.errors import TemporaryError

    with pytest.raises(TemporaryError):
        run_tick(
            setup.bot_id,
            engine=setup.engine,
            exchange=Broken(setup.paper, None),
            history=None,
        )
    with setup.engine.connect() as conn:
        data, message = conn.execute(sa.select(BotState.state_data, BotState.status_message)).one()
    assert data == before
    assert message.startswith("tick failed: binance: 503")
    assert run_tick(
        setup.bot_id, engine=setup.engine, exchange=setup.paper, history=None
    ).decision in ("hold", "enter", "exit")


def test_a_new_tick_within_the_same_bar_waits(setup: Setup) -> None:
    setup.prices.advance_to(setup.times[30])
    first = run_tick(setup.bot_id, engine=setup.engine, exchange=setup.paper, history=None)
    again = run_tick(setup.bot_id, engine=setup.engine, exchange=setup.paper, history=None)
    assert first.decision != "wait" and again.decision == "wait"
    assert first.bar_time == setup.times[29]
    assert Decimal(0) <= setup.paper.fetch_balance()["BTC"].total <= Decimal(10)


def _is_running(setup: Setup) -> bool:
    with setup.engine.connect() as conn:
        return bool(
            conn.scalar(
                sa.select(BotState.is_running).where(BotState.bot_config_id == setup.bot_id)
            )
        )


def test_is_running_is_set_while_a_tick_runs_and_reset_after_it_also_on_failure(
    setup: Setup,
) -> None:
    from workbench.errors import TemporaryError

    seen: list[bool] = []

    class Watching(CrashingExchange):
        def fetch_ohlcv(self, *args: Any, **kwargs: Any) -> Any:
            seen.append(_is_running(setup))  # another connection, mid-tick
            return self.inner.fetch_ohlcv(*args, **kwargs)

    class Broken(Watching):
        def fetch_ticker(self, symbol: str) -> Any:
            raise TemporaryError("binance: 502 Bad Gateway")

    assert not _is_running(setup)
    setup.prices.advance_to(setup.times[40])
    run_tick(setup.bot_id, engine=setup.engine, exchange=Watching(setup.paper, None), history=None)
    assert seen == [True] and not _is_running(setup)
    setup.prices.advance_to(setup.times[41])
    with pytest.raises(TemporaryError):
        run_tick(
            setup.bot_id, engine=setup.engine, exchange=Broken(setup.paper, None), history=None
        )
    assert seen == [True, True] and not _is_running(setup)
