"""Live ticks as real processes against the fake Binance server in its own process: late
executions, racing processes configured differently, lost locks, Redis dying or restarting
mid-tick, SIGKILL during a send. Every test counts the orders the exchange holds and the
trades the database holds."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from tests.fakes.binance import FakeBinanceProcess
from workbench.accounts import local_user
from workbench.bots import create_bot
from workbench.bots.tick_lock import ADVISORY_CLASS
from workbench.db import session_scope
from workbench.db.models import BotEvent, BotState, Trade

ROOT = Path(__file__).resolve().parents[2]
DAY = 86_400_000
ORDER = "POST /api/v3/order"
FLAT = [30_000.0] * 60


@pytest.fixture
def fake() -> Iterator[FakeBinanceProcess]:
    with FakeBinanceProcess() as process:
        yield process


def show(fake: FakeBinanceProcess, closes: list[float], last_day_ago: int = 1) -> None:
    """Daily BTC/USDT bars closing at ``closes``, the newest closed ``last_day_ago`` days
    ago (so a test shows a later bar by calling again with one more close)."""
    today = int(time.time() * 1000) // DAY * DAY
    n = len(closes)
    rows = [
        [today - (last_day_ago + n - 1 - i) * DAY, c, c, c, c, 5.0] for i, c in enumerate(closes)
    ]
    fake.command("set", klines={"BTCUSDT": rows}, prices={"BTCUSDT": str(closes[-1])})


def live_bot(engine: Engine, name: str) -> int:
    with session_scope(engine) as session:
        return create_bot(
            session=session,
            user_id=local_user(session=session).id,
            name=name,
            exchange="binance",
            symbol="BTC/USDT",
            timeframe="1d",
            strategy="ema_cross",
            ema_fast=3,
            ema_slow=8,
            initial_capital="1000",
            dry_run=False,
        ).id


def db_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def other_spelling(engine: Engine, tmp_path: Path) -> str:
    """The same database under another URL: localhost for 127.0.0.1, a symlinked folder."""
    if engine.dialect.name == "postgresql":
        return db_url(engine).replace("@127.0.0.1", "@localhost")
    alias = tmp_path / "alias"
    alias.symlink_to(Path(str(engine.url.database)).parent)
    return f"sqlite:///{alias / Path(str(engine.url.database)).name}"


_running: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_tick_outlives_its_test() -> Iterator[None]:
    yield
    while _running:
        process = _running.pop()
        if process.poll() is None:
            process.kill()
        process.communicate()


@dataclass
class Tick:
    process: subprocess.Popen[str]

    def wait_ready(self, go: Path) -> None:
        """Until the process has started up (imports done) and waits for ``go``."""
        wait_for(lambda: Path(f"{go}.ready-{self.process.pid}").exists(), timeout=120)

    def finish(self, timeout: float = 60) -> tuple[int, dict[str, Any], str]:
        out, err = self.process.communicate(timeout=timeout)
        result = json.loads(out) if self.process.returncode == 0 else {}
        return self.process.returncode, result, err


def tick(
    url: str,
    fake: FakeBinanceProcess,
    bot_id: int,
    home: Path,
    *,
    window_ms: int | None = None,
    redis_url: str | None = None,
    timeout_ms: int = 6000,
    go: Path | None = None,
) -> Tick:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WORKBENCH_HOME": str(home),
        "WORKBENCH_ENV": "development",
        "WORKBENCH_DATABASE_URL": url,
        "TICK_CHILD_TIMEOUT_MS": str(timeout_ms),
        "TICK_CHILD_GO": str(go or ""),
    }
    env.pop("WORKBENCH_REDIS_URL", None)
    if redis_url:
        env["WORKBENCH_REDIS_URL"] = redis_url
    args = ["live", url, fake.url, str(bot_id)] + ([str(window_ms)] if window_ms else [])
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bots.tick_child", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _running.append(process)
    return Tick(process)


def wait_for(what: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def order_requests(fake: FakeBinanceProcess) -> int:
    return int(fake.snapshot()["requests"].get(ORDER, 0))


def exchange_orders(fake: FakeBinanceProcess) -> list[dict[str, Any]]:
    return list(fake.snapshot()["orders"])


def trades(engine: Engine, bot_id: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Trade.client_order_id, Trade.side)
            .where(Trade.bot_config_id == bot_id)
            .order_by(Trade.id)
        )
        return [(str(c), str(s)) for c, s in rows]


def test_an_order_executed_late_is_recorded_once_never_sent_twice(
    engine: Engine, fake: FakeBinanceProcess, tmp_path: Path
) -> None:
    """The exchange executes the first request 10 s late; the client gave up after 1 s."""
    bot_id = live_bot(engine, "late")
    show(fake, [*FLAT, 30_600.0])
    fake.command("set", late_seconds=10)
    fake.command("fail_next", kind="late", path="/api/v3/order")
    started = time.monotonic()
    outcomes = []
    while True:
        code, result, err = tick(db_url(engine), fake, bot_id, tmp_path / "home").finish()
        outcomes.append(code)
        if code == 0:
            break
        with engine.connect() as conn:
            data = conn.scalar(
                sa.select(BotState.state_data).where(BotState.bot_config_id == bot_id)
            )
        assert data["intent"]["fate"] == "unknown"  # persisted, for the next tick to resolve
        assert code == 75 and ("fate is unknown" in err or "not sent again" in err), err
        assert time.monotonic() - started < 180
    assert result["decision"] == "enter"
    wait_for(lambda: time.monotonic() - started > 11)  # past the late execution
    assert len(exchange_orders(fake)) == 1  # 1 order
    assert order_requests(fake) == 1
    assert trades(engine, bot_id) == [(result["order"], "buy")]  # 1 trade
    assert outcomes[0] == 75  # the first tick did not pretend to know


def test_two_processes_configured_differently_never_both_send(
    engine: Engine, fake: FakeBinanceProcess, tmp_path: Path
) -> None:
    """Different homes (embedded caches) and URL spellings, one database: one order."""
    bot_id = live_bot(engine, "race")
    show(fake, [*FLAT, 30_600.0])
    fake.command("set", latency={"/api/v3/order": 3})
    go = tmp_path / "go"
    first = tick(db_url(engine), fake, bot_id, tmp_path / "home-a", go=go)
    second = tick(other_spelling(engine, tmp_path), fake, bot_id, tmp_path / "home-b", go=go)
    first.wait_ready(go)
    second.wait_ready(go)
    go.touch()  # both tick now
    (code_a, _, err_a), (code_b, _, err_b) = first.finish(), second.finish()
    assert sorted([code_a, code_b]) == [0, 75], (err_a, err_b)
    busy = err_a if code_a else err_b
    assert "already running a tick" in busy and "Deadlock" not in busy
    assert len(exchange_orders(fake)) == 1
    assert len(trades(engine, bot_id)) == 1


def test_a_lock_lost_mid_tick_stops_the_tick_before_the_order(
    engine: Engine, fake: FakeBinanceProcess, tmp_path: Path
) -> None:
    bot_id = live_bot(engine, "lost")
    show(fake, [*FLAT, 30_600.0])
    fake.command("set", latency={"/api/v3/ticker/24hr": 4})  # the tick is mid-way
    running = tick(db_url(engine), fake, bot_id, tmp_path / "home")
    wait_for(lambda: fake.snapshot()["requests"].get("GET /api/v3/ticker/24hr", 0) > 0)
    if engine.dialect.name == "postgresql":  # the server drops the lock's connection
        with engine.connect() as conn:
            pids = conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM (SELECT DISTINCT pid FROM pg_locks"
                    " WHERE locktype = 'advisory' AND classid = :c AND objid = :o AND"
                    " database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())) AS holders"
                ),
                {"c": ADVISORY_CLASS, "o": bot_id},
            ).all()
        assert len(pids) == 1, pids
    else:  # someone removes the lock file
        lock_file = Path(str(engine.url.database) + ".locks") / f"bot-{bot_id}.lock"
        lock_file.unlink()
    code, _, err = running.finish()
    assert code == 1 and "tick lock was lost" in err and "no order was sent" in err, err
    assert order_requests(fake) == 0 and trades(engine, bot_id) == []


class PrivateRedis:
    """A redis-server of this test's own, on a free port, that the test kills and restarts."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), timeout=10)
        client.close()

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None


