"""What the notebook API's modules share: moments as callers type them, query frames."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from workbench.db import default_engine
from workbench.errors import ValidationError

Moment = str | datetime | None


def moment(value: Moment, name: str) -> datetime | None:
    """``value`` (a date or time, naive taken as UTC) as an aware UTC datetime."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValidationError(
            {name: f"expected a date or time like 2024-01-31 or 2024-01-31T12:00, got {value!r}"}
        ) from None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def query_frame(query: sa.Select) -> pd.DataFrame:  # type: ignore[type-arg]
    """The rows of ``query`` on the configured database as a DataFrame."""
    with default_engine().connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
