"""The candle store on SQLite and PostgreSQL, with the real Binance candles in ../shared/data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.errors import ValidationError
from workbench.market import candles as store
from workbench.market.sample import sample_candles

KEY = {"exchange": "binance", "symbol": "ETH/BTC", "timeframe": "5m"}


def test_real_candles_import_and_read_back_exactly(engine: Engine, shared_data: Path) -> None:
    for name, symbol, timeframe in [
        ("ETH_BTC-5m.csv", "ETH/BTC", "5m"),
        ("UNITTEST_BTC-1m.csv", "UNITTEST/BTC", "1m"),
    ]:
        path = shared_data / name
        raw = pd.read_csv(path)
        frame = store.read_file(path)
        key = {"exchange": "binance", "symbol": symbol, "timeframe": timeframe}
        assert store.upsert_candles(engine=engine, frame=frame, **key) == len(raw)
        back = store.read_candles(engine=engine, **key)
        assert back.index.tz is not None and back.index.name == "time"
        np.testing.assert_array_equal(back.index.as_unit("ms").asi8, raw["timestamp"].to_numpy())
        for column in store.COLUMNS:
            np.testing.assert_array_equal(back[column].to_numpy(), raw[column].to_numpy())


def test_upsert_is_idempotent_and_updates(engine: Engine, shared_data: Path) -> None:
    frame = store.read_file(shared_data / "ETH_BTC-5m.csv")
    store.upsert_candles(engine=engine, frame=frame, **KEY)
    store.upsert_candles(engine=engine, frame=frame, **KEY)
    assert store.summary(engine=engine)[0]["count"] == len(frame)
    changed = frame.iloc[10:20].copy()
    prices = ["open", "high", "low", "close"]
    changed[prices] = changed[prices] * 2  # a consistent bar: close stays within high/low
    store.upsert_candles(engine=engine, frame=changed, **KEY)
    back = store.read_candles(engine=engine, **KEY)
    assert len(back) == len(frame)
    np.testing.assert_array_equal(back["close"].iloc[10:20], changed["close"])
    np.testing.assert_array_equal(back["close"].iloc[20:], frame["close"].iloc[20:])


def test_range_read(engine: Engine) -> None:
    frame = sample_candles(100, timeframe="1h", seed=1)
    store.upsert_candles(engine=engine, frame=frame, exchange="x", symbol="A/B", timeframe="1h")
    start, end = frame.index[10].to_pydatetime(), frame.index[20].to_pydatetime()
    part = store.read_candles(
        engine=engine, exchange="x", symbol="A/B", timeframe="1h", start=start, end=end
    )
    pd.testing.assert_frame_equal(part, frame.iloc[10:20], check_freq=False)


def test_gaps_are_reported(engine: Engine, shared_data: Path) -> None:
    frame = store.read_file(shared_data / "ETH_BTC-5m.csv")
    holed = frame.drop(frame.index[100:103]).drop(frame.index[500:501])
    store.upsert_candles(engine=engine, frame=holed, **KEY)
    found = store.gaps(engine=engine, **KEY)
    real = store.find_gaps(frame.index.as_unit("ms").asi8, "5m")  # gaps the data already has
    ours = [g for g in found if g not in real]
    assert [(g.start, g.missing) for g in ours] == [
        (frame.index[100].to_pydatetime(), 3),
        (frame.index[500].to_pydatetime(), 1),
    ]
    listing = store.summary(engine=engine)[0]
    assert listing["missing"] == sum(g.missing for g in found)


def test_missing_ranges_skip_stored_and_open_bars(engine: Engine) -> None:
    frame = sample_candles(48, timeframe="1h", seed=3)
    stored = frame.drop(frame.index[10:15])
    store.upsert_candles(engine=engine, frame=stored, exchange="x", symbol="A/B", timeframe="1h")
    since = frame.index[0].to_pydatetime()
    now = frame.index[-1].to_pydatetime() + timedelta(hours=2, minutes=30)
    ranges = store.missing_ranges(
        engine=engine, exchange="x", symbol="A/B", timeframe="1h", since=since, until=now
    )
    ms = frame.index.as_unit("ms").asi8
    hour = 3_600_000
    # the hole, then the bar after the last stored one; the bar open at `now` is excluded
    assert ranges == [(int(ms[10]), int(ms[15])), (int(ms[-1]) + hour, int(ms[-1]) + 2 * hour)]


def test_resample_by_hand() -> None:
    frame = sample_candles(25, timeframe="5m", seed=2, start=datetime(2024, 1, 1, tzinfo=UTC))
    hourly = store.resample(frame, "1h")
    assert len(hourly) == 2  # the 25th bar starts a third, partial hour: dropped
    first = frame.iloc[:12]
    assert hourly.iloc[0].tolist() == pytest.approx(
        [
            first["open"].iloc[0],
            first["high"].max(),
            first["low"].min(),
            first["close"].iloc[-1],
            first["volume"].sum(),
        ]
    )
    assert len(store.resample(frame, "1h", drop_partial=False)) == 3


def test_bad_input_is_refused_with_the_field(engine: Engine, tmp_path: Path) -> None:
    frame = sample_candles(5, timeframe="1m")
    frame.iloc[2, 1] = frame.iloc[2, 2] - 1  # high below low
    with pytest.raises(ValidationError, match="high"):
        store.upsert_candles(engine=engine, frame=frame, exchange="x", symbol="A/B", timeframe="1m")
    with pytest.raises(ValidationError, match="timeframe"):
        store.upsert_candles(
            engine=engine, frame=sample_candles(5), exchange="x", symbol="A/B", timeframe="7x"
        )
    bad = tmp_path / "bad.csv"
    bad.write_text("time,price\n1,2\n")
    with pytest.raises(ValidationError, match="missing timestamp"):
        store.read_file(bad)
    assert store.summary(engine=engine) == []


def test_file_round_trip(tmp_path: Path) -> None:
    frame = sample_candles(50, timeframe="1m", seed=5)
    for name in ("c.csv", "c.parquet"):
        back = store.read_file(store.write_file(frame, tmp_path / name))
        pd.testing.assert_frame_equal(back, frame, check_freq=False)


def test_sample_market_is_deterministic_and_valid() -> None:
    a = sample_candles(5000, timeframe="5m", seed=11)
    b = sample_candles(5000, timeframe="5m", seed=11)
    c = sample_candles(5000, timeframe="5m", seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert (a["high"] >= a[["open", "close"]].max(axis=1)).all()
    assert (a["low"] <= a[["open", "close"]].min(axis=1)).all()
    assert (a["low"] > 0).all() and (a["volume"] > 0).all()
    returns = np.log(a["close"]).diff().dropna()
    rolling = returns.rolling(288).std().dropna()
    assert rolling.max() > 2 * rolling.min()  # calm and volatile stretches


def test_missing_is_never_negative(engine: Engine) -> None:
    # Rows written before imports were checked: 5m bars stored under a 1h series.
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO candle_series (exchange, symbol, timeframe) VALUES ('x', 'A/B', '1h')"
            )
        )
        sid = conn.execute(sa.text("SELECT id FROM candle_series")).scalar_one()
        for i in range(24):
            conn.execute(
                sa.text(
                    "INSERT INTO candles (series_id, open_time, open, high, low, close, volume) "
                    "VALUES (:s, :t, 1, 1, 1, 1, 1)"
                ),
                {"s": sid, "t": i * 300_000},
            )
    (row,) = store.summary(engine=engine)
    assert row["count"] == 24 and row["missing"] == 0
