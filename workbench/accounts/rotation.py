"""Secret-key rotation: re-encrypt every stored API key with the newest Fernet key.

Development (key file in the home): ``rotate_secret_key`` puts a new key first in the
file and re-encrypts every row in one transaction; the previous keys stay in the file,
so backups made before still restore, until ``drop_previous_keys`` removes them.
With WORKBENCH_SECRET_KEY set, list the new key first ("new,old"), rotate, then remove
the old key from the environment yourself.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine, select

from workbench.accounts.api_keys import rotate_api_keys
from workbench.db.engine import session_scope
from workbench.db.models import ApiKey
from workbench.errors import ConflictError, RejectedError
from workbench.settings import Settings, get_settings

HOW_TO_ROTATE = (
    "to rotate, make a key with `workbench keys generate`, set "
    "WORKBENCH_SECRET_KEY=<new>,<old>, run `workbench keys rotate`, then remove <old>"
)


def rotate_secret_key(
    *, settings: Settings | None = None, engine: Engine | None = None
) -> tuple[int, bool]:
    """Rotate; returns (rows re-encrypted, whether a new key was generated).

    A crash at any point leaves every row readable: the new key is written (beside the
    old ones) before any row is re-encrypted with it.
    """
    settings = settings or get_settings()
    generated = settings.secret_key is None
    if generated:
        old = settings.fernet_keys()
        _write_keys(settings.secret_key_file, [Fernet.generate_key().decode(), *old])
    elif len(settings.fernet_keys()) == 1:
        raise RejectedError(
            "nothing was rotated: WORKBENCH_SECRET_KEY holds a single key, which already "
            f"encrypts every API key; {HOW_TO_ROTATE}"
        )
    with session_scope(engine) as session:
        count = rotate_api_keys(session=session, settings=settings)
    return count, generated


def drop_previous_keys(*, settings: Settings | None = None, engine: Engine | None = None) -> int:
    """Remove every key but the newest from the development key file; returns how many.

    Refused while a stored API key still needs an older key (rotate first). Backups made
    with a dropped key can then only be restored with that key put back.
    """
    settings = settings or get_settings()
    if settings.secret_key is not None:
        raise RejectedError(
            "the keys come from WORKBENCH_SECRET_KEY: remove the old ones there yourself"
        )
    keys = settings.fernet_keys()
    newest = Fernet(keys[0].encode())
    with session_scope(engine) as session:
        for row in session.scalars(select(ApiKey)):
            try:
                newest.decrypt(row.api_key_encrypted.encode())
                newest.decrypt(row.secret_key_encrypted.encode())
            except InvalidToken:
                raise ConflictError(
                    f"API key {row.id} is not encrypted with the newest secret key yet; "
                    "run `workbench keys rotate` first"
                ) from None
    _write_keys(settings.secret_key_file, keys[:1])
    return len(keys) - 1


def _write_keys(path: Path, keys: list[str]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(keys) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
