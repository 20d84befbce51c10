"""Secret redaction, in one place: masking known secret strings in text, JSON-like values,
files and log records, and hiding the passwords of URLs.

Job runs replace secrets by ``REDACTED``; log lines and URLs by ``***``. The log filter
(``RedactFilter``) masks the secrets it was made with plus those of the objects that
``track`` it: an object's secrets are masked while it lives and forgotten when it is
garbage collected (or ``forget`` is called), so the set never grows without bound.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

REDACTED = "[secret removed]"
MASK = "***"


def scrub_text(text: str, secrets: Iterable[str], replacement: str = REDACTED) -> str:
    """``text`` with each of ``secrets`` replaced (longest first, so a secret that contains
    another is masked whole)."""
    for secret in sorted(set(secrets), key=lambda s: (-len(s), s)):
        if secret and secret in text:
            text = text.replace(secret, replacement)
    return text


def scrub_value(value: Any, secrets: list[str], replacement: str = REDACTED) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with every secret replaced."""
    if isinstance(value, str):
        return scrub_text(value, secrets, replacement)
    if isinstance(value, dict):
        return {k: scrub_value(v, secrets, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v, secrets, replacement) for v in value]
    return value


def scrub_file(path: Path, secrets: list[str]) -> None:
    """Rewrite the text file ``path`` without secrets (no-op when it holds none)."""
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    clean = scrub_text(text, secrets)
    if clean != text:
        path.write_text(clean, encoding="utf-8")


def quoted_forms(values: Iterable[str], *, min_length: int = 1) -> set[str]:
    """Each value of at least ``min_length`` characters with its URL-quoted forms (a
    secret can appear quoted in a URL or a form body)."""
    return {
        form
        for value in values
        if len(value) >= min_length
        for form in (value, quote(value, safe=""), quote_plus(value))
    }


def redact_url(url: str) -> str:
    """``url`` with any password (in the user part or the query) replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, has_password, _ = userinfo.partition(":")
        if has_password:
            netloc = f"{user}:{MASK}@{host}"
    query = urlencode(
        [(k, MASK if k.lower() == "password" else v) for k, v in parse_qsl(parts.query)]
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


class RedactFilter(logging.Filter):
    """Replaces known secrets in a record's message by ``***``: the ``secrets`` given here,
    and those each tracked object registered, for as long as that object lives."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.fixed = frozenset(s for s in secrets if s)
        self._tracked: dict[int, frozenset[str]] = {}
        self._lock = threading.Lock()

    def track(self, owner: object, secrets: Iterable[str]) -> None:
        """Mask ``secrets`` while ``owner`` lives (they are dropped when it is collected)."""
        key = id(owner)
        with self._lock:
            self._tracked[key] = frozenset(s for s in secrets if s)
        weakref.finalize(owner, self._drop, key)

    def forget(self, owner: object) -> None:
        """Stop masking ``owner``'s secrets now."""
        self._drop(id(owner))

    def secrets(self) -> frozenset[str]:
        """Every secret masked now."""
        with self._lock:
            return self.fixed.union(*self._tracked.values())

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets()
        if secrets:
            message = record.getMessage()
            masked = scrub_text(message, secrets, MASK)
            if masked != message:
                record.msg, record.args = masked, ()
        return True

    def _drop(self, key: int) -> None:
        with self._lock:
            self._tracked.pop(key, None)
