"""The workbench's error tree, named for what the caller does next.

WorkbenchError
├── TemporaryError        retry later (network, rate limit, exchange 5xx, busy lock)
├── OperationalError      stop and have a person look (config, credentials, exchange down)
│   ├── ConfigError           settings are missing or wrong
│   └── AuthenticationError   exchange refused the API key
└── RejectedError         the input or order is wrong; fix it, retrying will not help
    ├── ValidationError       field-by-field messages from a schema or a DB constraint
    ├── NotFoundError         the named row does not exist
    ├── ConflictError         the change would lose or duplicate data (delete a bot with trades)
    └── OrderRejectedError    the exchange refused an order (funds, size, price)

Only TemporaryError is retried (``workbench.retry``); everything else surfaces at once.
Messages never contain secrets.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base of every error the workbench raises on purpose."""


class TemporaryError(WorkbenchError):
    """Try again later: nothing is wrong with the request itself."""


class OperationalError(WorkbenchError):
    """Stop: a person must fix the setup before this can work."""


class ConfigError(OperationalError):
    """Settings are missing, a placeholder, or malformed."""


class AuthenticationError(OperationalError):
    """The exchange refused the credentials."""


class RejectedError(WorkbenchError):
    """The request is wrong; retrying it unchanged will fail again."""


class ValidationError(RejectedError):
    """Bad input. ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str], *, entity: str = "input") -> None:
        self.errors = dict(errors)
        self.entity = entity
        detail = "; ".join(f"{field}: {msg}" for field, msg in self.errors.items())
        super().__init__(f"invalid {entity}: {detail}")


class NotFoundError(RejectedError):
    """The named row does not exist."""


class ConflictError(RejectedError):
    """The change would lose or duplicate data."""


class OrderRejectedError(RejectedError):
    """The exchange refused the order."""
