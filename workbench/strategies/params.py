"""Declared strategy parameters: ``Int``, ``Float``, ``Bool``, ``Choice``.

A declaration carries a default and bounds (or choices). It is what validation, the bot
form's controls, sweeps and the CLI's ``-p name=value`` read: the single source of a
strategy's parameters. ``Param`` is the declaration once it knows its name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Kind = Literal["int", "float", "bool", "choice"]
TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0"}


class _Invalid(Exception):
    """A value a parameter refuses; the message is the field's error."""


@dataclass(frozen=True)
class Param:
    """A named parameter: kind, default, inclusive bounds (int/float) or choices."""

    name: str
    default: Any
    low: Any = None
    high: Any = None
    help: str = ""
    kind: Kind = "int"
    choices: tuple[Any, ...] = ()

    def named(self, name: str) -> Param:
        """This declaration under ``name`` (checking that its default is valid)."""
        param = Param(name, self.default, self.low, self.high, self.help, self.kind, self.choices)
        if self.kind in ("int", "float") and (
            self.low is not None and self.high is not None and self.low > self.high
        ):
            raise ValueError(f"parameter {name}: low {self.low} is above high {self.high}")
        error = param.error(self.default)
        if error:
            raise ValueError(f"parameter {name}: the default {self.default!r} {error}")
        return param

    def coerce(self, value: Any, *, text: bool = False) -> Any:
        """``value`` as this parameter's type, or raise ``_Invalid`` with the field's
        message. ``text``: the value came from a command line or a form and may be text."""
        if self.kind == "bool":
            return _boolean(value, text=text)
        if self.kind == "choice":
            for choice in self.choices:
                if value == choice or (text and isinstance(value, str) and str(choice) == value):
                    return choice
            raise _Invalid(f"must be one of {', '.join(map(repr, self.choices))}, got {value!r}")
        number = _number(value, whole=self.kind == "int", text=text)
        if (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            raise _Invalid(f"must be between {self.low} and {self.high}, got {number}")
        return number

    def error(self, value: Any, *, text: bool = False) -> str | None:
        try:
            self.coerce(value, text=text)
        except _Invalid as e:
            return str(e)
        return None

    def describe(self) -> dict[str, Any]:
        """Kind, default, bounds or choices, help (for ``strategy list --json``)."""
        row: dict[str, Any] = {"name": self.name, "kind": self.kind, "default": self.default}
        if self.kind in ("int", "float"):
            row |= {"low": self.low, "high": self.high}
        if self.kind == "choice":
            row["choices"] = list(self.choices)
        if self.help:
            row["help"] = self.help
        return row

    def bounds_text(self) -> str:
        if self.kind == "choice":
            return "|".join(map(str, self.choices))
        if self.kind == "bool":
            return "true|false"
        return f"{self.low}..{self.high}"


def _boolean(value: Any, *, text: bool) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if text and isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise _Invalid(f"must be true or false, got {value!r}")


def _number(value: Any, *, whole: bool, text: bool) -> int | float:
    if isinstance(value, bool | np.bool_) or (isinstance(value, str) and not text):
        raise _Invalid(f"must be a {'whole ' if whole else ''}number, got {value!r}")
    if isinstance(value, str):
        written = value.strip()
        try:
            value = int(written) if whole else float(written)
        except ValueError:
            try:
                value = float(written)
            except ValueError:
                raise _Invalid(
                    f"must be a {'whole ' if whole else ''}number, got {written!r}"
                ) from None
    if whole:
        if isinstance(value, int | np.integer):
            return int(value)
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return int(value)
        raise _Invalid(f"must be a whole number, got {value!r}")
    if isinstance(value, int | float | np.integer | np.floating) and math.isfinite(value):
        return float(value)
    raise _Invalid(f"must be a finite number, got {value!r}")


def Int(default: int, *, low: int | None = None, high: int | None = None, help: str = "") -> Param:
    """A whole-number parameter: ``wb.Int(20, low=5, high=500)``."""
    return Param("", default, low, high, help, "int")


def Float(
    default: float, *, low: float | None = None, high: float | None = None, help: str = ""
) -> Param:
    """A real-number parameter: ``wb.Float(0.0, low=0.0, high=0.2)``."""
    return Param("", float(default), low, high, help, "float")


def Bool(default: bool, *, help: str = "") -> Param:
    """A true/false parameter: ``wb.Bool(False)``."""
    return Param("", default, help=help, kind="bool")


def Choice(default: Any, choices: list[Any] | tuple[Any, ...], *, help: str = "") -> Param:
    """One of a few values: ``wb.Choice("close", ["close", "hl2"])``."""
    return Param("", default, help=help, kind="choice", choices=tuple(choices))
