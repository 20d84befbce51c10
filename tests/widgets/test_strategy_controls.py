"""The backtest explorer lists user strategies and builds their controls from the declared
kinds and bounds; what it runs equals the package's backtest."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as w
import pandas as pd
import pytest
from sqlalchemy import Engine

import workbench as wb
from workbench.backtest import run_backtest
from workbench.market.candles import read_candles, read_file, upsert_candles
from workbench.rules import RuleParams
from workbench.widgets.backtests import BacktestExplorer

MARKET = {"exchange": "binance", "symbol": "ETH/BTC", "timeframe": "5m"}


@wb.strategy(
    params={
        "reach": wb.Int(24, low=5, high=400),
        "cushion": wb.Float(0.0, low=0.0, high=0.05),
        "on_close": wb.Bool(True),
        "exit_on": wb.Choice("low", ["low", "close"]),
    }
)
def explorer_breakout(
    candles: pd.DataFrame, reach: int, cushion: float, on_close: bool, exit_on: str
):
    """A breakout with every kind of parameter."""
    top = (candles.close if on_close else candles.high).rolling(reach).max().shift(1)
    floor = candles[exit_on].rolling(reach).min().shift(1)
    return wb.Signals(
        entries=candles.close > top * (1 + cushion),
        exits=candles.close < floor,
        indicators={"top": top, "floor": floor},
    )


@pytest.fixture
def stored(engine: Engine, shared_data: Path) -> Engine:
    frame = read_file(shared_data / "ETH_BTC-5m.csv").iloc[:2000]
    upsert_candles(engine=engine, frame=frame, **MARKET)
    return engine


def test_user_strategy_controls_follow_the_declaration(stored: Engine) -> None:
    explorer = BacktestExplorer(stored)
    assert "explorer_breakout" in explorer.strategy.options
    explorer.strategy.value = "explorer_breakout"
    reach, cushion = explorer.params["reach"], explorer.params["cushion"]
    assert isinstance(reach, w.BoundedIntText) and (reach.min, reach.max) == (5, 400)
    assert isinstance(cushion, w.BoundedFloatText) and cushion.max == 0.05
    assert isinstance(explorer.params["on_close"], w.Checkbox)
    assert list(explorer.params["exit_on"].options) == ["low", "close"]
    assert explorer.ranges["reach"].placeholder == "5:401"

    reach.value = 40
    explorer.params["exit_on"].value = "close"
    result = explorer.run_backtest()
    assert result is not None, explorer.message.text
    candles = read_candles(engine=stored, **MARKET)
    params = {"reach": 40, "cushion": 0.0, "on_close": True, "exit_on": "close"}
    expected = run_backtest(
        candles,
        strategy="explorer_breakout",
        params=params,
        rules=RuleParams(fee=explorer.fee.value, max_daily_trades=10),
    )
    assert result.params == params
    assert result.stats()["total_trades"] == expected.stats()["total_trades"] > 0