def _pings(client: Any) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if subprocess.run(["which", "redis-server"], capture_output=True).returncode:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis()
    server.start()
    yield server
    server.kill()


def test_redis_restarted_mid_tick_cannot_cause_a_second_send(
    engine: Engine, fake: FakeBinanceProcess, tmp_path: Path, private_redis: PrivateRedis
) -> None:
    bot_id = live_bot(engine, "restart")
    show(fake, [*FLAT, 30_600.0])
    fake.command("set", latency={"/api/v3/order": 10})  # room for a restart under load
    home, go = tmp_path / "home", tmp_path / "go"
    redis_url = private_redis.url
    first = tick(db_url(engine), fake, bot_id, home, redis_url=redis_url, timeout_ms=30_000)
    second = tick(db_url(engine), fake, bot_id, home, redis_url=private_redis.url, go=go)
    second.wait_ready(go)
    wait_for(lambda: order_requests(fake) == 1)  # the first tick's order is on its way
    private_redis.kill()
    private_redis.start()  # empty: every lock it held is gone
    go.touch()  # the second tick starts now
    code_b, _, err_b = second.finish()
    code_a, result_a, err_a = first.finish()

    assert code_a == 0 and result_a["decision"] == "enter", err_a
    assert code_b == 75 and "already running a tick" in err_b, (code_b, err_b)
    time.sleep(1)
    assert len(exchange_orders(fake)) == 1
    assert trades(engine, bot_id) == [(result_a["order"], "buy")]


