"""EMA and RSI against pandas and a textbook Wilder RSI, on real candles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.strategies.reference import wilder_rsi
from workbench.errors import ValidationError
from workbench.strategies import indicators as ind

# StockCharts' RSI(14) worked example; their sheet rounds the first averages to two
# decimals, so the published values differ from exact arithmetic by under 0.1.
STOCKCHARTS_CLOSE = [
    44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89,
    46.03, 45.61, 46.28, 46.28, 46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25,
    45.71, 46.45, 45.78, 45.35, 44.03, 44.18, 44.22, 44.57, 43.42, 42.66, 43.13,
]  # fmt: skip
STOCKCHARTS_RSI = [
    70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06, 62.38,
    54.71, 50.42, 39.99, 41.46, 41.87, 45.46, 37.30, 33.08, 37.77,
]  # fmt: skip


@pytest.mark.parametrize("period", [1, 2, 5, 21, 200, 1000])
def test_ema_is_pandas_ewm_without_adjust(market: pd.DataFrame, period: int) -> None:
    close = market["close"]
    expected = close.ewm(span=period, adjust=False).mean()
    np.testing.assert_allclose(ind.ema(close.to_numpy(), period), expected, rtol=1e-13)
    as_series = ind.ema(close, period)
    assert isinstance(as_series, pd.Series) and as_series.index.equals(close.index)
    pd.testing.assert_series_equal(as_series, expected, check_names=False, rtol=1e-13)


@pytest.mark.parametrize("period", [2, 6, 14, 50])
def test_rsi_is_wilders(market: pd.DataFrame, period: int) -> None:
    close = market["close"]
    expected = wilder_rsi(close, period)
    got = ind.rsi(close, period)
    assert got.iloc[:period].isna().all() and got.iloc[period:].notna().all()
    pd.testing.assert_series_equal(got, expected, check_names=False, rtol=1e-9, atol=1e-9)
    assert got.between(0, 100).iloc[period:].all()


def test_rsi_known_values() -> None:
    got = ind.rsi(np.array(STOCKCHARTS_CLOSE), 14)
    np.testing.assert_allclose(got[14:], STOCKCHARTS_RSI, atol=0.1)


def test_rsi_edge_cases() -> None:
    assert np.isnan(ind.rsi(np.array([1.0, 2.0, 3.0]), 3)).all()  # not enough bars
    assert ind.rsi(np.array([], dtype=float), 14).shape == (0,)
    assert ind.ema(np.array([], dtype=float), 14).shape == (0,)
    np.testing.assert_array_equal(ind.rsi(np.full(20, 7.0), 5)[5:], 50.0)  # no move: neutral
    np.testing.assert_array_equal(ind.rsi(np.arange(20.0), 5)[5:], 100.0)  # only gains
    np.testing.assert_array_equal(ind.rsi(np.arange(20.0)[::-1], 5)[5:], 0.0)  # only losses
    # By hand, period 2: four steps down (RSI 0), then up 1 (gain 0.5 vs loss 0.5 -> 50),
    # then up 1 again (0.75 vs 0.25 -> 75).
    np.testing.assert_array_equal(
        ind.rsi(np.array([10.0, 9, 8, 7, 6, 7, 8]), 2)[2:], [0, 0, 0, 50, 75]
    )


def test_many_periods_equal_single_runs(eth: pd.DataFrame) -> None:
    close = eth["close"].to_numpy()
    periods = [2, 5, 14, 21, 200]
    emas, rsis = ind.ema_many(close, periods), ind.rsi_many(eth["close"], periods)
    assert emas.shape == rsis.shape == (len(close), len(periods))
    for j, period in enumerate(periods):
        np.testing.assert_array_equal(emas[:, j], ind.ema(close, period))
        np.testing.assert_array_equal(rsis[:, j], ind.rsi(close, period))


def test_bad_periods_are_refused() -> None:
    with pytest.raises(ValidationError, match="at least 1"):
        ind.ema(np.ones(5), 0)
    with pytest.raises(ValidationError, match="whole numbers"):
        ind.rsi_many(np.ones(5), [2.5])
    with pytest.raises(ValidationError, match="1-D"):
        ind.ema(np.ones((5, 2)), 3)


def test_crossing_helpers() -> None:
    a = np.array([1.0, 2.0, 3.0, 2.0, 1.0, 2.0])
    assert list(np.flatnonzero(ind.crossed_above(a, 2.0))) == [2]
    assert list(np.flatnonzero(ind.crossed_below(a, 2.0))) == [4]
