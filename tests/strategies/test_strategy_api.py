"""The strategy API: declared parameters, checked signals, files, saving; each bad input
is one line naming the strategy, the parameter or the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from tests.strategies.user_files import DONCHIAN, drop
from workbench.errors import ValidationError
from workbench.strategies import STRATEGIES, StrategyError, all_strategies, get_strategy
from workbench.strategies.check import check_strategy
from workbench.strategies.files import save_strategy


@pytest.fixture(autouse=True)
def no_strategy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKBENCH_STRATEGY_PATH", raising=False)


@wb.strategy(
    params={
        "window": wb.Int(20, low=5, high=500),
        "band": wb.Float(0.0, low=0.0, high=0.2),
        "use_high": wb.Bool(True),
        "price": wb.Choice("close", ["close", "open"]),
    }
)
def channel(candles: pd.DataFrame, window: int, band: float, use_high: bool, price: str):
    """Breakout of the previous window's high (or close)."""
    top = (candles.high if use_high else candles.close).rolling(window).max().shift(1)
    source = candles[price]
    return wb.Signals(
        entries=source > top * (1 + band),
        exits=source < top * (1 - 2 * band) - 1e9,
        short_entries=source < top * 0.5,
        indicators={"top": top},
    )


def test_a_notebook_strategy_is_usable_at_once(eth: pd.DataFrame) -> None:
    assert get_strategy("channel") is channel and "channel" in all_strategies()
    assert "channel" not in STRATEGIES
    signals = channel(eth, window=30)
    assert signals.strategy == "channel" and signals.params["window"] == 30
    assert signals.entries.dtype == bool and signals.entries.index.equals(eth.index)
    assert signals.short_entries is not None and signals.short_exits is None
    assert list(signals.frame().columns) == ["top", "entries", "exits", "short_entries"]
    # The layer adds nothing to the function's own result.
    direct = channel.fn(eth, window=30, band=0.0, use_high=True, price="close")
    pd.testing.assert_series_equal(signals.entries, direct.entries.rename("entries"))
    assert channel.validate({"window": "40", "use_high": "false"}, text=True) == {
        "window": 40,
        "band": 0.0,
        "use_high": False,
        "price": "close",
    }


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"window": 2}, "window", "between 5 and 500, got 2"),
        ({"window": 2.5}, "window", "whole number"),
        ({"band": "x"}, "band", "number"),
        ({"band": float("inf")}, "band", "finite"),
        ({"use_high": 3}, "use_high", "true or false"),
        ({"price": "hl2"}, "price", "one of 'close', 'open'"),
        ({"nosuch": 1}, "nosuch", "not a parameter of channel"),
    ],
)
def test_bad_parameters_are_one_line_naming_the_field(
    eth: pd.DataFrame, params: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as err:
        channel(eth, **params)
    assert message in err.value.errors[field] and "\n" not in str(err.value)
    assert "channel parameters" in str(err.value)


def _bad(kind: str):
    @wb.strategy(params={}, name=f"bad_{kind}")
    def bad(candles):
        close = candles.close
        if kind == "raises":
            return close.no_such_column
        if kind == "float":
            return wb.Signals(entries=close * 1.0, exits=close > 0)
        if kind == "misaligned":
            return wb.Signals(entries=(close > 0).iloc[1:], exits=close > 0)
        if kind == "array":
            return wb.Signals(entries=np.ones(len(close), bool), exits=close > 0)
        return (close > 0, close < 0)

    return bad


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("raises", "strategy bad_raises raised AttributeError"),
        ("float", "strategy bad_float: entries has dtype float64, not bool"),
        ("misaligned", "strategy bad_misaligned: entries is not aligned with the candles"),
        ("array", "strategy bad_array: entries is a ndarray, not a pandas Series"),
        ("tuple", "strategy bad_tuple returned tuple; return wb.Signals"),
    ],
)
def test_bad_signals_are_one_line_naming_the_strategy(
    eth: pd.DataFrame, kind: str, message: str
) -> None:
    with pytest.raises(StrategyError) as err:
        _bad(kind)(eth)
    assert message in str(err.value) and "\n" not in str(err.value)
    if kind == "raises":
        assert f"{__file__}:" in str(err.value)  # the line of the user's code


