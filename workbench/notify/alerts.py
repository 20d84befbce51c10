"""The alert outbox: queue in the caller's transaction, deliver later, never break a tick."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from workbench.db.engine import session_scope
from workbench.db.models import Alert
from workbench.notify.notifiers import active_urls
from workbench.redact import RedactFilter
from workbench.settings import Settings

log = logging.getLogger(__name__)

RATE_PER_MINUTE = 20  # alerts sent per minute at most; the rest wait their turn
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)


class AlertKind(StrEnum):
    FILL = "fill"
    HALT = "halt"
    JOB_FAILED = "job_failed"
    SCHEDULER_STOPPED = "scheduler_stopped"
    DIVERGENCE = "divergence"
    TEST = "test"


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)  # alert ids every notifier took
    failed: list[int] = field(default_factory=list)  # alert ids left for a retry
    waiting: int = 0  # due alerts held back by the rate limit


def queue_alert(
    *,
    session: Session,
    kind: AlertKind,
    dedupe_key: str,
    title: str,
    body: str,
    now: datetime | None = None,
) -> bool:
    """Write an alert to the outbox, once per ``dedupe_key`` (a repeat is a no-op).
    Returns whether it is new. Part of the caller's transaction."""
    try:
        with session.begin_nested():
            session.add(
                Alert(
                    kind=kind.value,
                    dedupe_key=dedupe_key[:200],
                    title=title[:200],
                    body=body,
                    next_attempt_at=now or datetime.now(UTC),
                )
            )
    except IntegrityError:
        if session.scalar(sa.select(Alert.id).where(Alert.dedupe_key == dedupe_key[:200])):
            return False
        raise
    return True


def deliver(
    *,
    engine: Engine,
    settings: Settings | None = None,
    now: datetime | None = None,
    rate_per_minute: int = RATE_PER_MINUTE,
) -> DeliveryReport:
    """Send the due alerts to every active notifier. A notifier that fails is logged (its
    URL redacted) and retried with backoff; nothing here raises for a failed send."""
    now = now or datetime.now(UTC)
    report = DeliveryReport()
    with session_scope(engine) as session:
        urls = active_urls(session=session, settings=settings)
        if not urls:
            return report
        recent = session.scalar(
            sa.select(sa.func.count())
            .select_from(Alert)
            .where(Alert.sent_at.is_not(None), Alert.sent_at > now - timedelta(minutes=1))
        )
        room = max(rate_per_minute - int(recent or 0), 0)
        due = sa.select(Alert).where(Alert.sent_at.is_(None), Alert.next_attempt_at <= now)
        pending = list(session.scalars(due.order_by(Alert.id).limit(room)))
        report.waiting = int(
            session.scalar(sa.select(sa.func.count()).select_from(due.subquery())) or 0
        ) - len(pending)
        with _redacted(urls.values()):
            for alert in pending:
                _send(alert, urls, now)
                (report.sent if alert.sent_at else report.failed).append(alert.id)
    return report


def deliver_after(engine: Engine) -> None:
    """Deliver what is due once the caller's own work is committed: a database hiccup here
    is logged (the alerts stay queued for the next delivery), never the caller's failure."""
    try:
        deliver(engine=engine)
    except SQLAlchemyError:
        log.exception("alerts not delivered now; they stay queued")


def _send(alert: Alert, urls: dict[int, str], now: datetime) -> None:
    import apprise

    delivered = list(alert.delivered_to or [])
    failed: list[int] = []
    for notifier_id, url in urls.items():
        if notifier_id in delivered:
            continue
        target = apprise.Apprise()
        target.add(url)
        try:
            ok = bool(target.notify(title=alert.title, body=alert.body))
        except Exception:  # a plugin's own bug must not stop a tick; logged in full
            log.exception("notifier %s raised while sending alert %s", notifier_id, alert.id)
            ok = False
        (delivered if ok else failed).append(notifier_id)
    alert.delivered_to = delivered
    alert.attempts += 1
    if failed:
        wait = min(FIRST_RETRY * 2 ** (alert.attempts - 1), LAST_RETRY)
        alert.next_attempt_at = now + wait
        ids = ", ".join(map(str, failed))
        alert.last_error = f"notifier(s) {ids} failed; retry in {int(wait.total_seconds())} s"
        log.warning("alert %s: %s", alert.id, alert.last_error)
    else:
        alert.sent_at = now
        alert.last_error = None


@contextmanager
def _redacted(urls: Iterable[str]) -> Iterator[None]:
    """While sending, the URLs' tokens and passwords never reach a log line (apprise and
    urllib3 log request URLs at debug level)."""
    secrets: list[str] = []
    for url in urls:
        parts = urlsplit(url)
        pieces = [url, parts.password or "", parts.username or "", parts.query]
        pieces += [unquote(p) for p in parts.path.split("/")]
        pieces += [parts.netloc, parts.netloc.rpartition("@")[0]]
        secrets += [p for p in pieces if len(p) >= 6]
    flt = RedactFilter(secrets)
    loggers = [logging.getLogger(n) for n in ("apprise", "urllib3.connectionpool")]
    for logger in loggers:
        logger.addFilter(flt)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(flt)
