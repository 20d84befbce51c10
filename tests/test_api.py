"""The notebook API (``import workbench as wb``) on each database kind."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

import workbench as wb
from workbench.backtest import backtest_config
from workbench.db import default_engine
from workbench.db.models import BotEvent, Trade
from workbench.errors import NotFoundError, ValidationError
from workbench.settings import Settings, get_settings


@pytest.fixture
def settings(home: object, empty_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh home and an empty database of each kind: wb.init() migrates it."""
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", empty_db_url)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return default_engine()


def test_names_stay_functions_after_their_subpackages_load() -> None:
    import workbench.backtest.runner
    import workbench.bots.runner  # noqa: F401

    assert callable(wb.bots) and callable(wb.backtest)
    assert wb.bots.__module__ == wb.backtest.__module__ == "workbench.api"
    assert "sweep" in dir(wb)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        wb.nope  # noqa: B018


def test_init_makes_one_sample_market(settings: Settings) -> None:
    first = wb.init()
    again = wb.init()
    assert list(first["count"]) == list(again["count"]) == [4000]
    frame = wb.candles()
    assert len(frame) == 4000 and frame.index.tz is not None
    assert frame.attrs["market"] == {
        "exchange": "synthetic",
        "symbol": "BTC/USDT",
        "timeframe": "5m",
    }
    window = wb.candles("BTC/USDT", "5m", start="2024-01-02", end="2024-01-03")
    assert len(window) == 288
    with pytest.raises(NotFoundError, match="stored: synthetic BTC/USDT 5m"):
        wb.candles("ETH/USDT")
    with pytest.raises(ValidationError, match="start"):
        wb.candles(start="yesterday-ish")


def test_backtest_sweep_save_compare(settings: Settings, engine: Engine) -> None:
    wb.init()
    frame = wb.candles()
    result = wb.backtest(frame, ema_fast=9, ema_slow=21, stop_loss_perc=2)
    config = wb.api._config(
        frame, None, "ema_cross", {"ema_fast": 9, "ema_slow": 21, "stop_loss_perc": 2}
    )
    assert result.stats()["final_value"] == backtest_config(frame, config).stats()["final_value"]
    assert result.rules.stop_loss == pytest.approx(0.02)
    with pytest.raises(ValidationError, match="ema_fast"):
        wb.backtest(frame, ema_fast=30, ema_slow=20)

    table = wb.sweep(frame, ema_fast=range(5, 15, 5), ema_slow=[20, 30], progress=False)
    assert len(table) == 4
    assert table["total_return"].is_monotonic_decreasing
    assert wb.heatmap(table, "ema_fast", "ema_slow").data[0].type == "heatmap"

    first = wb.save(result, "first", frame)
    second = wb.save(wb.backtest(frame, ema_fast=5, ema_slow=20), "second", frame)
    assert list(wb.backtests()["id"]) == [second, first]
    side_by_side = wb.compare(first, second)
    assert list(side_by_side.columns) == [f"{first}: first", f"{second}: second"]
    assert side_by_side.loc["ema_fast"].tolist() == [9, 5]


def test_ticks_trades_events_and_the_daily_report(settings: Settings, engine: Engine) -> None:
    wb.init()
    assert wb.sample_trades(bars=150) > 0  # the sample bot ticked on paper over history
    bot = wb.job_bot()
    assert wb.bots().loc[0, "name"] == "sample-ema-cross"
    with engine.connect() as conn:
        trades = pd.DataFrame(conn.execute(sa.select(Trade.timestamp, Trade.realized_pnl)))
        events = conn.scalar(sa.select(sa.func.count()).select_from(BotEvent))
    assert wb.sample_trades() == len(trades)  # with trades there, nothing more is ticked
    assert events >= len(trades)

    report = wb.daily_report()
    day = report.day
    times = pd.to_datetime(trades["timestamp"], utc=True)
    assert day == times.max().date()
    [row] = report.summary.to_dict(orient="records")
    assert row["trades"] == (times.dt.date == day).sum()
    total = trades["realized_pnl"].dropna().astype(float).sum()
    assert row["equity_end"] == pytest.approx(1000 + total)
    assert report.figure().data

    result = wb.tick(bot)
    assert result.bot_id == bot and result.decision in ("enter", "exit", "hold", "wait")
    assert wb.tick_figure(result).data[0].type == "candlestick"
    assert {"bot_id", "decision", "reason", "risk_rule"} <= set(wb.events(bot).columns)


def test_replaying_a_past_moment_needs_stored_candles(settings: Settings) -> None:
    wb.init()
    bot = wb.create_bot(name="real", exchange="binance", symbol="BTC/USDT", timeframe="5m")
    with pytest.raises(ValidationError, match="as_of"):
        wb.tick(bot, as_of="2024-01-02T00:00")
