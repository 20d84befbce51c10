"""A sweep takes any bot config field as a backtest does, and every row is that backtest;
a sweep of 10,000 sets runs a bounded chunk of sets at a time."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from workbench.backtest import backtest_config, run_backtest, sweep_config
from workbench.backtest.configs import free_config
from workbench.errors import ValidationError
from workbench.market.candles import read_file
from workbench.rules import RuleParams
from workbench.strategies.sweep import sweep_backtests, valid_sets

MARKET = {"exchange": "binance", "symbol": "ETH/BTC", "timeframe": "5m"}
RANGES = {"ema_fast": [5, 9, 13], "ema_slow": [21, 34]}


@pytest.fixture(scope="module")
def candles(shared_data: Path) -> pd.DataFrame:
    return read_file(shared_data / "ETH_BTC-5m.csv")


def config_with(**fields: object):  # type: ignore[no-untyped-def]
    return free_config(**MARKET, strategy="ema_cross", fields=fields)


def test_a_sweep_with_fixed_rules_is_the_backtest_of_each_set(candles: pd.DataFrame) -> None:
    config = config_with(stop_loss_perc=2, take_profit_perc=3, max_daily_trades=4)
    table = sweep_config(candles, config, RANGES, progress=False)
    assert len(table) == 6
    assert table.attrs["rules"]["stop_loss_perc"] == 2
    assert table.attrs["rules"]["max_daily_trades"] == 4
    reasons: set[str] = set()
    for row in table.to_dict(orient="records"):
        params = {"ema_fast": row["ema_fast"], "ema_slow": row["ema_slow"]}
        single = backtest_config(candles, config, params=params)
        stats = single.stats()
        assert row["final_value"] == stats["final_value"], params
        assert row["max_drawdown"] == pytest.approx(stats["max_drawdown"], rel=1e-12)
        assert (row["trades"], row["open_trades"]) == (
            stats["total_trades"],
            stats["open_trades"],
        )
        reasons |= set(stats["exit_reasons"])
    assert {"stop_loss", "take_profit"} <= reasons  # the fixed rules did trade
    plain = sweep_config(candles, config_with(), RANGES, progress=False)
    assert not plain["final_value"].equals(table["final_value"])


def test_a_swept_rule_field_is_refused_by_name(candles: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match="stop_loss_perc not parameters of ema_cross"):
        sweep_config(candles, config_with(), {"stop_loss_perc": [1, 2]}, progress=False)
    with pytest.raises(ValidationError, match="stop_loss_perc"):
        sweep_config(candles, config_with(stop_loss_perc=-1), RANGES, progress=False)


def test_ten_thousand_sets_run_in_bounded_chunks(candles: pd.DataFrame) -> None:
    window = candles.iloc[:3000]
    grid = {"ema_fast": list(range(1, 101)), "ema_slow": list(range(101, 201))}
    _, combos, skipped = valid_sets("ema_cross", grid)
    assert len(combos) == 10_000 and not skipped
    rules = RuleParams(fee=0.001, stop_loss=0.02, max_daily_trades=5)
    chunks: list[int] = []
    final, drawdown, fills = sweep_backtests(
        window, "ema_cross", combos, rules.to_array(), chunk=256, progress=chunks.append
    )
    assert len(chunks) == math.ceil(10_000 / 256) and max(chunks) == 256
    assert sum(chunks) == 10_000 and final.shape == drawdown.shape == fills.shape == (10_000,)
    for j in (0, 4_321, 9_999):
        single = run_backtest(window, strategy="ema_cross", params=combos[j], rules=rules)
        assert final[j] == single.equity.iloc[-1]
        assert fills[j] == len(single.fills)
