"""Settings: defaults under the home, the development key file, production refusals."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from workbench.errors import ConfigError
from workbench.settings import Settings, get_settings


def test_defaults_live_under_the_home(home: Path) -> None:
    settings = get_settings()
    assert settings.home == home.resolve()
    assert settings.database_url == f"sqlite:///{home.resolve() / 'workbench.db'}"
    assert settings.redis_url is None


def test_development_key_generated_once_with_0600(home: Path) -> None:
    first = get_settings().fernet_keys()
    key_file = home / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    get_settings.cache_clear()
    assert get_settings().fernet_keys() == first
    Fernet(first[0].encode())  # a real key


@pytest.mark.parametrize("value", [None, "change-me", ""])
def test_production_refuses_missing_or_placeholder_key(
    home: Path, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    monkeypatch.setenv("WORKBENCH_ENV", "production")
    if value is not None:
        monkeypatch.setenv("WORKBENCH_SECRET_KEY", value)
    with pytest.raises(ConfigError, match="WORKBENCH_SECRET_KEY"):
        Settings().fernet_keys()
    assert not (home / "secret.key").exists()


def test_malformed_key_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    monkeypatch.setenv("WORKBENCH_SECRET_KEY", "not-a-real-key-but-secret-ish")
    with pytest.raises(ConfigError) as err:
        Settings().fernet_keys()
    assert "not-a-real-key" not in str(err.value)


def test_key_list_newest_first(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("WORKBENCH_SECRET_KEY", f"{new}, {old}")
    assert Settings().fernet_keys() == [new, old]


def test_dotenv_file_is_read(home: Path, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("WORKBENCH_DATABASE_URL=sqlite:////tmp/from-dotenv.db\n")
    assert Settings().database_url == "sqlite:////tmp/from-dotenv.db"
