"""Users and API keys."""

from workbench.accounts.api_keys import (
    Credentials,
    add_api_key,
    credentials,
    key_label,
    list_api_keys,
    rotate_api_keys,
)
from workbench.accounts.users import authenticate, create_user, local_user

__all__ = [
    "Credentials",
    "add_api_key",
    "authenticate",
    "create_user",
    "credentials",
    "key_label",
    "list_api_keys",
    "local_user",
    "rotate_api_keys",
]
