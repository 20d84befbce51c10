"""One time policy: naive moments are UTC everywhere, aware ones are converted to UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from workbench.errors import ValidationError
from workbench.timeutil import day_start, from_ms, parse_moment, to_ms, utc

NOON = datetime(2024, 1, 31, 12, 0, tzinfo=UTC)
NOON_MS = 1_706_702_400_000


def test_naive_is_utc_and_aware_is_converted() -> None:
    berlin = timezone(timedelta(hours=1))
    assert utc(datetime(2024, 1, 31, 12, 0)) == NOON
    assert utc(datetime(2024, 1, 31, 13, 0, tzinfo=berlin)) == NOON
    assert utc(datetime(2024, 1, 31, 13, 0, tzinfo=berlin)).tzinfo is UTC
    assert utc(pd.Timestamp("2024-01-31 12:00")) == NOON
    assert to_ms(datetime(2024, 1, 31, 12, 0)) == NOON_MS == to_ms(NOON)
    assert from_ms(NOON_MS) == NOON and from_ms(NOON_MS).tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-31T12:00",
        "2024-01-31 12:00:00",
        "2024-01-31T13:00+01:00",
        "2024-01-31T12:00Z",
        datetime(2024, 1, 31, 12, 0),
        pd.Timestamp("2024-01-31 12:00", tz="UTC"),
        np.datetime64("2024-01-31T12:00"),
    ],
)
def test_every_way_of_giving_a_moment_reads_the_same(value: object) -> None:
    assert parse_moment(value, "start") == NOON


def test_dates_and_bad_input() -> None:
    assert parse_moment("2024-01-31", "day") == datetime(2024, 1, 31, tzinfo=UTC)
    assert parse_moment(date(2024, 1, 31), "day") == datetime(2024, 1, 31, tzinfo=UTC)
    assert parse_moment(None, "day") is None
    assert day_start(date(2024, 1, 31), 1) == datetime(2024, 2, 1, tzinfo=UTC)
    assert day_start(None) is None
    with pytest.raises(ValidationError, match="start: expected a date or time") as raised:
        parse_moment("31.01.2024", "start", entity="command")
    assert list(raised.value.errors) == ["start"]
    assert str(raised.value).startswith("invalid command")
