"""Users and API keys: hashed passwords, encrypted keys, rotation, masked output."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workbench.accounts import add_api_key, authenticate, create_user, credentials, local_user
from workbench.accounts.crypto import mask
from workbench.accounts.rotation import drop_previous_keys, rotate_secret_key
from workbench.accounts.users import finish_password_reset, start_password_reset
from workbench.errors import ConflictError, RejectedError, ValidationError
from workbench.settings import Settings, get_settings

API_KEY = "AKIAREALLOOKINGKEY0001"
API_SECRET = "s3cr3t-very-secret-value-0001"


def all_text(engine: Engine) -> str:
    """Every value of every table, as one string, to search for plain secrets."""
    out = []
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'select * from "{table}"')):
                out.append(repr(tuple(row)))
    return "\n".join(out)


def test_password_is_hashed_and_checked(session: Session) -> None:
    user = create_user(session=session, email="Ann@Example.com", password="correct horse")
    assert user.email == "ann@example.com"
    assert "correct horse" not in user.hashed_password
    assert user.hashed_password.startswith("$argon2")
    assert authenticate(session=session, email="ann@example.com", password="correct horse")
    with pytest.raises(RejectedError, match="wrong e-mail or password"):
        authenticate(session=session, email="ann@example.com", password="wrong")
    with pytest.raises(ConflictError):
        create_user(session=session, email="ann@example.com", password="another one")
    with pytest.raises(ValidationError) as err:
        create_user(session=session, email="nope", password="short")
    assert set(err.value.errors) == {"email", "password"}


def test_password_reset_token(session: Session) -> None:
    create_user(session=session, email="bo@example.com", password="first password")
    token = start_password_reset(
        session=session, email="bo@example.com", valid_for=timedelta(hours=1)
    )
    finish_password_reset(session=session, token=token, new_password="second password")
    assert authenticate(session=session, email="bo@example.com", password="second password")
    with pytest.raises(RejectedError, match="unknown or expired"):
        finish_password_reset(session=session, token=token, new_password="third password")
    expired = start_password_reset(
        session=session, email="bo@example.com", valid_for=timedelta(seconds=-1)
    )
    with pytest.raises(RejectedError, match="unknown or expired"):
        finish_password_reset(session=session, token=expired, new_password="third password")


def test_api_key_encrypted_at_rest_and_masked(
    settings: Settings, engine: Engine, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = local_user(session=session)
    row = add_api_key(
        session=session,
        user_id=owner.id,
        exchange="binance",
        key_name="main",
        api_key=API_KEY,
        api_secret=API_SECRET,
    )
    session.commit()
    assert row.key_masked == mask(API_KEY) == "AKIA…0001"
    stored = all_text(engine)
    assert API_KEY not in stored and API_SECRET not in stored
    assert "AKIA…0001" in stored
    creds = credentials(session=session, api_key_id=row.id)
    assert (creds.api_key, creds.secret) == (API_KEY, API_SECRET)
    assert API_SECRET not in repr(creds) and API_KEY not in repr(creds)
    assert API_SECRET not in caplog.text and API_KEY not in caplog.text


def test_rotation_reencrypts_every_row(
    settings: Settings, engine: Engine, session: Session
) -> None:
    owner = local_user(session=session)
    ids = [
        add_api_key(
            session=session,
            user_id=owner.id,
            exchange="binance",
            key_name=f"k{i}",
            api_key=f"{API_KEY}{i}",
            api_secret=f"{API_SECRET}{i}",
        ).id
        for i in range(3)
    ]
    session.commit()
    old_keys = settings.fernet_keys()
    before = all_text(engine)
    count, generated = rotate_secret_key(settings=settings, engine=engine)
    assert (count, generated) == (3, True)
    new_keys = settings.fernet_keys()
    assert len(new_keys) == 2 and new_keys[0] not in old_keys and new_keys[1:] == old_keys
    assert all_text(engine) != before
    session.expire_all()
    for i, key_id in enumerate(ids):
        assert credentials(session=session, api_key_id=key_id).secret == f"{API_SECRET}{i}"
    assert drop_previous_keys(settings=settings, engine=engine) == 1
    assert settings.fernet_keys() == new_keys[:1]
    session.expire_all()
    for i, key_id in enumerate(ids):
        assert credentials(session=session, api_key_id=key_id).secret == f"{API_SECRET}{i}"


def test_previous_keys_are_dropped_only_once_nothing_needs_them(
    settings: Settings, engine: Engine, session: Session
) -> None:
    owner = local_user(session=session)
    add_api_key(
        session=session,
        user_id=owner.id,
        exchange="binance",
        key_name="k",
        api_key=API_KEY,
        api_secret=API_SECRET,
    )
    session.commit()
    old = settings.fernet_keys()
    new = Fernet.generate_key().decode()
    settings.secret_key_file.write_text(f"{new}\n{old[0]}\n")  # a key added, not rotated
    with pytest.raises(ConflictError, match="run `workbench keys rotate` first"):
        drop_previous_keys(settings=settings, engine=engine)
    assert settings.fernet_keys() == [new, *old]


def test_rotating_a_single_environment_key_says_nothing_was_rotated(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("WORKBENCH_SECRET_KEY", key)
    get_settings.cache_clear()
    with pytest.raises(
        RejectedError, match="nothing was rotated: WORKBENCH_SECRET_KEY holds a single"
    ):
        rotate_secret_key(settings=get_settings(), engine=engine)
    monkeypatch.setenv("WORKBENCH_SECRET_KEY", f"{Fernet.generate_key().decode()},{key}")
    get_settings.cache_clear()
    assert rotate_secret_key(settings=get_settings(), engine=engine) == (0, False)
