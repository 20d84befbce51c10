"""Candle frames from anywhere (``wb.candles``, ``pd.read_csv`` of a candle file) on the
UTC DatetimeIndex a backtest runs on, and the timeframe their bar spacing implies."""

from __future__ import annotations

import pandas as pd

from workbench.analytics import bar_spacing
from workbench.errors import ValidationError
from workbench.timeutil import utc_index


def timeframe_of(index: pd.Index) -> str | None:
    """'5m', '1h', '1d' ... from the bar spacing of ``index`` (None when not whole minutes)."""
    spacing = bar_spacing(pd.DatetimeIndex(index)) if len(index) > 1 else None
    if spacing is None or spacing % pd.Timedelta(minutes=1):
        return None
    minutes = int(spacing / pd.Timedelta(minutes=1))
    for unit, size in (("d", 1440), ("h", 60), ("m", 1)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return None


TIME_COLUMNS = ("timestamp", "time", "date", "datetime", "open_time")


def candle_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` on a UTC DatetimeIndex: as it is, or from a time column (``timestamp`` in
    ms since 1970, or date-times), as ``pd.read_csv`` of a candle file gives it."""
    if isinstance(frame.index, pd.DatetimeIndex):
        index = frame.index
        index = utc_index(index)
        out = frame.set_axis(index)
    else:
        out = _indexed_by_time_column(frame)
    missing = [c for c in ("open", "high", "low", "close") if c not in out.columns]
    if missing:
        raise ValidationError(
            {"columns": f"missing {', '.join(missing)}; candles need open, high, low, close"},
            entity="candles",
        )
    out.attrs = dict(frame.attrs)
    return out if out.index.is_monotonic_increasing else out.sort_index()


def _indexed_by_time_column(frame: pd.DataFrame) -> pd.DataFrame:
    column = next((c for c in TIME_COLUMNS if c in frame.columns), None)
    if column is None:
        raise ValidationError(
            {
                "index": f"needs a DatetimeIndex (UTC) or a column {' / '.join(TIME_COLUMNS)} "
                f"(ms since 1970, or date-times); got a {type(frame.index).__name__} and "
                f"columns {', '.join(map(str, frame.columns))}"
            },
            entity="candles",
        )
    values = frame[column]
    try:
        if pd.api.types.is_numeric_dtype(values):
            times = pd.to_datetime(values.to_numpy(dtype="int64"), unit="ms", utc=True)
            if len(times) and times.min() < pd.Timestamp("2000-01-01", tz="UTC"):
                raise ValidationError(
                    {column: "numbers before 2000 when read as ms since 1970; give ms"},
                    entity="candles",
                )
        else:
            times = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    except (ValueError, TypeError, OverflowError) as e:
        raise ValidationError(
            {column: f"cannot be read as times (ms since 1970 or date-times): {e}"},
            entity="candles",
        ) from None
    return frame.drop(columns=column).set_axis(pd.DatetimeIndex(times, name="time"))
