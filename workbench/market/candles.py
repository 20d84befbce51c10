"""The candle store: bulk upsert, fast range reads into pandas, gaps, resampling, files.

A candle frame has a UTC DatetimeIndex named ``time`` (the bar's open time) and float64
columns open, high, low, close, volume. Files and ccxt use a ``timestamp`` column in ms.

PostgreSQL moves rows with binary COPY in both directions (a temporary table and
``INSERT ... ON CONFLICT`` for upserts); SQLite uses executemany with ``ON CONFLICT``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from workbench.db.models import Candle, CandleSeries
from workbench.errors import ValidationError
from workbench.market.timeframes import describe_ms, pandas_freq, timeframe_ms
from workbench.timeutil import from_ms, to_ms, utc_index

COLUMNS = ["open", "high", "low", "close", "volume"]
_PG_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
# One binary COPY row: field count, then (length, value) for open_time and the five floats,
# optionally preceded by the series id.
_FLOATS = [(f, d) for c in COLUMNS for f, d in ((f"l{c}", ">i4"), (c, ">f8"))]
_PG_ROW = np.dtype([("n", ">i2"), ("lt", ">i4"), ("t", ">i8"), *_FLOATS])
_PG_ROW_SERIES = np.dtype(
    [("n", ">i2"), ("ls", ">i4"), ("s", ">i4"), ("lt", ">i4"), ("t", ">i8"), *_FLOATS]
)


def _binary_copy(times: np.ndarray, values: np.ndarray, sid: int | None = None) -> io.BytesIO:
    """PostgreSQL's binary COPY format for the candles (with the series id when given)."""
    rows = np.zeros(len(times), dtype=_PG_ROW if sid is None else _PG_ROW_SERIES)
    rows["n"], rows["lt"], rows["t"] = (6 if sid is None else 7), 8, times
    if sid is not None:
        rows["ls"], rows["s"] = 4, sid
    for i, column in enumerate(COLUMNS):
        rows[f"l{column}"], rows[column] = 8, values[:, i]
    return io.BytesIO(_PG_HEADER + rows.tobytes() + b"\xff\xff")


@dataclass(frozen=True)
class Gap:
    """Bars missing between two stored bars: ``start`` is the first missing open time."""

    start: datetime
    end: datetime
    missing: int


@dataclass(frozen=True)
class Series:
    exchange: str
    symbol: str
    timeframe: str


def empty_frame() -> pd.DataFrame:
    index = pd.DatetimeIndex([], tz="UTC", name="time")
    return pd.DataFrame({c: np.array([], dtype="float64") for c in COLUMNS}, index=index)


def frame_from_ohlcv(rows: Any) -> pd.DataFrame:
    """A candle frame from ccxt-style rows ``[[ms, o, h, l, c, v], ...]`` or a frame with a
    ``timestamp`` column in ms."""
    raw = (
        rows
        if isinstance(rows, pd.DataFrame)
        else pd.DataFrame(list(rows), columns=["timestamp", *COLUMNS])
    )
    missing = [c for c in ["timestamp", *COLUMNS] if c not in raw.columns]
    if missing:
        raise ValidationError(
            {
                "columns": f"missing {', '.join(missing)}; expected timestamp (ms), "
                "open, high, low, close, volume"
            },
            entity="candles",
        )
    if raw.empty:
        return empty_frame()
    index = pd.to_datetime(raw["timestamp"].to_numpy(dtype="int64"), unit="ms", utc=True)
    frame = pd.DataFrame(
        {c: raw[c].to_numpy(dtype="float64") for c in COLUMNS},
        index=pd.DatetimeIndex(index, name="time"),
    )
    return frame.sort_index()


