"""Encryption of stored secrets (MultiFernet, newest key first) and their masked form."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from workbench.errors import ConfigError
from workbench.settings import Settings, get_settings


def cipher(settings: Settings | None = None) -> MultiFernet:
    """The cipher for the configured keys: encrypts with the first, decrypts with any."""
    keys = (settings or get_settings()).fernet_keys()
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt(plain: str, *, settings: Settings | None = None) -> str:
    return cipher(settings).encrypt(plain.encode()).decode()


def decrypt(token: str, *, settings: Settings | None = None) -> str:
    try:
        return cipher(settings).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ConfigError(
            "a stored API key cannot be decrypted with WORKBENCH_SECRET_KEY: the key was changed "
            "without `workbench keys rotate`; restore the old key (list it after the new one)"
        ) from None


def mask(plain: str) -> str:
    """``abcd…wxyz``: enough to recognise a key, never enough to use it."""
    if len(plain) <= 8:
        return "*" * len(plain)
    return f"{plain[:4]}…{plain[-4:]}"


def fingerprint(key: str) -> str:
    """A short public name for a secret key: a salted hash, from which the key cannot be
    recovered. Backups record the fingerprints of the keys they need."""
    return hashlib.sha256(b"workbench secret key\0" + key.strip().encode()).hexdigest()[:16]


def keys_needed(tokens: Iterable[str], settings: Settings | None = None) -> tuple[set[str], int]:
    """(fingerprints of the configured keys that decrypt ``tokens``, how many tokens none
    of them decrypts)."""
    fernets = [
        (fingerprint(k), Fernet(k.encode())) for k in (settings or get_settings()).fernet_keys()
    ]
    used: set[str] = set()
    undecryptable = 0
    for token in tokens:
        for name, fernet in fernets:
            try:
                fernet.decrypt(token.encode())
            except InvalidToken:
                continue
            used.add(name)
            break
        else:
            undecryptable += 1
    return used, undecryptable
