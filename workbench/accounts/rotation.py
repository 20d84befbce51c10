"""Secret-key rotation: re-encrypt every stored API key with the newest Fernet key."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import Engine

from workbench.accounts.api_keys import rotate_api_keys
from workbench.db.engine import session_scope
from workbench.settings import Settings, get_settings


def rotate_secret_key(
    *, settings: Settings | None = None, engine: Engine | None = None
) -> tuple[int, bool]:
    """Rotate; returns (rows re-encrypted, whether a new key was generated).

    Development (key file in the home): a new key is put first in the file, every row is
    re-encrypted in one transaction, then the old keys are dropped from the file. A crash
    in between leaves both keys in the file, so nothing becomes unreadable.
    With WORKBENCH_SECRET_KEY set, the first key listed there is the new one.
    """
    settings = settings or get_settings()
    generated = settings.secret_key is None
    if generated:
        old = settings.fernet_keys()
        new = Fernet.generate_key().decode()
        _write_keys(settings.secret_key_file, [new, *old])
    with session_scope(engine) as session:
        count = rotate_api_keys(session=session, settings=settings)
    if generated:
        _write_keys(settings.secret_key_file, [new])
    return count, generated


def _write_keys(path: Path, keys: list[str]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(keys) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
