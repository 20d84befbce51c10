"""Input for users and API keys."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from workbench.schemas.base import Schema

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class UserCreate(Schema):
    email: str = Field(max_length=320)
    password: SecretStr

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if not EMAIL.match(v):
            raise ValueError("is not an e-mail address (expected name@host)")
        return v.lower()

    @field_validator("password")
    @classmethod
    def _password(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value()) < 8:
            raise ValueError("must be at least 8 characters")
        return v


class ApiKeyCreate(Schema):
    exchange: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    key_name: str = Field(min_length=1, max_length=100)
    api_key: SecretStr
    api_secret: SecretStr

    @field_validator("api_key", "api_secret")
    @classmethod
    def _not_blank(cls, v: SecretStr) -> SecretStr:
        if not v.get_secret_value().strip():
            raise ValueError("must not be empty")
        return v
