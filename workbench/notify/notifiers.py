"""Notifier rows: an apprise URL per destination, encrypted at rest, masked when shown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.accounts.crypto import decrypt, encrypt
from workbench.db.models import Notifier
from workbench.errors import ConflictError, NotFoundError, ValidationError
from workbench.settings import Settings

_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)


@dataclass(frozen=True)
class NotifierView:
    """A notifier as shown to people: never its URL."""

    id: int
    label: str
    kind: str  # the URL's scheme: tgram, slack, discord, mailto, json, ...
    is_active: bool
    created_at: datetime


def add_notifier(
    *, session: Session, label: str, url: str, settings: Settings | None = None
) -> NotifierView:
    """Store ``url`` (an apprise URL) encrypted under ``label``."""
    import apprise

    label = label.strip()
    if not label or not label.isprintable() or len(label) > 100:
        raise ValidationError({"label": "must be 1-100 printable characters"}, entity="notifier")
    scheme = _SCHEME.match(url.strip())
    if scheme is None or apprise.Apprise.instantiate(url.strip()) is None:
        # The URL is a secret: the message names the field, never echoes the value.
        raise ValidationError(
            {
                "url": "not a notification URL apprise supports (e.g. tgram://TOKEN/CHAT_ID, "
                "slack://…, discord://…, mailto://…, json://host/path); see apprise's wiki"
            },
            entity="notifier",
        )
    if session.scalar(sa.select(Notifier.id).where(Notifier.label == label)) is not None:
        raise ConflictError(
            f"a notifier labelled {label!r} exists; remove it first or pick another"
        )
    row = Notifier(
        label=label,
        url_encrypted=encrypt(url.strip(), settings=settings),
        url_masked=f"{scheme.group(1).lower()}://…",
    )
    session.add(row)
    session.flush()
    return _view(row)


def list_notifiers(*, session: Session) -> list[NotifierView]:
    return [_view(n) for n in session.scalars(sa.select(Notifier).order_by(Notifier.id))]


def remove_notifier(*, session: Session, notifier_id: int) -> None:
    row = session.get(Notifier, notifier_id)
    if row is None:
        raise NotFoundError(f"no notifier with id {notifier_id}; see `workbench notify list`")
    session.delete(row)


def active_urls(*, session: Session, settings: Settings | None = None) -> dict[int, str]:
    """Decrypted URLs of the active notifiers, by id: kept in memory only."""
    rows = session.scalars(sa.select(Notifier).where(Notifier.is_active.is_(True)))
    return {n.id: decrypt(n.url_encrypted, settings=settings) for n in rows}


def _view(row: Notifier) -> NotifierView:
    return NotifierView(
        id=row.id,
        label=row.label,
        kind=row.url_masked.removesuffix("://…"),
        is_active=row.is_active,
        created_at=row.created_at,
    )
