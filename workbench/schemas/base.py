"""Turn pydantic's errors into the workbench's field-by-field ValidationError."""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic
from pydantic_core import PydanticCustomError

from workbench.errors import ValidationError

M = TypeVar("M", bound=pydantic.BaseModel)


class Schema(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", str_strip_whitespace=True)


def cross_field_error(errors: dict[str, str]) -> PydanticCustomError:
    """An error from a model validator that still names the fields it is about."""
    summary = "; ".join(f"{f}: {m}" for f, m in errors.items())
    return PydanticCustomError("cross_field", "{summary}", {"summary": summary, "fields": errors})


def field_errors(exc: pydantic.ValidationError) -> dict[str, str]:
    """``{"ema_fast": "must be less than ema_slow (26)", ...}`` from a pydantic error."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        if err["type"] == "cross_field":
            for field, msg in err["ctx"]["fields"].items():
                errors.setdefault(field, msg)
            continue
        loc = ".".join(str(p) for p in err["loc"]) or "__root__"
        errors.setdefault(loc, _in_user_words(err))
    return errors


def _in_user_words(err: Any) -> str:
    """pydantic's message as a sentence about the field ("must be at least 1, got 0")."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    got = f", got {value!r}" if value is not None and not isinstance(value, dict) else ""
    words = {
        "extra_forbidden": "is not a field of this form",
        "missing": "is required",
        "greater_than_equal": f"must be at least {ctx.get('ge')}{got}",
        "greater_than": f"must be greater than {ctx.get('gt')}{got}",
        "less_than_equal": f"must be at most {ctx.get('le')}{got}",
        "less_than": f"must be less than {ctx.get('lt')}{got}",
        "int_parsing": f"must be a whole number{got}",
        "int_from_float": f"must be a whole number{got}",
        "int_type": f"must be a whole number{got}",
        "decimal_parsing": f"must be a number{got}",
        "decimal_type": f"must be a number{got}",
        "bool_parsing": f"must be true or false{got}",
        "bool_type": f"must be true or false{got}",
        "string_too_short": "must not be empty",
        "string_too_long": f"must be at most {ctx.get('max_length')} characters",
        "enum": f"must be one of {ctx.get('expected')}{got}",
    }
    return words.get(kind) or str(err["msg"]).removeprefix("Value error, ")


def validate(schema: type[M], data: dict[str, Any]) -> M:
    """Validate ``data`` against ``schema``; raise ValidationError naming each bad field."""
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as e:
        raise ValidationError(field_errors(e), entity=schema.__name__) from None