def _validate(frame: pd.DataFrame, timeframe: str) -> tuple[np.ndarray, np.ndarray]:
    """(open times in ms, values n x 5) from a candle frame, after checking it."""
    if not isinstance(frame.index, pd.DatetimeIndex) or frame.index.tz is None:
        raise ValidationError(
            {"index": "must be a timezone-aware DatetimeIndex (UTC)"}, entity="candles"
        )
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValidationError({"columns": f"missing {', '.join(missing)}"}, entity="candles")
    if not frame.index.is_monotonic_increasing:
        frame = frame.sort_index()
    values = frame[COLUMNS].to_numpy(dtype="float64")
    times = frame.index.tz_convert("UTC").as_unit("ms").asi8

    def where(i: int) -> str:
        return f"bar at {frame.index[i]}"

    check_values(values, where)
    _check_unique(times, where)
    _check_grid(times, timeframe, where)
    return times, values


def check_values(values: np.ndarray, where: Callable[[int], str]) -> None:
    """Refuse a bar no market can print: a price that is not a positive finite number,
    a negative or non-finite volume, a high below the low, an open or close outside them.
    ``values`` is n x 5 (open, high, low, close, volume); ``where(i)`` names row i."""
    with np.errstate(invalid="ignore"):
        o, h, low, c, v = values.T
        checks = [(~np.isfinite(values[:, i]), f"{n} is {{r[{i}]}}") for i, n in enumerate(COLUMNS)]
        checks += [
            (values[:, i] <= 0, f"{n} {{r[{i}]:g}} is not above 0")
            for i, n in enumerate(COLUMNS[:4])
        ]
        checks += [
            (v < 0, "volume {r[4]:g} is negative"),
            (h < low, "high {r[1]:g} is below low {r[2]:g}"),
            (o > h, "open {r[0]:g} is above high {r[1]:g}"),
            (o < low, "open {r[0]:g} is below low {r[2]:g}"),
            (c > h, "close {r[3]:g} is above high {r[1]:g}"),
            (c < low, "close {r[3]:g} is below low {r[2]:g}"),
        ]
    for bad, message in checks:
        hit = np.flatnonzero(bad)
        if len(hit):
            i = int(hit[0])
            raise ValidationError({where(i): message.format(r=values[i])}, entity="candles")


def _check_unique(times: np.ndarray, where: Callable[[int], str]) -> None:
    """Refuse two bars with one open time, naming the time and both rows."""
    order = np.argsort(times, kind="stable")
    same = np.flatnonzero(np.diff(times[order]) == 0)
    if len(same):
        a, b = int(order[same[0]]), int(order[same[0] + 1])
        raise ValidationError(
            {"time": f"{from_ms(int(times[a]))} appears twice ({where(a)} and {where(b)})"},
            entity="candles",
        )


def _check_grid(times: np.ndarray, timeframe: str, where: Callable[[int], str]) -> None:
    """Every bar opens on the timeframe's grid: at multiples of its length since 1970
    (UTC) up to a day, and on one common phase for longer bars (weeks open on Mondays)."""
    step = timeframe_ms(timeframe)
    if len(times) == 0:
        return
    phase = times % step
    off = np.flatnonzero(phase != (0 if step <= 86_400_000 else phase[0]))
    if len(off):
        i = int(off[0])
        raise ValidationError(
            {where(i): f"{from_ms(int(times[i]))} is not on the {timeframe} grid"},
            entity="candles",
        )


def check_spacing(times: np.ndarray, timeframe: str) -> None:
    """Refuse bars whose usual spacing is not the declared timeframe (the 1h file imported
    as 5m), naming the spacing found."""
    if len(times) < 2:
        return
    diffs = np.diff(np.sort(times))
    spacings, counts = np.unique(diffs, return_counts=True)
    usual = int(spacings[np.argmax(counts)])
    declared = counts[spacings == timeframe_ms(timeframe)]
    if not (len(declared) and declared[0] == counts.max()):
        found = describe_ms(usual)
        raise ValidationError(
            {
                "timeframe": f"the bars are {found} apart, not {timeframe}; import with "
                f"--timeframe {found} or check the timestamp unit (ms, s or ISO 8601)"
            },
            entity="candles",
        )