def test_redis_dying_after_the_order_reports_what_was_done(
    engine: Engine, fake: FakeBinanceProcess, tmp_path: Path, private_redis: PrivateRedis
) -> None:
    bot_id = live_bot(engine, "redis-dies")
    show(fake, [*FLAT, 30_600.0])
    fake.command("set", latency={"/api/v3/order": 3})
    running = tick(db_url(engine), fake, bot_id, tmp_path / "home", redis_url=private_redis.url)
    wait_for(lambda: order_requests(fake) == 1)
    private_redis.kill()
    code, result, err = running.finish()
    assert code == 0, err  # not a retryable 75: order, trade and state are committed
    assert result["decision"] == "enter" and result["order"]
    assert trades(engine, bot_id) == [(result["order"], "buy")]
    assert len(exchange_orders(fake)) == 1


def test_an_exit_decided_before_a_crash_stays_due_in_a_later_bar(
    engine: Engine, fake: FakeBinanceProcess, tmp_path: Path
) -> None:
    bot_id = live_bot(engine, "due")
    home, url = tmp_path / "home", db_url(engine)
    fake.command("set", balances={"BTC": "0"})
    show(fake, [*FLAT, 30_600.0], last_day_ago=3)
    code, entered, err = tick(url, fake, bot_id, home).finish()
    assert code == 0 and entered["decision"] == "enter", err
    # The next bar falls: the tick decides to exit and dies while the sell is on its way
    # (the exchange holds the request and never executes it).
    show(fake, [*FLAT, 30_600.0, 29_000.0], last_day_ago=2)
    fake.command("set", delay_seconds=60)
    fake.command("fail_next", kind="timeout", path="/api/v3/order")
    dying = tick(url, fake, bot_id, home)
    wait_for(lambda: order_requests(fake) == 2)
    dying.process.send_signal(signal.SIGKILL)
    dying.process.communicate()
    # A later bar without a new signal: the exit is still due and is sent now.
    show(fake, [*FLAT, 30_600.0, 29_000.0, 29_000.0], last_day_ago=1)
    code, result, err = tick(url, fake, bot_id, home, window_ms=500).finish()
    assert code == 0, err
    assert result["decision"] == "exit" and "still due" in result["note"]
    sides = [o["side"] for o in exchange_orders(fake)]
    assert sides == ["BUY", "SELL"]
    assert [s for _, s in trades(engine, bot_id)] == ["buy", "sell"]
    with engine.connect() as conn:
        reasons = list(
            conn.execute(
                sa.select(BotEvent.reason).where(
                    BotEvent.bot_id == bot_id, BotEvent.decision == "exit"
                )
            ).scalars()
        )
    assert len(reasons) == 1 and "not delivered then; still due" in reasons[0]
