"""Users and their exchange API keys (key and secret stored encrypted only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db.base import Base, Timestamps


class User(Timestamps, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(255))  # argon2 hash
    is_active: Mapped[bool] = mapped_column(default=True, server_default="1")
    # Holds the SHA-256 hash of the reset token (the token itself is never stored).
    reset_token: Mapped[str | None] = mapped_column(String(255))
    reset_token_expires: Mapped[datetime | None]


class ApiKey(Timestamps, Base):
    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("user_id", "exchange", "key_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    exchange: Mapped[str] = mapped_column(String(64))
    key_name: Mapped[str] = mapped_column(String(100))
    api_key_encrypted: Mapped[str] = mapped_column(String(1024))
    secret_key_encrypted: Mapped[str] = mapped_column(String(1024))
    # Shown instead of the key: first and last characters only.
    key_masked: Mapped[str] = mapped_column(String(32))
    # A key of the exchange's sandbox (testnet): its client runs in ccxt's sandbox mode.
    sandbox: Mapped[bool] = mapped_column(default=False, server_default="0")
