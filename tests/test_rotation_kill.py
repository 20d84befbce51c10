"""Regression (issue 9's probe): rotations killed with SIGKILL at random moments never
leave an API key undecryptable; the probe ran 3,000 keys through 20 killed rotations."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from workbench.accounts import add_api_key, credentials, local_user
from workbench.db.engine import session_scope
from workbench.db.models import ApiKey
from workbench.settings import Settings, get_settings

KEYS = 1500
KILLS = 8
ROTATE = [sys.executable, "-c", "from workbench.cli import main; main()", "keys", "rotate"]


def _all_decrypt(engine: sa.Engine, expected: dict[int, tuple[str, str]]) -> None:
    get_settings.cache_clear()  # the key file as the killed process left it
    with session_scope(engine) as session:
        for key_id, (key, secret) in expected.items():
            found = credentials(session=session, api_key_id=key_id)
            assert (found.api_key, found.secret) == (key, secret), key_id


@pytest.mark.slow
def test_rotations_killed_at_random_never_lose_a_key(settings: Settings, engine: sa.Engine) -> None:
    expected: dict[int, tuple[str, str]] = {}
    with session_scope(engine) as session:
        user = local_user(session=session).id
        for n in range(KEYS):
            key, secret = f"key-{n:05d}-{os.urandom(6).hex()}", f"secret-{os.urandom(12).hex()}"
            row = add_api_key(
                session=session,
                user_id=user,
                exchange="binance",
                key_name=f"k{n}",
                api_key=key,
                api_secret=secret,
            )
            expected[row.id] = (key, secret)
    chance = random.Random(9)
    killed_midway = 0
    for _ in range(KILLS):
        child = subprocess.Popen(ROTATE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(chance.uniform(0.2, 4.0))
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            killed_midway += 1
        child.wait()
        _all_decrypt(engine, expected)
    assert killed_midway > 0  # at least one rotation died before it finished
    finished = subprocess.run(ROTATE, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    _all_decrypt(engine, expected)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == KEYS