def series_id(
    conn: sa.Connection, *, exchange: str, symbol: str, timeframe: str, create: bool = False
) -> int | None:
    """The id of a series, made on first use when ``create``; None when unknown."""
    table = cast(sa.Table, CandleSeries.__table__)
    where = (
        (table.c.exchange == exchange)
        & (table.c.symbol == symbol)
        & (table.c.timeframe == timeframe)
    )
    found = conn.execute(sa.select(table.c.id).where(where)).scalar()
    if found is None and create:
        insert = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)
        conn.execute(
            insert.values(
                exchange=exchange, symbol=symbol, timeframe=timeframe
            ).on_conflict_do_nothing()
        )
        found = conn.execute(sa.select(table.c.id).where(where)).scalar_one()
    return found


def upsert_candles(
    *, engine: Engine, exchange: str, symbol: str, timeframe: str, frame: pd.DataFrame
) -> int:
    """Insert or update the bars of ``frame``; returns how many rows were written.

    Idempotent: writing the same bars twice leaves the same rows.
    """
    times, values = _validate(frame, timeframe)
    if len(times) == 0:
        return 0
    with engine.begin() as conn:
        sid = series_id(conn, exchange=exchange, symbol=symbol, timeframe=timeframe, create=True)
    assert sid is not None
    if engine.dialect.name == "postgresql":
        _pg_upsert(engine, sid, times, values)
    else:
        _generic_upsert(engine, sid, times, values)
    return len(times)


def _pg_upsert(engine: Engine, sid: int, times: np.ndarray, values: np.ndarray) -> None:
    columns = "open_time, open, high, low, close, volume"
    with engine.begin() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(
            "SELECT 1 FROM candles WHERE series_id = %s AND open_time BETWEEN %s AND %s LIMIT 1",
            (sid, int(times[0]), int(times[-1])),
        )
        if cursor.fetchone() is None:
            # Only new bars (the usual bulk load): straight into the table. Should another
            # writer store the same bars meanwhile, the key check fails and nothing is kept.
            cursor.copy_expert(
                f"COPY candles (series_id, {columns}) FROM STDIN WITH (FORMAT binary)",
                _binary_copy(times, values, sid),
            )
        else:
            cursor.execute(
                "CREATE TEMP TABLE candle_load (open_time bigint, open float8, high float8, "
                "low float8, close float8, volume float8) ON COMMIT DROP"
            )
            cursor.copy_expert(
                f"COPY candle_load ({columns}) FROM STDIN WITH (FORMAT binary)",
                _binary_copy(times, values),
            )
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS)
            changed = " OR ".join(f"c.{col} IS DISTINCT FROM EXCLUDED.{col}" for col in COLUMNS)
            cursor.execute(
                f"INSERT INTO candles AS c (series_id, {columns}) SELECT %s, {columns} "
                "FROM candle_load ON CONFLICT (series_id, open_time) "
                f"DO UPDATE SET {updates} WHERE {changed}",
                (sid,),
            )
        cursor.close()


def _generic_upsert(engine: Engine, sid: int, times: np.ndarray, values: np.ndarray) -> None:
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS)
    sql = (
        "INSERT INTO candles (series_id, open_time, open, high, low, close, volume) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (series_id, open_time) "
        f"DO UPDATE SET {updates}"
    )
    rows = zip([sid] * len(times), times.tolist(), *values.T.tolist(), strict=True)
    with engine.begin() as conn:
        conn.connection.dbapi_connection.executemany(sql, rows)  # type: ignore[union-attr]


def _range_sql(start: datetime | None, end: datetime | None) -> tuple[str, list[int]]:
    clauses, args = [], []
    if start is not None:
        clauses.append(" AND open_time >= {}")
        args.append(to_ms(start))
    if end is not None:
        clauses.append(" AND open_time < {}")
        args.append(to_ms(end))
    return "".join(clauses), args


