"""Return statistics against empyrical-reloaded, on real candles, for every index unit."""

from __future__ import annotations

from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest

from workbench.analytics import bar_spacing, periods_per_year, return_stats, trade_stats
from workbench.analytics.returns import max_drawdown
from workbench.backtest import run_backtest
from workbench.market.candles import read_file
from workbench.rules import RuleParams

FIVE_MINUTE_BARS_A_YEAR = 365 * 24 * 12


@pytest.fixture(scope="module")
def equity(shared_data: Path) -> pd.Series:
    candles = read_file(shared_data / "ETH_BTC-5m.csv")
    result = run_backtest(
        candles,
        strategy="ema_cross",
        params={"ema_fast": 9, "ema_slow": 21},
        rules=RuleParams(stop_loss=0.02, max_daily_trades=1_000_000),
    )
    return result.equity


def _empyrical(equity: pd.Series) -> dict[str, float]:
    returns = equity.pct_change().dropna()
    year = FIVE_MINUTE_BARS_A_YEAR
    return {
        "sharpe_ratio": empyrical.sharpe_ratio(returns, annualization=year),
        "sortino_ratio": empyrical.sortino_ratio(returns, annualization=year),
        "annualized_volatility": empyrical.annual_volatility(returns, annualization=year),
        "cagr": empyrical.cagr(returns, annualization=year),
        "max_drawdown": -empyrical.max_drawdown(returns),
    }


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_return_stats_agree_with_empyrical_for_any_index_unit(equity: pd.Series, unit: str) -> None:
    curve = equity.copy()
    curve.index = curve.index.as_unit(unit)
    assert bar_spacing(curve.index) == pd.Timedelta(minutes=5)
    assert periods_per_year(curve.index) == pytest.approx(FIVE_MINUTE_BARS_A_YEAR)
    ours = return_stats(curve)
    expected = _empyrical(equity)
    assert ours == pytest.approx(expected, rel=1e-9)
    sharpe = ours["sharpe_ratio"]
    assert sharpe is not None and -50 < sharpe < 50  # read as 0.3 s bars it was -304


def test_a_backtest_reports_empyricals_figures(shared_data: Path) -> None:
    candles = read_file(shared_data / "ADA_BTC-5m.csv")
    assert str(candles.index.dtype) == "datetime64[us, UTC]"
    result = run_backtest(candles, strategy="ema_cross", params={"ema_fast": 9, "ema_slow": 21})
    stats = result.stats()
    expected = _empyrical(result.equity)
    for name in ("sharpe_ratio", "sortino_ratio", "annualized_volatility", "cagr"):
        assert stats[name] == pytest.approx(expected[name], rel=1e-9), name
    assert stats["max_drawdown"] == pytest.approx(expected["max_drawdown"], rel=1e-9)


def test_hourly_bars_annualise_on_a_365_day_year(equity: pd.Series) -> None:
    hourly = equity.iloc[::12]
    returns = hourly.pct_change().dropna()
    assert periods_per_year(hourly.index) == 365 * 24
    assert return_stats(hourly)["sharpe_ratio"] == pytest.approx(
        empyrical.sharpe_ratio(returns, annualization=365 * 24), rel=1e-9
    )


def test_undefined_figures_are_none() -> None:
    flat = pd.Series([1000.0] * 5, index=pd.date_range("2024-01-01", periods=5, freq="1h"))
    stats = return_stats(flat)
    assert stats["sharpe_ratio"] is None and stats["sortino_ratio"] is None
    assert stats["annualized_volatility"] == 0.0 and stats["max_drawdown"] == 0.0
    assert return_stats(flat.iloc[:1])["sharpe_ratio"] is None


def test_max_drawdown_is_the_fall_from_the_running_peak() -> None:
    rng = np.random.default_rng(5)
    index = pd.date_range("2024-01-01", periods=2000, freq="1min", tz="UTC")
    for _ in range(20):
        held = rng.random(len(index)) < 0.5  # flat stretches, as a backtest's curve has
        curve = 1000 * np.cumprod(1 + held * rng.normal(0, 0.01, len(index)))
        assert return_stats(pd.Series(curve, index=index))["max_drawdown"] == max_drawdown(curve)


def test_a_curve_that_reaches_zero_has_no_return_figures() -> None:
    index = pd.date_range("2024-01-01", periods=5, freq="1h", tz="UTC")
    stats = return_stats(pd.Series([1000.0, 1200.0, 0.0, 0.0, 0.0], index=index))
    assert stats["sharpe_ratio"] is None and stats["cagr"] is None
    assert stats["max_drawdown"] == 1.0


def test_uneven_bars_are_spaced_by_their_median() -> None:
    index = pd.DatetimeIndex(
        ["2024-01-01 00:00", "2024-01-01 00:05", "2024-01-01 00:10", "2024-01-01 00:20"], tz="UTC"
    )
    assert bar_spacing(index) == pd.Timedelta(minutes=5)


def test_an_open_position_is_not_a_trade() -> None:
    trades = pd.DataFrame(
        {
            "pnl": [5.0, -2.0, float("nan")],
            "fees": [1.0, 1.0, 0.5],
            "exit_reason": ["signal", "stop_loss", "open"],
        }
    )
    stats = trade_stats(trades)
    assert (stats["total_trades"], stats["open_trades"]) == (2, 1)
    assert stats["win_rate"] == 0.5 and stats["profit_factor"] == 2.5
    assert stats["fees_paid"] == 2.5
    assert stats["exit_reasons"] == {"signal": 1, "stop_loss": 1}


def test_exit_reasons_are_counted_most_first_ties_in_order_of_appearance() -> None:
    reasons = ["stop_loss", "signal", "signal", "stop_loss", "take_profit", "open"]
    trades = pd.DataFrame({"pnl": [1.0] * 6, "fees": [0.0] * 6, "exit_reason": reasons})
    got = trade_stats(trades)["exit_reasons"]
    assert list(got.items()) == [("stop_loss", 2), ("signal", 2), ("take_profit", 1)]
    assert list(got.items()) == list(pd.Series(reasons[:-1]).value_counts().items())
