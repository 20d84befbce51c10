"""Return statistics: the compiled ratios equal vectorbt's returns accessor exactly."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.backtest import run_backtest
from workbench.backtest.ratios import return_ratios
from workbench.market.candles import read_file
from workbench.rules import RuleParams


def vectorbt_ratios(returns: pd.Series, bar: pd.Timedelta) -> tuple[float, float, float]:
    import vectorbt  # noqa: F401  (the .vbt accessor)

    accessor = returns.vbt.returns(freq=bar, year_freq="365 days")
    return (
        float(accessor.sharpe_ratio()),
        float(accessor.sortino_ratio()),
        float(accessor.annualized_volatility()),
    )


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize(
    ("name", "strategy", "rules"),
    [
        ("ETH_BTC-5m", "ema_cross", RuleParams(stop_loss=0.02, take_profit=0.03)),
        ("XRP_USDT-USDT-5m-futures", "rsi", RuleParams(leverage=3, futures=True)),
    ],
)
def test_stats_ratios_equal_vectorbt(
    shared_data: Path, name: str, strategy: str, rules: RuleParams
) -> None:
    candles = read_file(shared_data / f"{name}.csv")
    candles.index = candles.index.as_unit("ns")  # stats() reads the bar spacing in ns
    result = run_backtest(candles, strategy=strategy, rules=rules)
    stats = result.stats()
    returns = result.equity.pct_change().fillna(0.0)
    sharpe, sortino, volatility = vectorbt_ratios(returns, pd.Timedelta(minutes=5))
    assert stats["total_trades"] > 0 and stats["sharpe_ratio"] is not None
    assert stats["sharpe_ratio"] == sharpe
    assert stats["sortino_ratio"] == sortino
    assert stats["annualized_volatility"] == volatility


@pytest.mark.parametrize(
    "returns",
    [
        [0.0, 0.0, 0.0],  # no deviation: infinite ratios
        [0.0, 0.01, 0.02],  # no downside: infinite Sortino
        [0.0, -0.01, 0.03, np.nan, -0.02],  # a gap is skipped
        [0.01],  # too short: NaN
    ],
)
def test_edge_cases_equal_vectorbt(returns: list[float]) -> None:
    series = pd.Series(returns, index=pd.date_range("2024-01-01", periods=len(returns), freq="h"))
    ours = return_ratios(series.to_numpy(), pd.Timedelta(days=365) / pd.Timedelta(hours=1))
    theirs = vectorbt_ratios(series, pd.Timedelta(hours=1))
    assert all(same(a, b) for a, b in zip(ours, theirs, strict=True)), (ours, theirs)
