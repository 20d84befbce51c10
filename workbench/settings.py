"""The one Settings object, read from the environment (``WORKBENCH_*``) and ``.env``.

>>> from workbench.settings import get_settings
>>> get_settings().database_url          # doctest: +SKIP
'sqlite:///.../.workbench/workbench.db'
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workbench.errors import ConfigError

SECRET_KEY_FILE = "secret.key"
# Values people paste from examples; refused outside development.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "placeholder"})


class Settings(BaseSettings):
    """Where the workbench keeps its data and how it reaches its services."""

    model_config = SettingsConfigDict(
        env_prefix="WORKBENCH_", env_file=".env", extra="ignore", frozen=True
    )

    env: Literal["development", "production"] = "development"
    home: Path = Field(default=Path(".workbench"))
    database_url: str = ""
    redis_url: SecretStr | None = None
    # Comma-separated Fernet keys, newest first (MultiFernet); see ``keys rotate``.
    secret_key: SecretStr | None = None

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        home = self.home.expanduser().resolve()
        object.__setattr__(self, "home", home)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{home / 'workbench.db'}")
        return self

    @property
    def secret_key_file(self) -> Path:
        return self.home / SECRET_KEY_FILE

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    def fernet_keys(self) -> list[str]:
        """The Fernet keys, newest first; in development one is made on first use."""
        if self.secret_key is not None:
            raw = self.secret_key.get_secret_value()
            if raw.strip().lower() in PLACEHOLDER_SECRETS:
                if self.env == "production":
                    raise ConfigError(
                        "WORKBENCH_SECRET_KEY is a placeholder; in production set it to a key "
                        "made by `python -c 'from cryptography.fernet import Fernet; "
                        "print(Fernet.generate_key().decode())'`"
                    )
            else:
                return _split_keys(raw, source="WORKBENCH_SECRET_KEY")
        if self.env == "production":
            raise ConfigError(
                "WORKBENCH_SECRET_KEY is not set; production needs an explicit Fernet key "
                "(generate one with `workbench keys generate`) in the environment or .env"
            )
        return _split_keys(self._dev_key_file(), source=str(self.secret_key_file))

    def _dev_key_file(self) -> str:
        path = self.secret_key_file
        if not path.exists():
            make_private_dir(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(Fernet.generate_key().decode() + "\n")
        return path.read_text()


def make_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents owner-only (0700); existing folders are left
    as they are (the home, runs and their outputs hold secrets and trading data)."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by another process
            continue
        os.chmod(folder, 0o700)  # whatever the umask
    return path


def _split_keys(raw: str, *, source: str) -> list[str]:
    keys = [k.strip() for k in raw.replace("\n", ",").split(",") if k.strip()]
    for key in keys:
        try:
            Fernet(key.encode())
        except ValueError as e:
            raise ConfigError(
                f"{source} holds a value that is not a Fernet key (32 url-safe base64 bytes); "
                "generate one with `workbench keys generate`"
            ) from e
    if not keys:
        raise ConfigError(f"{source} is empty; generate a key with `workbench keys generate`")
    return keys


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached: ``get_settings.cache_clear()`` re-reads env)."""
    return Settings()
