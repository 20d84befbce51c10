"""Exchange API keys: stored encrypted, shown masked, decrypted only in memory."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.accounts.crypto import cipher, decrypt, encrypt, mask
from workbench.db.models import ApiKey
from workbench.errors import ConflictError, NotFoundError
from workbench.schemas import ApiKeyCreate, validate
from workbench.settings import Settings


@dataclass(frozen=True, repr=False)
class Credentials:
    """A decrypted key pair; its repr never shows the values."""

    api_key: str
    secret: str

    def __repr__(self) -> str:
        return f"Credentials(api_key={mask(self.api_key)!r}, secret='***')"


def add_api_key(
    *,
    session: Session,
    user_id: int,
    exchange: str,
    key_name: str,
    api_key: str,
    api_secret: str,
    sandbox: bool = False,
    settings: Settings | None = None,
) -> ApiKey:
    """Store a key (encrypted). ``sandbox``: a key of the exchange's sandbox (testnet);
    bots using it trade there (ccxt sandbox mode), never on the live exchange."""
    data = validate(
        ApiKeyCreate,
        {"exchange": exchange, "key_name": key_name, "api_key": api_key, "api_secret": api_secret},
    )
    exists = select(ApiKey.id).where(
        ApiKey.user_id == user_id,
        ApiKey.exchange == data.exchange,
        ApiKey.key_name == data.key_name,
    )
    if session.scalar(exists) is not None:
        raise ConflictError(
            f"an API key named {data.key_name!r} for {data.exchange} already exists"
        )
    plain_key = data.api_key.get_secret_value()
    row = ApiKey(
        user_id=user_id,
        exchange=data.exchange,
        key_name=data.key_name,
        api_key_encrypted=encrypt(plain_key, settings=settings),
        secret_key_encrypted=encrypt(data.api_secret.get_secret_value(), settings=settings),
        key_masked=mask(plain_key),
        sandbox=sandbox,
    )
    session.add(row)
    session.flush()
    return row


def list_api_keys(*, session: Session, user_id: int | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.exchange, ApiKey.key_name)
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    return list(session.scalars(query))


def credentials(
    *, session: Session, api_key_id: int, settings: Settings | None = None
) -> Credentials:
    row = session.get(ApiKey, api_key_id)
    if row is None:
        raise NotFoundError(f"no API key with id {api_key_id}; see `workbench keys list`")
    return Credentials(
        api_key=decrypt(row.api_key_encrypted, settings=settings),
        secret=decrypt(row.secret_key_encrypted, settings=settings),
    )


def key_label(row: ApiKey) -> str:
    """How a key is shown wherever it is chosen or listed: name, masked key, and whether it
    is a sandbox (testnet) key."""
    return f"{row.key_name} ({row.exchange}, {row.key_masked}{', SANDBOX' if row.sandbox else ''})"


def rotate_api_keys(*, session: Session, settings: Settings | None = None) -> int:
    """Re-encrypt every stored key with the newest secret key; returns how many rows."""
    fernet = cipher(settings)
    rows = list(session.scalars(select(ApiKey)))
    for row in rows:
        row.api_key_encrypted = fernet.rotate(row.api_key_encrypted.encode()).decode()
        row.secret_key_encrypted = fernet.rotate(row.secret_key_encrypted.encode()).decode()
    session.flush()
    return len(rows)