def test_declarations_that_do_not_match_the_function_are_refused() -> None:
    with pytest.raises(StrategyError, match="arguments not declared in params: window"):

        @wb.strategy(params={})
        def undeclared(candles, window):
            return None

    with pytest.raises(StrategyError, match="default 1 must be between 5 and 9"):

        @wb.strategy(params={"n": wb.Int(1, low=5, high=9)})
        def bad_default(candles, n):
            return None

    with pytest.raises(StrategyError, match="would shadow the built-in ema_cross"):

        @wb.strategy(params={})
        def ema_cross(candles):
            return None

    assert get_strategy("ema_cross") is STRATEGIES["ema_cross"]


def test_file_errors_name_the_file_and_line(home: Path) -> None:
    broken = drop(home, "broken", "import workbench as wb\n\nx = 1\nraise RuntimeError('no')\n")
    with pytest.raises(StrategyError) as err:
        get_strategy("anything")
    assert f"strategy file {broken} line 4 failed to import: RuntimeError: no" in str(err.value)
    broken.write_text("def oops(:\n")
    with pytest.raises(StrategyError, match=r"broken.py line 1 failed to import: SyntaxError"):
        all_strategies()
    broken.unlink()

    first = drop(home, "one", DONCHIAN)
    extra = home / "more"
    extra.mkdir()
    second = extra / "two.py"
    second.write_text(DONCHIAN)
    import os

    os.environ["WORKBENCH_STRATEGY_PATH"] = f"{extra}{os.pathsep}{home / 'missing'}"
    try:
        with pytest.raises(StrategyError) as err:
            get_strategy("donchian")
        assert f"{first}:" in str(err.value) and f"{second}:" in str(err.value)
        assert "defined twice" in str(err.value)
    finally:
        del os.environ["WORKBENCH_STRATEGY_PATH"]
    assert get_strategy("donchian").source == str(first)

    drop(home, "shadow", DONCHIAN.replace("def donchian", "def rsi"))
    with pytest.raises(StrategyError, match=r"shadow\.py:.*rsi is the name of a built-in"):
        get_strategy("donchian")
    assert get_strategy("rsi") is STRATEGIES["rsi"]  # built-ins never need the files


def test_save_strategy_writes_a_file_that_loads(home: Path, eth: pd.DataFrame) -> None:
    @wb.strategy(params={"window": wb.Int(10, low=2, high=50)})
    def saved_breakout(candles: pd.DataFrame, window: int):
        top = candles.high.rolling(window).max().shift(1)
        return wb.Signals(entries=candles.close > top, exits=candles.close < top * 0.99)

    path = save_strategy(saved_breakout)
    assert path == home / "strategies" / "saved_breakout.py"
    from_file = get_strategy("saved_breakout")  # from now on, the file's version
    assert from_file is not saved_breakout and from_file.source == str(path)
    assert from_file.param_names == ("window",)
    pd.testing.assert_series_equal(from_file(eth).entries, saved_breakout(eth).entries)

    @wb.strategy(params={})
    def needs_helper(candles):
        return helper(candles)  # noqa: F821 (a name only this module has)

    with pytest.raises(StrategyError, match="needs_helper was not saved"):
        save_strategy(needs_helper)
    assert sorted(p.name for p in (home / "strategies").iterdir()) == ["saved_breakout.py"]


def test_check_finds_the_warm_up_of_a_recursion(eth: pd.DataFrame) -> None:
    report = check_strategy("ema_rsi", eth, {"ema_period": 50})
    assert report.passed and report.declared_warmup == 50
    assert report.warmup >= 50 and report.warmup_complete
    assert report.history_bars == report.warmup + 1
