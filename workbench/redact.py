"""A logging filter that masks known secret strings: one for every library that logs them."""

from __future__ import annotations

import logging
from collections.abc import Iterable


class RedactFilter(logging.Filter):
    """Replaces each of ``secrets`` in a record's message by ``***`` (longest first)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = set(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in sorted(self.secrets, key=len, reverse=True):
                message = message.replace(secret, "***")
            record.msg, record.args = message, ()
        return True
