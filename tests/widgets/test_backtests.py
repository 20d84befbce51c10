"""The backtest explorer: run, sweep, save and compare, as a person clicks through it."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.accounts import local_user
from workbench.backtest import backtest_config
from workbench.bots import create_bot
from workbench.db import session_scope
from workbench.db.models import Backtest
from workbench.market.candles import read_candles, read_file, upsert_candles
from workbench.widgets.backtests import BacktestExplorer

MARKET = {"exchange": "binance", "symbol": "ETH/BTC", "timeframe": "5m"}


@pytest.fixture
def stored(engine: Engine, shared_data: Path) -> Engine:
    frame = read_file(shared_data / "ETH_BTC-5m.csv").iloc[:3000]
    upsert_candles(engine=engine, frame=frame, **MARKET)
    return engine


def saved_rows(engine: Engine) -> list[Backtest]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(Backtest).order_by(Backtest.id)))


def test_run_shows_what_the_package_computes_and_saves_it(stored: Engine) -> None:
    explorer = BacktestExplorer(stored)
    assert explorer.market.value == "binance ETH/BTC 5m"
    explorer.params["ema_fast"].value = 8
    explorer.params["ema_slow"].value = 30
    explorer.rules["stop_loss_perc"].value = 1.5
    result = explorer.run_backtest()
    assert result is not None and explorer.plots.outputs
    assert result.rules.stop_loss == pytest.approx(0.015)
    stats = result.stats()
    assert f"{stats['total_trades']} trades" in explorer.message.text
    assert "total_return" in explorer.stats.value and "entry_time" in explorer.trades.value

    explorer.save.click()
    assert "give the backtest a name" in explorer.message.text and saved_rows(stored) == []
    explorer.name.value = "ema 8/30 stop 1.5"
    explorer.save.click()
    [row] = saved_rows(stored)
    assert row.name == "ema 8/30 stop 1.5" and row.total_trades == stats["total_trades"]
    assert float(row.final_value) == pytest.approx(stats["final_value"])
    assert row.parameters["strategy"] == {"ema_fast": 8, "ema_slow": 30}


def test_a_bot_config_runs_exactly_as_the_bot_would(stored: Engine) -> None:
    with session_scope(stored) as session:
        bot = create_bot(
            session=session,
            owner_id=local_user(session=session).id,
            name="r",
            strategy="rsi",
            rsi_period=10,
            take_profit_perc="3",
            **MARKET,
        )
        bot_id = bot.id
        expected = backtest_config(read_candles(engine=stored, **MARKET), bot).stats()
    explorer = BacktestExplorer(stored)
    explorer.bot.value = bot_id
    result = explorer.run_backtest()
    assert result is not None
    assert result.stats()["final_value"] == pytest.approx(expected["final_value"])


def test_bad_input_shows_an_error_and_runs_nothing(stored: Engine) -> None:
    explorer = BacktestExplorer(stored)
    explorer.params["ema_fast"].value = 40
    explorer.params["ema_slow"].value = 20
    assert explorer.run_backtest() is None
    assert "ema_fast: must be less than ema_slow" in explorer.message.text
    assert not explorer.plots.outputs
    explorer.params["ema_fast"].value = 5
    explorer.ranges["ema_fast"].value = "five:ten"
    assert explorer.sweep() is None
    assert "expected NAME=START:STOP" in explorer.message.text


def test_sweep_heatmap_and_compare(stored: Engine) -> None:
    explorer = BacktestExplorer(stored)
    explorer.ranges["ema_fast"].value = "5:20:5"
    explorer.ranges["ema_slow"].value = "20,30"
    explorer.run_sweep.click()
    table = explorer.sweep_table
    assert table is not None and len(table) == 6
    assert table["total_return"].is_monotonic_decreasing
    figure = explorer.plots.outputs[0]["data"]
    assert "heatmap" in str(figure)

    for name, fast in (("a", 5), ("b", 10)):
        explorer.params["ema_fast"].value = fast
        explorer.run.click()
        explorer.name.value = name
        explorer.save.click()
    explorer.compare.click()
    assert "choose two or more" in explorer.message.text
    explorer.saved.value = tuple(v for _, v in explorer.saved.options)
    explorer.compare.click()
    assert "1: a" in explorer.comparison.value and "2: b" in explorer.comparison.value
