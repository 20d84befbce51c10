"""Alerts through apprise to a local webhook receiver: encrypted URLs, once per key,
rate-limited, a failing notifier retried with backoff and never raised."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from typer.testing import CliRunner

from workbench.cli import app
from workbench.db.engine import session_scope
from workbench.db.models import Alert, Notifier
from workbench.errors import ValidationError
from workbench.notify import AlertKind, add_notifier, deliver, list_notifiers, queue_alert
from workbench.settings import Settings

TOKEN = "s3cr3t-T0KEN-abcdef"


class Receiver:
    """A webhook endpoint on localhost that records what apprise posts to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                if receiver.status == 200:
                    receiver.received.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.server.server_port}/{path}/{TOKEN}"

    def titles(self) -> list[str]:
        return [r["title"] for r in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _queue(engine: Engine, key: str, now: datetime | None = None) -> bool:
    with session_scope(engine) as session:
        return queue_alert(
            session=session,
            kind=AlertKind.FILL,
            dedupe_key=key,
            title=f"fill {key}",
            body="bought 0.1 BTC/USDT at 42000",
            now=now,
        )


def test_a_notifier_url_is_stored_encrypted_and_never_shown(
    settings: Settings, engine: Engine, receiver: Receiver
) -> None:
    with session_scope(engine) as session:
        view = add_notifier(session=session, label="ops", url=receiver.url())
        with pytest.raises(ValidationError, match="url: not a notification URL") as bad:
            add_notifier(session=session, label="bad", url=f"nosuch://{TOKEN}")
        assert TOKEN not in str(bad.value)
    assert (view.label, view.kind) == ("ops", "json")
    with engine.connect() as conn:
        stored = conn.execute(sa.select(Notifier.url_encrypted, Notifier.url_masked)).one()
    assert TOKEN not in stored.url_encrypted and stored.url_masked == "json://…"
    with session_scope(engine) as session:
        assert [v.label for v in list_notifiers(session=session)] == ["ops"]


def test_an_alert_is_sent_once_per_key(
    settings: Settings, engine: Engine, receiver: Receiver
) -> None:
    with session_scope(engine) as session:
        add_notifier(session=session, label="ops", url=receiver.url())
    assert _queue(engine, "trade:1") is True
    assert _queue(engine, "trade:1") is False  # a repeated tick queues nothing new
    report = deliver(engine=engine)
    assert len(report.sent) == 1 and report.failed == []
    assert receiver.titles() == ["fill trade:1"]
    assert receiver.received[0]["message"] == "bought 0.1 BTC/USDT at 42000"
    assert deliver(engine=engine).sent == []  # sent alerts are not sent again
    assert receiver.titles() == ["fill trade:1"]


def test_a_failing_notifier_is_retried_with_backoff_and_never_raises(
    settings: Settings, engine: Engine, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    healthy = Receiver()
    try:
        with session_scope(engine) as session:
            add_notifier(session=session, label="flaky", url=receiver.url())
            add_notifier(session=session, label="healthy", url=healthy.url())
        now = datetime(2026, 1, 1, 12, tzinfo=UTC)
        _queue(engine, "halt:1", now)
        receiver.status = 500
        with caplog.at_level(logging.DEBUG):
            first = deliver(engine=engine, now=now)
        assert first.failed and not first.sent
        assert TOKEN not in caplog.text  # apprise and urllib3 log URLs: redacted
        with engine.connect() as conn:
            row = conn.execute(sa.select(Alert)).one()
        assert row.attempts == 1 and row.sent_at is None
        assert row.next_attempt_at == now + timedelta(seconds=30)
        assert "failed; retry in 30 s" in (row.last_error or "")
        assert deliver(engine=engine, now=now + timedelta(seconds=10)).failed == []  # not due
        receiver.status = 200
        again = deliver(engine=engine, now=now + timedelta(seconds=31))
        assert again.sent == first.failed
        assert receiver.titles() == ["fill halt:1"]
        assert healthy.titles() == ["fill halt:1"]  # the healthy one was not sent it twice
    finally:
        healthy.close()


def test_alerts_are_rate_limited(settings: Settings, engine: Engine, receiver: Receiver) -> None:
    with session_scope(engine) as session:
        add_notifier(session=session, label="ops", url=receiver.url())
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    for i in range(7):
        _queue(engine, f"trade:{i}", now)
    first = deliver(engine=engine, now=now, rate_per_minute=5)
    assert (len(first.sent), first.waiting) == (5, 2)
    assert deliver(engine=engine, now=now + timedelta(seconds=5), rate_per_minute=5).sent == []
    later = deliver(engine=engine, now=now + timedelta(seconds=61), rate_per_minute=5)
    assert (len(later.sent), later.waiting) == (2, 0)
    assert len(receiver.received) == 7


def test_cli_adds_lists_and_tests_notifiers(settings: Settings, receiver: Receiver) -> None:
    runner = CliRunner()
    added = runner.invoke(app, ["notify", "add", "--label", "ops"], input=receiver.url() + "\n")
    assert added.exit_code == 0, added.output
    assert TOKEN not in added.output
    listed = runner.invoke(app, ["notify", "list", "--json"])
    assert TOKEN not in listed.stdout
    assert [(n["label"], n["kind"]) for n in json.loads(listed.stdout)] == [("ops", "json")]
    sent = runner.invoke(app, ["notify", "test", "--json"])
    assert sent.exit_code == 0, sent.output
    assert receiver.titles() == ["workbench test alert"]
    receiver.status = 500
    failed = runner.invoke(app, ["notify", "test"])
    assert failed.exit_code == 75 and "failed 1" in failed.stdout


def test_a_fill_a_failed_run_and_a_stopped_scheduler_are_alerted(
    home: object, receiver: Receiver
) -> None:
    import threading

    import workbench as wb
    from tests.jobs.conftest import NOTEBOOKS
    from workbench.db import default_engine
    from workbench.jobs import LocalExecutor, run_forever, run_notebook

    wb.init(sample=True)
    engine = default_engine()
    with session_scope(engine) as session:
        add_notifier(session=session, label="ops", url=receiver.url())
    bot = wb.create_bot(
        name="alerted", **wb.candles().attrs["market"], ema_fast=5, ema_slow=12, is_active=True
    )
    for moment in wb.candles().index[-300:]:  # ticks on paper until the first fill
        if wb.tick(bot, as_of=moment).decision == "enter":
            break
    assert [t for t in receiver.titles() if t.startswith(f"bot {bot}: enter")], receiver.titles()

    failed = run_notebook(NOTEBOOKS / "fail.ipynb", {}, timeout=300)
    assert deliver(engine=engine).sent
    assert f"job run {failed.id} failed: fail.ipynb" in receiver.titles()

    stop = threading.Event()
    stop.set()  # one tick, then the scheduler stops and says so
    run_forever(0.1, engine=engine, executor=LocalExecutor(engine=engine), stop=stop)
    assert any(t.startswith("scheduler stopped on ") for t in receiver.titles())
