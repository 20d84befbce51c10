"""Which secrets a job run must keep out of everything it writes.

A notebook can print its environment or raise an error holding a connection string.
Every file of a run (output notebook, HTML, log) and the error stored on the row pass
through ``workbench.redact`` (``scrub_text``, ``scrub_file``, ``scrub_value``) with the
secret values listed here: the Fernet keys, the database and Redis passwords, the values
of environment variables whose names look like credentials, and (:func:`credential_values`)
every exchange credential stored in the database, decrypted, since a job may decrypt any.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from workbench.jobs.params import looks_secret
from workbench.redact import quoted_forms
from workbench.settings import Settings

# Environment values shorter than this are too likely to be ordinary words to replace.
MIN_ENV_SECRET = 8
MIN_SECRET = 6


def secret_values(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every secret value this process knows of, longest first."""
    environ = os.environ if environ is None else environ
    found: set[str] = set()
    if settings.secret_key is not None:
        found.update(_split(settings.secret_key.get_secret_value()))
    key_file = settings.secret_key_file
    if key_file.is_file():
        found.update(_split(key_file.read_text()))
    found.update(_url_password(settings.database_url))
    if settings.redis_url is not None:
        found.update(_url_password(settings.redis_url.get_secret_value()))
    for name, value in environ.items():
        if looks_secret(name) and len(value.strip()) >= MIN_ENV_SECRET:
            found.update(_split(value))
        elif "://" in value:
            found.update(_url_password(value))
    return _longest_first(quoted_forms(found, min_length=MIN_SECRET))


def credential_values(engine: Engine, settings: Settings | None = None) -> list[str]:
    """The decrypted key and secret of every stored exchange API key (with their URL-quoted
    forms). Keys this process cannot decrypt (another secret key) are passed over."""
    from workbench.accounts.crypto import decrypt
    from workbench.db.engine import session_scope
    from workbench.db.models import ApiKey
    from workbench.errors import WorkbenchError

    try:
        with session_scope(engine) as session:
            tokens = session.execute(
                select(ApiKey.api_key_encrypted, ApiKey.secret_key_encrypted)
            ).all()
    except SQLAlchemyError:
        return []  # no api_keys table (an old or foreign database): nothing to hide
    found: list[str] = []
    for row in tokens:
        for token in row:
            try:
                found.append(decrypt(token, settings=settings))
            except WorkbenchError:
                continue
    return _longest_first(quoted_forms(found, min_length=MIN_SECRET))


def _longest_first(values: set[str]) -> list[str]:
    return sorted(values, key=lambda v: (-len(v), v))


def _split(raw: str) -> list[str]:
    parts = [p.strip() for p in raw.replace("\n", ",").split(",")]
    whole = raw.strip()
    return [p for p in [*parts, whole] if p]


def _url_password(url: str) -> list[str]:
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        return []
    return [str(password)] if password else []
