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
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "is not a field of this form"
        errors.setdefault(loc, msg)
    return errors


def validate(schema: type[M], data: dict[str, Any]) -> M:
    """Validate ``data`` against ``schema``; raise ValidationError naming each bad field."""
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as e:
        raise ValidationError(field_errors(e), entity=schema.__name__) from None
