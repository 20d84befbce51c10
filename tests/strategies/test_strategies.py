"""Strategies on the real candles: correct indicators, no look-ahead, exact sweeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.errors import ValidationError
from workbench.market.candles import read_file
from workbench.strategies import STRATEGIES, get_strategy, sweep_signals
from workbench.strategies import indicators as ind

PARAMS = {
    "ema_cross": {"ema_fast": 9, "ema_slow": 21},
    "rsi": {"rsi_period": 14, "rsi_oversold": 30, "rsi_overbought": 70},
    "ema_rsi": {"ema_period": 50, "rsi_period": 10, "rsi_oversold": 35, "rsi_overbought": 65},
}


@pytest.fixture(scope="module")
def candles(shared_data: Path) -> pd.DataFrame:
    return read_file(shared_data / "ETH_BTC-5m.csv")


def wilder_rsi(close: pd.Series, period: int) -> pd.Series:
    """RSI the textbook way: simple average to start, then Wilder's smoothing."""
    change = close.diff()
    gains, losses = change.clip(lower=0).to_numpy(), (-change.clip(upper=0)).to_numpy()
    out = np.full(len(close), np.nan)
    avg_gain, avg_loss = gains[1 : period + 1].mean(), losses[1 : period + 1].mean()
    for i in range(period, len(close)):
        if i > period:
            avg_gain = (avg_gain * (period - 1) + gains[i]) / period
            avg_loss = (avg_loss * (period - 1) + losses[i]) / period
        out[i] = 100 - 100 / (1 + avg_gain / avg_loss) if avg_loss else 100.0
    return pd.Series(out, index=close.index)


def test_indicators_match_references(candles: pd.DataFrame) -> None:
    close = candles["close"]
    for period in (5, 21, 200):
        expected = close.ewm(span=period, adjust=False).mean().to_numpy()
        np.testing.assert_allclose(ind.ema(close.to_numpy(), period), expected, rtol=1e-12)
    np.testing.assert_allclose(ind.rsi(close.to_numpy(), 14), wilder_rsi(close, 14), rtol=1e-9)
    many = ind.ema_many(close.to_numpy(), np.array([5, 21]))
    np.testing.assert_array_equal(many[:, 1], ind.ema(close.to_numpy(), 21))


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_no_look_ahead(candles: pd.DataFrame, name: str) -> None:
    strategy = get_strategy(name)
    full = strategy.signals(candles, **PARAMS[name])
    assert full.entries.any() and full.exits.any()
    rng = np.random.default_rng(0)
    for cut in rng.integers(300, len(candles) - 1, size=8):
        part = strategy.signals(candles.iloc[: cut + 1], **PARAMS[name])
        pd.testing.assert_series_equal(part.entries, full.entries.iloc[: cut + 1])
        pd.testing.assert_series_equal(part.exits, full.exits.iloc[: cut + 1])
        shocked = candles.copy()
        shocked.iloc[cut + 1 :, :4] *= 3.0  # the future changes wildly; the past may not
        again = strategy.signals(shocked, **PARAMS[name])
        pd.testing.assert_series_equal(again.entries.iloc[: cut + 1], part.entries)


def test_crossings_by_hand() -> None:
    close = [10.0] * 30 + [12.0] * 10 + [8.0] * 10
    index = pd.date_range("2024-01-01", periods=len(close), freq="1h", tz="UTC", name="time")
    frame = pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=index
    )
    signals = get_strategy("ema_cross").signals(frame, ema_fast=2, ema_slow=5)
    assert list(np.flatnonzero(signals.entries)) == [30]
    assert list(np.flatnonzero(signals.exits)) == [40]
    warm = get_strategy("ema_cross").signals(frame.iloc[:4], ema_fast=2, ema_slow=5)
    assert not warm.entries.any() and not warm.exits.any()


def test_rsi_rule_by_hand() -> None:
    close = np.r_[np.linspace(100, 50, 30), np.linspace(50, 150, 40)]
    index = pd.date_range("2024-01-01", periods=len(close), freq="1h", tz="UTC", name="time")
    frame = pd.DataFrame({"close": close}, index=index)
    signals = get_strategy("rsi").signals(frame, rsi_period=5)
    rsi = signals.indicators["rsi"]
    first_entry = int(np.flatnonzero(signals.entries)[0])
    assert rsi.iloc[first_entry - 1] <= 30 < rsi.iloc[first_entry]
    first_exit = int(np.flatnonzero(signals.exits)[0])
    assert first_exit > first_entry and rsi.iloc[first_exit] > 70


def test_registry_and_config_overrides() -> None:
    with pytest.raises(ValidationError, match="known: ema_cross, ema_rsi, rsi"):
        get_strategy("moon")
    strategy = get_strategy("ema_cross")
    config = {
        "ema_fast": 12,
        "ema_slow": 26,
        "custom_ema_fast": 5,
        "custom_ema_slow": None,
        "rsi_period": 14,
    }
    assert strategy.params_from_config(config) == {"ema_fast": 5, "ema_slow": 26}
    with pytest.raises(ValidationError) as err:
        strategy.validate({"ema_fast": 30, "ema_slow": 20})
    assert "ema_fast" in err.value.errors
    with pytest.raises(ValidationError) as err:
        get_strategy("rsi").validate({"rsi_period": 1, "bogus": 3})
    assert set(err.value.errors) == {"rsi_period", "bogus"}


@pytest.mark.parametrize("name", ["ema_cross", "rsi"])
def test_sweep_equals_single_runs(candles: pd.DataFrame, name: str) -> None:
    grid = (
        {"ema_fast": [5, 9, 30], "ema_slow": [10, 30, 50]}
        if name == "ema_cross"
        else {"rsi_period": [7, 14], "rsi_oversold": [25, 30], "rsi_overbought": [70]}
    )
    swept = sweep_signals(candles, get_strategy(name), grid)
    if name == "ema_cross":
        assert len(swept.combos) == 7 and len(swept.skipped) == 2  # 30/10 and 30/30
    for j, combo in enumerate(swept.combos):
        single = get_strategy(name).signals(candles, **combo)
        np.testing.assert_array_equal(swept.entries[:, j], single.entries.to_numpy())
        np.testing.assert_array_equal(swept.exits[:, j], single.exits.to_numpy())
