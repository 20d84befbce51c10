"""The backtest explorer: run, sweep, save and compare, as a person clicks through it, on
real candles; what it shows equals what the package computes, and Save writes exactly that."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import ipywidgets as w
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.accounts import local_user
from workbench.backtest import backtest_config, run_backtest
from workbench.backtest.configs import free_config
from workbench.bots import create_bot
from workbench.db import session_scope
from workbench.db.models import Backtest
from workbench.market.candles import read_candles, read_file, upsert_candles
from workbench.market.sample import sample_candles
from workbench.rules import RuleParams
from workbench.widgets.backtests import BacktestExplorer

MARKET = {"exchange": "binance", "symbol": "ETH/BTC", "timeframe": "5m"}


@pytest.fixture
def stored(engine: Engine, shared_data: Path) -> Engine:
    frame = read_file(shared_data / "ETH_BTC-5m.csv").iloc[:3000]  # 2018-01-10 .. 01-20
    upsert_candles(engine=engine, frame=frame, **MARKET)
    upsert_candles(
        engine=engine,
        frame=sample_candles(500, timeframe="1h"),
        exchange="synthetic",
        symbol="BTC/USDT",
        timeframe="1h",
    )
    return engine


def saved_rows(engine: Engine) -> list[Backtest]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(Backtest).order_by(Backtest.id)))


def plotted(output: w.Output) -> str:
    [shown] = output.outputs
    return str(shown["data"]["application/vnd.plotly.v1+json"])


def test_run_shows_what_the_package_computes_and_save_writes_it(stored: Engine) -> None:
    explorer = BacktestExplorer(stored)
    assert list(explorer.market.options) == ["binance ETH/BTC 5m", "synthetic BTC/USDT 1h"]
    explorer.params["ema_fast"].value = 8
    explorer.params["ema_slow"].value = 30
    explorer.rules["stop_loss_perc"].value = 1.5
    explorer.rules["trailing_stop_perc"].value = 2
    explorer.fee.value = 0.002
    explorer.slippage.value = 0.0005
    explorer.start.value = date(2018, 1, 12)
    explorer.end.value = date(2018, 1, 18)  # inclusive
    explorer.run.click()
    result = explorer.result
    assert result is not None and plotted(explorer.plots)
    rules = result.rules
    assert (rules.stop_loss, rules.trailing_stop) == pytest.approx((0.015, 0.02))
    assert (rules.fee, rules.slippage) == (0.002, 0.0005)

    candles = read_candles(
        engine=stored,
        **MARKET,
        start=datetime(2018, 1, 12, tzinfo=UTC),
        end=datetime(2018, 1, 19, tzinfo=UTC),
    )
    config = free_config(
        **MARKET,
        strategy="ema_cross",
        fields={
            "ema_fast": 8,
            "ema_slow": 30,
            "stop_loss_perc": "1.5",
            "trailing_stop_perc": "2",
            "trailing_stop_active": True,
        },
    )
    stats = backtest_config(candles, config, fee=0.002, slippage=0.0005).stats()
    assert explorer.stats_shown["start"] == candles.index[0]
    assert explorer.stats_shown["final_value"] == pytest.approx(stats["final_value"])
    assert stats["total_trades"] > 0
    assert f"{stats['total_trades']} trades" in explorer.message.text
    assert "total_return" in explorer.stats.value
    assert f"<b>{len(result.trades)} trades</b>" in explorer.trades.value

    explorer.save.click()
    assert "give the backtest a name" in explorer.message.text and saved_rows(stored) == []
    explorer.name.value = "x" * 201
    explorer.save.click()
    assert "1 to 200 characters" in explorer.message.text and saved_rows(stored) == []
    explorer.name.value = "  ema 8/30 stop 1.5  "
    explorer.save.click()
    [row] = saved_rows(stored)
    assert explorer.message.text == f"saved as backtest {row.id}"
    assert row.name == "ema 8/30 stop 1.5" and row.bot_id is None
    assert row.total_trades == explorer.stats_shown["total_trades"]
    assert float(row.final_value) == pytest.approx(explorer.stats_shown["final_value"])
    assert row.total_return == pytest.approx(explorer.stats_shown["total_return"])
    assert row.max_drawdown == pytest.approx(explorer.stats_shown["max_drawdown"])
    assert row.parameters["strategy"] == {"ema_fast": 8, "ema_slow": 30}
    assert row.parameters["rules"]["slippage"] == 0.0005
    assert list(explorer.saved.options) == [(f"{row.id}: ema 8/30 stop 1.5", row.id)]


def test_a_bot_runs_exactly_as_the_bot_would(stored: Engine) -> None:
    with session_scope(stored) as session:
        bot = create_bot(
            session=session,
            user_id=local_user(session=session).id,
            name="r",
            strategy="rsi",
            rsi_period=10,
            take_profit_perc="3",
            **MARKET,
        )
        bot_id = bot.id
        expected = backtest_config(read_candles(engine=stored, **MARKET), bot).stats()
    explorer = BacktestExplorer(stored)
    explorer.market.value = "synthetic BTC/USDT 1h"
    explorer.bot.value = bot_id
    # the form shows the bot's config and cannot be edited while the bot is chosen
    assert explorer.market.value == "binance ETH/BTC 5m" and explorer.strategy.value == "rsi"
    assert explorer.params["rsi_period"].value == 10 and explorer.params["rsi_period"].disabled
    assert explorer.rules["take_profit_perc"].value == 3
    result = explorer.run_backtest()
    assert result is not None
    assert result.stats()["final_value"] == pytest.approx(expected["final_value"])
    explorer.name.value = "bot r"
    explorer.save.click()
    [row] = saved_rows(stored)
    assert row.bot_id == bot_id and row.strategy == "rsi"

    explorer.bot.value = None
    assert not explorer.params["rsi_period"].disabled and not explorer.strategy.disabled


def test_bad_input_shows_an_error_runs_nothing_and_saves_nothing(stored: Engine) -> None:
    explorer = BacktestExplorer(stored)
    explorer.run.click()
    assert explorer.result is not None and explorer.plots.outputs
    explorer.params["ema_fast"].value = 40
    explorer.params["ema_slow"].value = 20
    explorer.run.click()
    assert "ema_fast: must be less than ema_slow" in explorer.message.text
    assert explorer.result is None and not explorer.plots.outputs and explorer.stats.value == ""
    explorer.name.value = "stale"
    explorer.save.click()  # the earlier result is gone with the failed run
    assert "run a backtest first" in explorer.message.text and saved_rows(stored) == []

    explorer.params["ema_fast"].value = 5
    explorer.start.value = date(2018, 1, 15)
    explorer.end.value = date(2018, 1, 14)
    explorer.run.click()
    assert "end: must be after start" in explorer.message.text
    explorer.start.value = date(2019, 1, 1)
    explorer.end.value = None
    explorer.run.click()
    assert "no stored ETH/BTC 5m candles" in explorer.message.text
    assert explorer.result is None and saved_rows(stored) == []


@pytest.mark.parametrize(
    ("ranges", "error"),
    [
        ({"ema_fast": "five:ten"}, "expected NAME=START:STOP"),
        ({"ema_fast": "10:5"}, "the range is empty"),
        ({}, "give a range of values for at least one parameter"),
        ({"ema_fast": "30:40"}, "no valid parameter set"),  # all >= ema_slow (26)
        ({"ema_fast": "5:200", "ema_slow": "5:400"}, "narrow the ranges"),
    ],
)
def test_a_bad_sweep_shows_an_error_and_saves_nothing(
    stored: Engine, ranges: dict[str, str], error: str
) -> None:
    explorer = BacktestExplorer(stored)
    for name, text in ranges.items():
        explorer.ranges[name].value = text
    explorer.run_sweep.click()
    assert error in explorer.message.text
    assert explorer.sweep_table is None and not explorer.heatmap.outputs
    explorer.save_sweep.click()
    assert "run a sweep first" in explorer.message.text and saved_rows(stored) == []


def test_sweep_heatmap_save_best_and_compare(stored: Engine) -> None:
    explorer = BacktestExplorer(stored)
    explorer.params["ema_slow"].value = 30
    explorer.ranges["ema_fast"].value = "5:20:5"
    explorer.run_sweep.click()  # one parameter: a line over it
    assert list(explorer.sweep_table["ema_slow"]) == [30] * 3  # the value above, held
    assert '"type": "scatter"' in plotted(explorer.heatmap).replace("'", '"')

    explorer.ranges["ema_slow"].value = "20,30"
    explorer.fee.value = 0.0005
    explorer.run_sweep.click()
    table = explorer.sweep_table
    assert table is not None and len(table) == 6
    assert table["total_return"].is_monotonic_decreasing
    assert "heatmap" in plotted(explorer.heatmap)
    assert "<b>6 parameter sets</b>" in explorer.sweep_view.value

    explorer.save_top.value = 2
    explorer.save_sweep.click()
    rows = saved_rows(stored)
    assert [r.total_return for r in rows] == pytest.approx(list(table["total_return"][:2]))
    assert rows[0].name.startswith("sweep best: ema_cross")
    assert rows[0].parameters["rules"]["fee"] == 0.0005
    candles = read_candles(engine=stored, **MARKET)
    best = {k: int(table.loc[0, k]) for k in ("ema_fast", "ema_slow")}
    rules = RuleParams.from_config(
        free_config(**MARKET, strategy="ema_cross", fields={}), fee=0.0005
    )
    again = run_backtest(candles, strategy="ema_cross", params=best, rules=rules)
    assert float(rows[0].final_value) == pytest.approx(again.stats()["final_value"])

    explorer.compare.click()
    assert "choose two or more" in explorer.message.text and explorer.comparison.value == ""
    explorer.saved.value = tuple(v for _, v in explorer.saved.options)
    explorer.compare.click()
    assert explorer.message.text == "comparing 2 backtests"
    assert all(f"{row.id}: {row.name}" in explorer.comparison.value for row in rows)
    assert "total_return" in explorer.comparison.value
