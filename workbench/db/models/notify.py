"""Alert destinations (apprise URLs, stored encrypted) and the outbox of alerts to send."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db.base import Base, Timestamps


class Notifier(Timestamps, Base):
    """Where alerts go: an apprise URL (Telegram, Slack, Discord, e-mail, a webhook)."""

    __tablename__ = "notifiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(100), unique=True)
    # The URL holds tokens or passwords: stored encrypted, shown as its scheme only.
    url_encrypted: Mapped[str] = mapped_column(String(4096))
    url_masked: Mapped[str] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(default=True, server_default="1")


class Alert(Timestamps, Base):
    """One alert, written before it is sent (an outbox): a notifier that fails leaves it
    pending for the next delivery, and ``dedupe_key`` makes a repeated alert a no-op."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # Ids of the notifiers that took it: a retry goes only to the others.
    delivered_to: Mapped[list[int]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
