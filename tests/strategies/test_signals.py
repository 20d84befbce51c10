"""Signals: the documented rules, decided on closed bars only, with warm-up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.strategies.reference import PARAMS, frame, reference_signals
from workbench.errors import ValidationError
from workbench.strategies import STRATEGIES, Signals, get_strategy
from workbench.strategies import indicators as ind

OTHER_PARAMS = {
    "ema_cross": {"ema_fast": 3, "ema_slow": 50},
    "rsi": {"rsi_period": 2, "rsi_oversold": 10, "rsi_overbought": 90},
    "ema_rsi": {"ema_period": 200, "rsi_period": 14, "rsi_oversold": 30, "rsi_overbought": 70},
}


@pytest.mark.parametrize("name", sorted(STRATEGIES))
@pytest.mark.parametrize("which", [PARAMS, OTHER_PARAMS], ids=["params", "other"])
def test_signals_follow_the_documented_rule(
    market: pd.DataFrame, name: str, which: dict[str, dict[str, int]]
) -> None:
    signals = get_strategy(name).signals(market, **which[name])
    expected = reference_signals(market, name, which[name])
    assert signals.exits.any()  # (ema_rsi 200 finds no entry in the short XRP file)
    assert signals.entries.dtype == bool and signals.entries.index.equals(market.index)
    pd.testing.assert_series_equal(signals.entries, expected["entries"], check_names=False)
    pd.testing.assert_series_equal(signals.exits, expected["exits"], check_names=False)
    assert not (signals.entries & signals.exits).any()


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_no_look_ahead(eth: pd.DataFrame, name: str) -> None:
    strategy, params = get_strategy(name), PARAMS[name]
    full = strategy.signals(eth, **params)
    rng = np.random.default_rng(7)
    for cut in [*rng.integers(0, len(eth) - 1, size=10), 0, 1, strategy.warmup(params)]:
        part = strategy.signals(eth.iloc[: cut + 1], **params)
        pd.testing.assert_series_equal(part.entries, full.entries.iloc[: cut + 1])
        pd.testing.assert_series_equal(part.exits, full.exits.iloc[: cut + 1])
        pd.testing.assert_frame_equal(part.indicators, full.indicators.iloc[: cut + 1])
        future = eth.copy()
        future.iloc[cut + 1 :, :4] *= rng.uniform(0.2, 5.0, size=(len(eth) - cut - 1, 1))
        future.iloc[cut + 1 :, 4] = 0.0
        again = strategy.signals(future, **params)
        pd.testing.assert_series_equal(again.entries.iloc[: cut + 1], part.entries)
        pd.testing.assert_series_equal(again.exits.iloc[: cut + 1], part.exits)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_warm_up_gives_no_signal(market: pd.DataFrame, name: str) -> None:
    strategy = get_strategy(name)
    for params in (PARAMS[name], OTHER_PARAMS[name]):
        warm = strategy.warmup(params)
        signals = strategy.signals(market, **params)
        assert signals.warmup == warm
        assert not signals.entries.iloc[:warm].any() and not signals.exits.iloc[:warm].any()
        short = strategy.signals(market.iloc[:warm], **params)
        assert not short.entries.any() and not short.exits.any()
    assert strategy.signals(market.iloc[:0], **PARAMS[name]).entries.empty


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_a_backtests_flags_are_the_signals(market: pd.DataFrame, name: str) -> None:
    strategy = get_strategy(name)
    for params in (PARAMS[name], OTHER_PARAMS[name]):
        entries, exits = strategy.flags(market, **params)
        signals = strategy.signals(market, **params)
        np.testing.assert_array_equal(entries, signals.entries.to_numpy())
        np.testing.assert_array_equal(exits, signals.exits.to_numpy())


def test_ema_cross_keeps_the_emas_of_the_indicator(eth: pd.DataFrame) -> None:
    signals = get_strategy("ema_cross").signals(eth, ema_fast=9, ema_slow=21)
    for period in (9, 21):
        np.testing.assert_array_equal(
            signals.indicators[f"ema_{period}"].to_numpy(), ind.ema(eth["close"].to_numpy(), period)
        )


def test_warm_up_lengths() -> None:
    assert get_strategy("ema_cross").warmup({"ema_fast": 5, "ema_slow": 20}) == 20
    assert get_strategy("rsi").warmup({"rsi_period": 14}) == 15
    assert get_strategy("ema_rsi").warmup({"ema_period": 200, "rsi_period": 14}) == 200
    assert get_strategy("ema_rsi").warmup({"ema_period": 5, "rsi_period": 14}) == 15


def test_ema_cross_by_hand() -> None:
    candles = frame([10.0] * 30 + [12.0] * 10 + [8.0] * 10)
    signals = get_strategy("ema_cross").signals(candles, ema_fast=2, ema_slow=5)
    assert list(np.flatnonzero(signals.entries)) == [30]
    assert list(np.flatnonzero(signals.exits)) == [40]
    assert list(signals.indicators.columns) == ["ema_2", "ema_5"]
    # A crossing inside the warm-up is not a signal, even once the warm-up is over.
    early = frame([10.0] * 3 + [12.0] * 10)
    assert not get_strategy("ema_cross").signals(early, ema_fast=2, ema_slow=5).entries.any()
    # A crossing on the first bar after the warm-up is.
    edge = frame([10.0] * 5 + [12.0] * 5)
    assert list(
        np.flatnonzero(get_strategy("ema_cross").signals(edge, ema_fast=2, ema_slow=5).entries)
    ) == [5]


def test_rsi_by_hand() -> None:
    # RSI(2) is 0, 0, 0 while falling (no entry: being oversold is not enough), 50 on the
    # first rise (crosses up through 30: entry), 75 on the next (through 70: exit).
    candles = frame([10.0, 9, 8, 7, 6, 7, 8])
    signals = get_strategy("rsi").signals(candles, rsi_period=2, rsi_oversold=30, rsi_overbought=70)
    np.testing.assert_array_equal(signals.indicators["rsi"].iloc[2:], [0, 0, 0, 50, 75])
    assert list(np.flatnonzero(signals.entries)) == [5]
    assert list(np.flatnonzero(signals.exits)) == [6]


def test_ema_rsi_by_hand() -> None:
    strategy = get_strategy("ema_rsi")
    params = {"ema_period": 20, "rsi_period": 2, "rsi_oversold": 30, "rsi_overbought": 70}
    # An uptrend with a dip: RSI(2) is 100 on the ramp, 50 and 25 on the dip, 62.5 on the
    # turn (up through 30, close far above EMA(20): entry), 81.25 next (through 70: exit).
    uptrend = strategy.signals(frame([*range(10, 40), 38, 37, 38, 39]), **params)
    rsi, ema = uptrend.indicators["rsi"], uptrend.indicators["ema_20"]
    np.testing.assert_allclose(rsi.iloc[29:], [100, 50, 25, 62.5, 81.25], rtol=1e-12)
    assert list(np.flatnonzero(uptrend.entries)) == [32]
    assert list(np.flatnonzero(uptrend.exits)) == [33]
    assert ema.iloc[32] < 38
    # The same RSI turn in a downtrend (close below the EMA) is no entry.
    downtrend = strategy.signals(frame([*range(39, 9, -1), 11]), **params)
    assert downtrend.indicators["rsi"].iloc[29] == 0 and downtrend.indicators["rsi"].iloc[30] == 50
    assert not downtrend.entries.any()
    # Flat at 10, a drop to 8: the close crosses below EMA(5) -> exit at 30. Then a jump to
    # 12: RSI(2) leaps from 0 past 30 and past 70 on one bar -> the exit wins over the
    # entry (35). Then 9: the close crosses below the EMA again (36).
    params = {**params, "ema_period": 5}
    shock = strategy.signals(frame([10.0] * 30 + [8.0] * 5 + [12.0, 9.0]), **params)
    assert shock.indicators["rsi"].iloc[34] == 0 and shock.indicators["rsi"].iloc[35] > 70
    assert list(np.flatnonzero(shock.exits)) == [30, 35, 36]
    assert not shock.entries.any()


def test_signals_carry_what_they_came_from(eth: pd.DataFrame) -> None:
    signals = get_strategy("ema_rsi").signals(eth, ema_period=100)
    assert isinstance(signals, Signals)
    assert signals.strategy == "ema_rsi"
    assert signals.params == {
        "ema_period": 100,
        "rsi_period": 14,
        "rsi_oversold": 30,
        "rsi_overbought": 70,
    }
    table = signals.frame()
    assert list(table.columns) == ["ema_100", "rsi", "entries", "exits"]
    assert table.index.equals(eth.index)


def test_unusable_candles_are_refused(eth: pd.DataFrame) -> None:
    strategy = get_strategy("rsi")
    holed = eth.copy()
    holed.iloc[100, holed.columns.get_loc("close")] = np.nan
    with pytest.raises(ValidationError, match="1 missing"):
        strategy.signals(holed)
    with pytest.raises(ValidationError, match="1 missing"):
        get_strategy("ema_cross").flags(holed)
    with pytest.raises(ValidationError, match="increasing"):
        strategy.signals(eth.iloc[::-1])
    with pytest.raises(ValidationError, match="close column"):
        strategy.signals(eth.drop(columns="close"))
