"""Candle files are checked row by row before anything is stored: units, spacing, grid,
prices, duplicates; each refusal is one line naming the row (file line) and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.errors import ValidationError
from workbench.market import candles as store

HEADER = "timestamp,open,high,low,close,volume\n"
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
FIVE_MIN = 300_000


def good_rows(n: int, step: int = FIVE_MIN, start: int = T0) -> list[str]:
    return [f"{start + i * step},10,12,9,11,5" for i in range(n)]


def write(tmp_path: Path, rows: list[str], name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((3, f"{T0 + 3 * FIVE_MIN},abc,12,9,11,5"), "line 5: column open: 'abc' is not a number"),
        ((3, f"{T0 + 3 * FIVE_MIN},10,,9,11,5"), "line 5: column high is empty"),
        ((3, f"{T0 + 3 * FIVE_MIN},-1,12,9,11,5"), "line 5: open -1 is not above 0"),
        ((3, f"{T0 + 3 * FIVE_MIN},10,12,0,11,5"), "line 5: low 0 is not above 0"),
        ((3, f"{T0 + 3 * FIVE_MIN},10,12,9,nan,5"), "line 5: close is nan"),
        ((3, f"{T0 + 3 * FIVE_MIN},10,inf,9,11,5"), "line 5: high is inf"),
        ((3, f"{T0 + 3 * FIVE_MIN},10,12,9,11,-inf"), "line 5: volume is -inf"),
        ((3, f"{T0 + 3 * FIVE_MIN},10,8,9,8.5,5"), "line 5: high 8 is below low 9"),
        ((3, f"{T0 + 3 * FIVE_MIN},10,12,9,13,5"), "line 5: close 13 is above high 12"),
        ((3, f"{T0 + 3 * FIVE_MIN},10,12,9,8,5"), "line 5: close 8 is below low 9"),
        ((3, f"{T0 + 3 * FIVE_MIN},13,12,9,11,5"), "line 5: open 13 is above high 12"),
        ((3, f"{T0 + 3 * FIVE_MIN},10,12,9,11,-1"), "line 5: volume -1 is negative"),
        ((3, f"{T0 + 3 * FIVE_MIN + 60_000},10,12,9,11,5"), "line 5: 2024-01-01 00:16:00+00:00 "),
        ((3, f"{T0 + 1 * FIVE_MIN},10,12,9,11,5"), "2024-01-01 00:05:00+00:00 appears twice "),
        ((3, "yesterday,10,12,9,11,5"), "line 5: timestamp 'yesterday' is not a time"),
        ((3, f"{(T0 + 3 * FIVE_MIN) // 1000},10,12,9,11,5"), "line 5: timestamp 1704068100 is in"),
    ],
)
def test_a_bad_row_is_named_by_line_and_column(
    tmp_path: Path, change: tuple[int, str], message: str
) -> None:
    rows = good_rows(20)
    rows[change[0]] = change[1]
    with pytest.raises(ValidationError) as raised:
        store.read_file(write(tmp_path, rows), "5m")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_duplicate_names_both_lines(tmp_path: Path) -> None:
    rows = good_rows(10)
    rows[7] = rows[2]
    with pytest.raises(
        ValidationError, match=r"00:10:00\+00:00 appears twice \(line 4 and line 9\)"
    ):
        store.read_file(write(tmp_path, rows), "5m")


def test_off_grid_bar_is_refused_even_without_spacing_doubt(tmp_path: Path) -> None:
    rows = good_rows(30)
    rows[5] = f"{T0 + 5 * FIVE_MIN + 60_000},10,12,9,11,5"  # 00:26 in a 5m series
    with pytest.raises(ValidationError, match=r"line 7: 2024-01-01 00:26:00.* not on the 5m grid"):
        store.read_file(write(tmp_path, rows), "5m")


def test_spacing_must_match_the_declared_timeframe(shared_data: Path, tmp_path: Path) -> None:
    five = shared_data / "XRP_USDT-USDT-5m-futures.csv"
    with pytest.raises(
        ValidationError, match="bars are 5m apart, not 1h; import with --timeframe 5m"
    ):
        store.read_file(five, "1h")
    hourly = store.resample(store.read_file(five, "5m"), "1h")
    hourly_file = store.write_file(hourly, tmp_path / "h.csv")
    with pytest.raises(ValidationError, match="bars are 1h apart, not 5m"):
        store.read_file(hourly_file, "5m")
    assert len(store.read_file(hourly_file, "1h")) == len(hourly)


def test_header_only_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"c\.csv has no candles"):
        store.read_file(write(tmp_path, []), "5m")


@pytest.mark.parametrize("unit", ["s", "ms", "us", "iso", "iso-naive", "parquet-datetime"])
def test_timestamp_units_are_converted(shared_data: Path, tmp_path: Path, unit: str) -> None:
    source = pd.read_csv(shared_data / "ETH_BTC-5m.csv")
    expected = store.read_file(shared_data / "ETH_BTC-5m.csv", "5m")
    ms = source["timestamp"]
    stamps = pd.to_datetime(ms, unit="ms", utc=True)
    converted = {
        "s": ms // 1000,
        "ms": ms,
        "us": ms * 1000,
        "iso": stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "iso-naive": stamps.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "parquet-datetime": stamps.dt.tz_localize(None),
    }[unit]
    path = tmp_path / ("c.parquet" if unit.startswith("parquet") else "c.csv")
    frame = source.assign(timestamp=converted)
    frame.to_parquet(path) if path.suffix == ".parquet" else frame.to_csv(path, index=False)
    back = store.read_file(path, "5m")
    assert back.index[0] == pd.Timestamp("2018-01-10 04:55", tz="UTC")
    np.testing.assert_array_equal(back.index.asi8, expected.index.asi8)
    np.testing.assert_array_equal(back.to_numpy(), expected.to_numpy())


def test_parquet_rows_are_named_by_row(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "timestamp": [T0, T0 + FIVE_MIN],
            "open": [10.0, 10],
            "high": [12.0, 12],
            "low": [9.0, 9],
            "close": [11.0, 14],
            "volume": [1.0, 1],
        }
    )
    frame.to_parquet(tmp_path / "c.parquet")
    with pytest.raises(ValidationError, match="row 2: close 14 is above high 12"):
        store.read_file(tmp_path / "c.parquet", "5m")


def test_weekly_bars_on_mondays_are_on_grid(tmp_path: Path) -> None:
    monday = 1_704_067_200_000  # 2024-01-01 was a Monday
    week = 7 * 86_400_000
    assert len(store.read_file(write(tmp_path, good_rows(5, week, monday)), "1w")) == 5
