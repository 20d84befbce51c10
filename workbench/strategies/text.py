"""Small text helpers for explaining decisions."""

from __future__ import annotations

import math


def fmt(value: float) -> str:
    """A price or indicator value, short but precise enough (6 significant digits)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.6g}"