def read_candles(
    *,
    engine: Engine,
    exchange: str,
    symbol: str,
    timeframe: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Stored bars with ``start <= open time < end`` as a candle frame, oldest first."""
    extra, args = _range_sql(start, end)
    select = (
        "SELECT open_time, open, high, low, close, volume FROM candles "
        "WHERE series_id = {}" + extra + " ORDER BY open_time"
    )
    with engine.connect() as conn:
        sid = series_id(conn, exchange=exchange, symbol=symbol, timeframe=timeframe)
        if sid is None:
            return empty_frame()
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        if engine.dialect.name == "postgresql":
            query = cursor.mogrify(select.format(*["%s"] * (1 + len(args))), [sid, *args])
            buffer = io.BytesIO()
            cursor.copy_expert(f"COPY ({query.decode()}) TO STDOUT WITH (FORMAT binary)", buffer)
            data = buffer.getbuffer()
            count = (len(data) - len(_PG_HEADER) - 2) // _PG_ROW.itemsize
            rows = np.frombuffer(data, dtype=_PG_ROW, offset=len(_PG_HEADER), count=count)
            times = rows["t"].astype("int64")
            values = {c: rows[c].astype("float64") for c in COLUMNS}
        else:
            cursor.execute(select.format(*["?"] * (1 + len(args))), [sid, *args])
            table = np.array(cursor.fetchall(), dtype="float64").reshape(-1, 6)
            times = table[:, 0].astype("int64")
            values = {c: table[:, i + 1] for i, c in enumerate(COLUMNS)}
        cursor.close()
    index = pd.DatetimeIndex(pd.to_datetime(times, unit="ms", utc=True), name="time")
    return pd.DataFrame(values, index=index)


def stored_open_times(
    *,
    engine: Engine,
    exchange: str,
    symbol: str,
    timeframe: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> np.ndarray:
    """Open times (ms) stored for a series, sorted."""
    with engine.connect() as conn:
        sid = series_id(conn, exchange=exchange, symbol=symbol, timeframe=timeframe)
        if sid is None:
            return np.array([], dtype="int64")
        query = sa.select(Candle.open_time).where(Candle.series_id == sid)
        if start is not None:
            query = query.where(Candle.open_time >= to_ms(start))
        if end is not None:
            query = query.where(Candle.open_time < to_ms(end))
        times = conn.execute(query.order_by(Candle.open_time)).scalars().all()
    return np.array(times, dtype="int64")


def find_gaps(times_ms: np.ndarray, timeframe: str) -> list[Gap]:
    """Runs of missing bars between consecutive open times."""
    step = timeframe_ms(timeframe)
    if len(times_ms) < 2:
        return []
    deltas = np.diff(times_ms)
    where = np.nonzero(deltas > step)[0]
    return [
        Gap(
            start=from_ms(int(times_ms[i]) + step),
            end=from_ms(int(times_ms[i + 1]) - step),
            missing=int(deltas[i] // step) - 1,
        )
        for i in where
    ]


def gaps(*, engine: Engine, exchange: str, symbol: str, timeframe: str) -> list[Gap]:
    times = stored_open_times(engine=engine, exchange=exchange, symbol=symbol, timeframe=timeframe)
    return find_gaps(times, timeframe)


def summary(*, engine: Engine) -> list[dict[str, Any]]:
    """What is stored: one row per (exchange, symbol, timeframe) with first, last, count and
    the number of missing bars between first and last."""
    series = CandleSeries
    query = (
        sa.select(
            series.exchange,
            series.symbol,
            series.timeframe,
            sa.func.min(Candle.open_time),
            sa.func.max(Candle.open_time),
            sa.func.count(),
        )
        .join(Candle, Candle.series_id == series.id)
        .group_by(series.id, series.exchange, series.symbol, series.timeframe)
        .order_by(series.exchange, series.symbol, series.timeframe)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out = []
    for exchange, symbol, timeframe, first, last, count in rows:
        expected = (last - first) // timeframe_ms(timeframe) + 1
        out.append(
            {
                "exchange": exchange,
                "symbol": symbol,
                "timeframe": timeframe,
                "first": from_ms(first),
                "last": from_ms(last),
                "count": count,
                "missing": max(0, int(expected - count)),
            }
        )
    return out


def missing_ranges(
    *,
    engine: Engine,
    exchange: str,
    symbol: str,
    timeframe: str,
    since: datetime,
    until: datetime,
) -> list[tuple[int, int]]:
    """``[(start_ms, end_ms), ...]`` of CLOSED bars in [since, until) not yet stored.

    Closed bars are stored once and never fetched again; the bar still open at ``until``
    is not part of any range (fetch it live, never store it).
    """
    step = timeframe_ms(timeframe)
    first = -(-to_ms(since) // step) * step  # first bar open at or after since
    stop = (to_ms(until) // step) * step  # bars opening before this are closed by until
    if stop <= first:
        return []
    have = stored_open_times(
        engine=engine,
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        start=from_ms(first),
        end=from_ms(stop),
    )
    wanted = np.arange(first, stop, step, dtype="int64")
    absent = wanted[~np.isin(wanted, have)]
    if len(absent) == 0:
        return []
    breaks = np.nonzero(np.diff(absent) > step)[0]
    starts = np.concatenate([[absent[0]], absent[breaks + 1]])
    ends = np.concatenate([absent[breaks], [absent[-1]]]) + step
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def resample(frame: pd.DataFrame, timeframe: str, *, drop_partial: bool = True) -> pd.DataFrame:
    """Aggregate to a higher timeframe (first open, max high, min low, last close, summed
    volume), labelled by bucket open time. A trailing bucket with fewer bars than it should
    have is dropped unless ``drop_partial`` is False."""
    rule = pandas_freq(timeframe)
    grouped = frame.resample(rule, label="left", closed="left", origin="epoch")
    out = grouped.agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    counts = grouped["close"].count()
    out = out[counts > 0]
    if drop_partial and len(frame) > 1 and len(out):
        source_ms = int(np.median(np.diff(frame.index.as_unit("ms").asi8)))
        per_bucket = timeframe_ms(timeframe) // source_ms
        if counts.iloc[-1] < per_bucket:
            out = out.iloc[:-1]
    return out.rename_axis("time")


def read_file(path: Path, timeframe: str | None = None) -> pd.DataFrame:
    """A candle frame from a CSV or Parquet file with timestamp, open, high, low, close,
    volume columns; refused with the line and column of the first bad value.

    ``timestamp`` is a number since 1970 (UTC) in seconds, milliseconds or microseconds,
    told apart by size (below 1e11: seconds, below 1e14: ms, else µs; one unit per file),
    or ISO 8601 text (e.g. 2024-01-01T00:05:00Z; without a zone it is UTC). Given the
    ``timeframe``, the bars must be that far apart and open on its grid.
    """
    if not path.is_file():
        raise ValidationError({"file": f"{path} does not exist"}, entity="candle file")
    parquet = path.suffix.lower() == ".parquet"
    try:
        raw = (
            pd.read_parquet(path)
            if parquet
            # Without NaN guessing, a column with text or empty cells stays text, so the
            # first bad cell can be named; clean columns parse as numbers at full speed.
            else pd.read_csv(path, keep_default_na=False, skipinitialspace=True)
        )
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValidationError(
            {"file": f"{path.name} cannot be read: {reason}"}, entity="candle file"
        ) from e
    missing = [c for c in ["timestamp", *COLUMNS] if c not in raw.columns]
    if missing:
        raise ValidationError(
            {
                "columns": f"missing {', '.join(missing)}; expected timestamp (ms), "
                "open, high, low, close, volume"
            },
            entity="candles",
        )
    if raw.empty:
        raise ValidationError(
            {"file": f"{path.name} has no candles (only a header)"}, entity="candle file"
        )

    def where(i: int) -> str:
        return f"row {i + 1}" if parquet else f"line {i + 2}"

    times = _file_times(raw["timestamp"].reset_index(drop=True), where)
    values = np.column_stack(
        [_file_numbers(raw[c].reset_index(drop=True), c, where) for c in COLUMNS]
    )
    check_values(values, where)
    _check_unique(times, where)
    if timeframe is not None:
        check_spacing(times, timeframe)
        _check_grid(times, timeframe, where)
    index = pd.DatetimeIndex(pd.to_datetime(times, unit="ms", utc=True), name="time")
    return pd.DataFrame(values, index=index, columns=COLUMNS).sort_index()


def _file_numbers(column: pd.Series, name: str, where: Callable[[int], str]) -> np.ndarray:
    numbers = pd.to_numeric(column, errors="coerce")
    if not pd.api.types.is_numeric_dtype(column):
        text = column.astype(str).str.strip()
        bad = np.flatnonzero(numbers.isna().to_numpy() & ~text.str.lower().isin(["nan"]))
        if len(bad):
            i = int(bad[0])
            shown = f": {text[i]!r} is not a number" if text[i] else " is empty"
            raise ValidationError({where(i): f"column {name}{shown}"}, entity="candles")
    return numbers.to_numpy(dtype="float64")


_TIME_HINT = "use ms since 1970 or ISO 8601 (2024-01-01T00:05:00Z)"


def _file_times(column: pd.Series, where: Callable[[int], str]) -> np.ndarray:
    """Open times in ms from a timestamp column (s, ms, µs or ISO 8601; see read_file)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        stamps = pd.DatetimeIndex(column)
        stamps = utc_index(stamps)
        return np.asarray(stamps.as_unit("ms").asi8, dtype="int64")
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.notna().any():
        bad = np.flatnonzero(numbers.isna().to_numpy() | (numbers.to_numpy() % 1 != 0))
        if len(bad):
            i = int(bad[0])
            what = "a whole number" if pd.notna(numbers[i]) else "a time"
            raise ValidationError(
                {where(i): f"timestamp {column[i]!r} is not {what}; {_TIME_HINT}"},
                entity="candles",
            )
        raw = numbers.to_numpy(dtype="float64")
        size = np.abs(raw)
        unit = np.where(size < 1e11, 0, np.where(size < 1e14, 1, 2))
        mixed = np.flatnonzero(unit != unit[0])
        if len(mixed):
            names = ["seconds", "milliseconds", "microseconds"]
            i = int(mixed[0])
            raise ValidationError(
                {
                    where(i): f"timestamp {column[i]} is in {names[unit[i]]} but {where(0)} "
                    f"is in {names[unit[0]]}; use one unit"
                },
                entity="candles",
            )
        factor = [1000.0, 1.0, 0.001][int(unit[0])]
        return np.asarray(np.round(raw * factor), dtype="int64")
    stamps = pd.to_datetime(
        column.astype(str).str.strip(), utc=True, format="ISO8601", errors="coerce"
    )
    bad = np.flatnonzero(stamps.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        raise ValidationError(
            {where(i): f"timestamp {column[i]!r} is not a time; {_TIME_HINT}"},
            entity="candles",
        )
    return np.asarray(pd.DatetimeIndex(stamps).as_unit("ms").asi8, dtype="int64")


def write_file(frame: pd.DataFrame, path: Path) -> Path:
    """Write a candle frame as CSV or Parquet (by suffix) with a timestamp column in ms.
    The folder must exist; other suffixes are refused."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValidationError(
            {"file": f"{path.name}: the format comes from the suffix; use .csv or .parquet"},
            entity="export",
        )
    if not path.parent.is_dir():
        raise ValidationError(
            {"file": f"folder {path.parent} does not exist; create it first"}, entity="export"
        )
    out = frame[COLUMNS].copy()
    out.insert(0, "timestamp", frame.index.as_unit("ms").asi8)
    if suffix == ".parquet":
        out.to_parquet(path, index=False)
    else:
        out.to_csv(path, index=False)
    return path


def delete_series(*, engine: Engine, exchange: str, symbol: str, timeframe: str) -> int:
    """Remove a stored series and its candles; returns how many candles were removed."""
    with engine.begin() as conn:
        sid = series_id(conn, exchange=exchange, symbol=symbol, timeframe=timeframe)
        if sid is None:
            return 0
        removed = conn.execute(sa.delete(Candle).where(Candle.series_id == sid)).rowcount
        conn.execute(sa.delete(CandleSeries).where(CandleSeries.id == sid))
    return int(removed)
