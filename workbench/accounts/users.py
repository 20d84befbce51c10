"""Users: argon2 password hashes, reset tokens, the default local user."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.db.models import User
from workbench.errors import ConflictError, NotFoundError, RejectedError
from workbench.schemas import UserCreate, validate

LOCAL_USER_EMAIL = "local@workbench.localhost"
_hasher = PasswordHasher()


def create_user(*, session: Session, email: str, password: str) -> User:
    data = validate(UserCreate, {"email": email, "password": password})
    if session.scalar(select(User.id).where(User.email == data.email)) is not None:
        raise ConflictError(f"a user with e-mail {data.email} already exists")
    user = User(email=data.email, hashed_password=_hasher.hash(data.password.get_secret_value()))
    session.add(user)
    session.flush()
    return user


def local_user(*, session: Session) -> User:
    """The single-user default owner of bots, keys and backtests (made by ``init``)."""
    user = session.scalar(select(User).where(User.email == LOCAL_USER_EMAIL))
    if user is None:
        user = create_user(
            session=session, email=LOCAL_USER_EMAIL, password=secrets.token_urlsafe()
        )
    return user


def authenticate(*, session: Session, email: str, password: str) -> User:
    user = session.scalar(select(User).where(User.email == email.lower()))
    try:
        if user is None or not user.is_active:
            raise VerificationError
        _hasher.verify(user.hashed_password, password)
    except VerificationError:
        raise RejectedError("wrong e-mail or password") from None
    return user


def start_password_reset(*, session: Session, email: str, valid_for: timedelta) -> str:
    """A one-time token (returned once, stored hashed) that lets the user set a new password."""
    user = session.scalar(select(User).where(User.email == email.lower()))
    if user is None:
        raise NotFoundError(f"no user with e-mail {email}")
    token = secrets.token_urlsafe(32)
    user.reset_token = hashlib.sha256(token.encode()).hexdigest()
    user.reset_token_expires = datetime.now(UTC) + valid_for
    return token


def finish_password_reset(*, session: Session, token: str, new_password: str) -> User:
    digest = hashlib.sha256(token.encode()).hexdigest()
    user = session.scalar(select(User).where(User.reset_token == digest))
    expires = user.reset_token_expires if user else None
    if user is None or expires is None or expires < datetime.now(UTC):
        raise RejectedError("the reset token is unknown or expired; ask for a new one")
    data = validate(UserCreate, {"email": user.email, "password": new_password})
    user.hashed_password = _hasher.hash(data.password.get_secret_value())
    user.reset_token = None
    user.reset_token_expires = None
    return user
