"""Backtests over the real candles: results, persistence, sweeps and figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session

from tests.conftest import MakeBot
from workbench.analytics import trade_stats
from workbench.backtest import (
    backtest_config,
    compare_backtests,
    run_backtest,
    run_sweep,
    save_backtest,
    sweep_heatmap,
)
from workbench.errors import ValidationError
from workbench.market.candles import read_file
from workbench.rules import RuleParams


@pytest.fixture(scope="module")
def candles(shared_data: Path) -> pd.DataFrame:
    return read_file(shared_data / "ETH_BTC-5m.csv")


def test_backtest_trades_add_up(candles: pd.DataFrame) -> None:
    rules = RuleParams(stop_loss=0.02, take_profit=0.04, fee=0.001)
    result = run_backtest(
        candles, strategy="ema_cross", params={"ema_fast": 9, "ema_slow": 21}, rules=rules
    )
    stats = result.stats()
    closed = result.closed_trades
    assert stats["total_trades"] == len(closed) > 50
    assert set(stats["exit_reasons"]) >= {"signal", "stop_loss", "take_profit"}
    open_pnl = 0.0 if len(closed) == len(result.trades) else None
    if open_pnl is not None:
        assert stats["final_value"] == pytest.approx(1000 + closed["pnl"].sum())
    assert (closed["exit_time"] > closed["entry_time"]).all()
    assert 0 < stats["max_drawdown"] < 1
    assert result.drawdown.max() == 0
    fig = result.figure()
    assert len(fig.data) == 4


def test_backtest_of_a_bot_config_uses_custom_overrides(
    session: Session, make_bot: MakeBot, candles: pd.DataFrame
) -> None:
    bot = make_bot(
        name="b",
        symbol="ETH/BTC",
        strategy="ema_cross",
        custom_ema_fast=9,
        custom_ema_slow=21,
        stop_loss_perc="2",
        take_profit_perc="4",
    )
    from_bot = backtest_config(candles, bot)
    direct = run_backtest(
        candles,
        strategy="ema_cross",
        params={"ema_fast": 9, "ema_slow": 21},
        rules=RuleParams(stop_loss=0.02, take_profit=0.04, max_daily_trades=10),
    )
    assert from_bot.params == {"ema_fast": 9, "ema_slow": 21}
    pd.testing.assert_series_equal(from_bot.equity, direct.equity)

    row = save_backtest(
        session=session,
        result=from_bot,
        user_id=bot.user_id,
        name="first",
        exchange="binance",
        symbol="ETH/BTC",
        timeframe="5m",
        bot_id=bot.id,
    )
    other = save_backtest(
        session=session,
        result=run_backtest(candles, strategy="rsi"),
        user_id=bot.user_id,
        name="rsi",
        exchange="binance",
        symbol="ETH/BTC",
        timeframe="5m",
    )
    session.commit()
    assert row.total_trades == from_bot.stats()["total_trades"]
    assert float(row.final_value) == pytest.approx(from_bot.equity.iloc[-1])
    side_by_side = compare_backtests(session=session, ids=[row.id, other.id])
    assert list(side_by_side.columns) == [f"{row.id}: first", f"{other.id}: rsi"]
    assert side_by_side.loc["strategy"].tolist() == ["ema_cross", "rsi"]


def test_sweep_matches_single_backtests(candles: pd.DataFrame) -> None:
    rules = RuleParams(stop_loss=0.03, max_daily_loss=0.05, max_daily_trades=5)
    grid = {"ema_fast": [5, 8, 13, 40], "ema_slow": [21, 34, 40]}
    table = run_sweep(
        candles, strategy="ema_cross", grid=grid, rules=rules, chunk=3, progress=False
    )
    assert len(table) == 9  # ema_fast 40 is never below ema_slow here
    assert table["total_return"].is_monotonic_decreasing
    for _, row in table.sample(4, random_state=1).iterrows():
        single = run_backtest(
            candles,
            strategy="ema_cross",
            rules=rules,
            params={"ema_fast": int(row.ema_fast), "ema_slow": int(row.ema_slow)},
        )
        assert row.final_value == pytest.approx(single.equity.iloc[-1], rel=1e-12)
        assert row.max_drawdown == pytest.approx(single.stats()["max_drawdown"], rel=1e-9)
    fig = sweep_heatmap(table, "ema_fast", "ema_slow")
    assert np.asarray(fig.data[0].z).shape == (3, 3)


def test_trade_tables_keep_their_types_and_stats_when_open_or_empty(
    candles: pd.DataFrame,
) -> None:
    params = {"ema_fast": 9, "ema_slow": 21}
    full = run_backtest(candles, strategy="ema_cross", params=params)
    held = full.trades[full.trades["exit_time"] > full.trades["entry_time"] + pd.Timedelta("5min")]
    entered = candles.index.get_loc(held["entry_time"].iloc[0])
    still_open = run_backtest(candles.iloc[: entered + 2], strategy="ema_cross", params=params)
    none = run_backtest(candles.iloc[:5], strategy="ema_cross", params=params)
    assert still_open.trades["exit_reason"].iloc[-1] == "open" and none.trades.empty
    for result in (full, still_open, none):
        assert result.trades.dtypes.equals(full.trades.dtypes)
        stats = result.stats()
        assert {k: stats[k] for k in trade_stats(result.trades)} == trade_stats(result.trades)


def test_bad_requests(candles: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match="ema_fast"):
        run_backtest(candles, strategy="ema_cross", params={"ema_fast": 50, "ema_slow": 10})
    with pytest.raises(ValidationError, match="no valid parameter set"):
        run_sweep(candles, strategy="ema_cross", grid={"ema_fast": [30], "ema_slow": [10]})
    with pytest.raises(ValidationError, match="at least 2 bars"):
        run_backtest(candles.iloc[:1], strategy="ema_cross")
