"""What the notebook API's modules share: moments as callers type them, query frames."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from workbench.db import default_engine
from workbench.timeutil import parse_moment

Moment = str | datetime | None


def moment(value: Moment, name: str) -> datetime | None:
    """``value`` (a date or time, naive taken as UTC) as an aware UTC datetime."""
    return parse_moment(value, name)


def query_frame(query: sa.Select) -> pd.DataFrame:  # type: ignore[type-arg]
    """The rows of ``query`` on the configured database as a DataFrame."""
    with default_engine().connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
