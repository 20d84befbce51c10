"""The notebook API (``import workbench as wb``) on each database kind."""

from __future__ import annotations

import importlib.util
import inspect
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

import workbench as wb
from workbench.backtest import backtest_config
from workbench.backtest.configs import free_config
from workbench.db import default_engine
from workbench.db.models import BotEvent, Trade
from workbench.errors import ConflictError, NotFoundError, ValidationError
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


def test_every_public_name_resolves_and_subpackages_stay_reachable() -> None:
    import workbench.backtest.runner
    import workbench.bots.configs
    import workbench.strategies.check  # noqa: F401

    for name in wb.__all__:
        assert getattr(wb, name) is not None, name
    assert set(wb.__all__) <= set(dir(wb))
    assert isinstance(wb.bots, ModuleType) and wb.bots.configs.bot_fields
    assert isinstance(wb.backtest, ModuleType) and wb.backtest.runner.run_backtest
    assert isinstance(wb.strategies, ModuleType) and wb.strategies.check.check_strategy
    for short, name in wb.ALIASES.items():
        assert getattr(wb, short) is getattr(wb, name)
        assert importlib.util.find_spec(f"workbench.{short}") is None  # no subpackage hidden
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        wb.nope  # noqa: B018


def test_every_error_class_is_exported() -> None:
    from workbench import errors

    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.WorkbenchError)
    }
    assert defined <= set(wb.__all__)
    assert wb.ValidationError is errors.ValidationError


def test_every_public_function_says_what_it_returns() -> None:
    functions = [getattr(wb, n) for n in wb.__all__ if inspect.isfunction(getattr(wb, n))]
    assert len(functions) > 30
    for function in functions:
        returns = inspect.signature(function).return_annotation
        assert returns not in (inspect.Signature.empty, "Any", Any), function.__qualname__


def test_importing_workbench_loads_no_heavy_library() -> None:
    code = "import sys, workbench; print(sorted(m for m in sys.argv[1:] if m in sys.modules))"
    heavy = ["vectorbt", "plotly", "numba", "papermill", "ccxt", "ipywidgets", "pandas"]
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", code, *heavy],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert done.stdout.strip() == "[]"


def test_init_makes_one_sample_market(settings: Settings) -> None:
    first = wb.init(sample=True)
    again = wb.init(sample=True)
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
    wb.init(sample=True)
    frame = wb.candles()
    result = wb.run_backtest(frame, ema_fast=9, ema_slow=21, stop_loss_perc=2)
    config = free_config(
        **frame.attrs["market"],
        strategy="ema_cross",
        fields={"ema_fast": 9, "ema_slow": 21, "stop_loss_perc": 2},
    )
    assert result.stats()["final_value"] == backtest_config(frame, config).stats()["final_value"]
    assert result.rules.stop_loss == pytest.approx(0.02)
    with pytest.raises(ValidationError, match="ema_fast"):
        wb.run_backtest(frame, ema_fast=30, ema_slow=20)

    table = wb.run_sweep(frame, ema_fast=range(5, 15, 5), ema_slow=[20, 30], progress=False)
    assert len(table) == 4
    assert table["total_return"].is_monotonic_decreasing
    assert wb.plot_heatmap(table, "ema_fast", "ema_slow").data[0].type == "heatmap"

    first = wb.save_backtest(result, "first", frame)
    second = wb.save_backtest(wb.run_backtest(frame, ema_fast=5, ema_slow=20), "second", frame)
    assert list(wb.list_backtests()["id"]) == [second, first]
    side_by_side = wb.compare_backtests(first, second)
    assert list(side_by_side.columns) == [f"{first}: first", f"{second}: second"]
    assert side_by_side.loc["ema_fast"].tolist() == [9, 5]
    assert side_by_side.loc["rule: stop_loss_perc"].tolist() == [2, None]
    assert side_by_side.loc["rule: max_daily_trades"].tolist() == [10, 10]
    assert side_by_side.loc["rule: fee_perc"].tolist() == [0.1, 0.1]


def test_ticks_trades_events_and_the_daily_report(settings: Settings, engine: Engine) -> None:
    wb.init(sample=True)
    assert wb.sample_trades(bars=150) > 0  # the sample bot ticked on paper over history
    bot = int(wb.list_bots().loc[0, "id"])
    assert wb.list_bots().loc[0, "name"] == "sample-ema-cross"
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

    with pytest.raises(ConflictError, match="not active"):
        wb.tick(bot)
    result = wb.tick(bot, inactive=True)
    assert result.bot_id == bot and result.decision in ("enter", "exit", "hold", "wait")
    assert wb.plot_tick(result).data[0].type == "candlestick"
    assert {"bot_id", "decision", "reason", "risk_rule"} <= set(wb.list_events(bot).columns)


def test_replaying_a_past_moment_needs_stored_candles(settings: Settings) -> None:
    wb.init(sample=True)
    bot = wb.create_bot(name="real", exchange="binance", symbol="BTC/USDT", timeframe="5m")
    with pytest.raises(ValidationError, match="as_of"):
        wb.tick(bot, as_of="2024-01-02T00:00", inactive=True)


@pytest.fixture(scope="module")
def eth_btc_csv(shared_data: Path) -> pd.DataFrame:
    """A candle file as a user reads it: a RangeIndex and a timestamp column in ms."""
    return pd.read_csv(shared_data / "ETH_BTC-5m.csv")


def test_backtest_and_sweep_run_under_the_same_defaults(eth_btc_csv: pd.DataFrame) -> None:
    fields = {"symbol": "ETH/BTC", "stop_loss_perc": 2}
    stats = wb.run_backtest(eth_btc_csv, ema_fast=9, ema_slow=21, **fields).stats()
    table = wb.run_sweep(eth_btc_csv, ema_fast=[9, 12], ema_slow=[21], progress=False, **fields)
    [row] = table[table["ema_fast"] == 9].to_dict(orient="records")
    assert row["final_value"] == pytest.approx(stats["final_value"], rel=1e-12)
    assert (row["trades"], row["open_trades"]) == (stats["total_trades"], stats["open_trades"])
    assert stats["rules"]["max_daily_trades"] == 10  # the bot config's default, in both
    assert stats["rules"]["stop_loss_perc"] == 2
    assert stats["rules"]["fee_perc"] == pytest.approx(0.1)
    assert "next bar's open" in stats["rules"]["fill"]
    with pytest.raises(ValidationError, match="stop_loss_perc"):
        wb.run_sweep(eth_btc_csv, symbol="ETH/BTC", ema_fast=[9], stop_loss_perc=-1, progress=False)


def test_frames_from_a_file_with_a_timestamp_column(eth_btc_csv: pd.DataFrame) -> None:
    by_ms = wb.run_backtest(eth_btc_csv, symbol="ETH/BTC", ema_fast=9, ema_slow=21)
    iso = eth_btc_csv.assign(
        timestamp=pd.to_datetime(eth_btc_csv["timestamp"], unit="ms").dt.strftime("%Y-%m-%d %H:%M")
    )
    by_text = wb.run_backtest(iso, symbol="ETH/BTC", ema_fast=9, ema_slow=21)
    assert by_text.stats()["final_value"] == by_ms.stats()["final_value"]
    assert by_ms.market == {"exchange": "binance", "symbol": "ETH/BTC", "timeframe": "5m"}
    first = pd.Timestamp(int(eth_btc_csv["timestamp"][0]), unit="ms", tz="UTC")
    assert by_ms.equity.index[0] == first
    with pytest.raises(ValidationError, match=r"needs a DatetimeIndex .* or a column timestamp"):
        wb.run_backtest(eth_btc_csv.drop(columns="timestamp"), symbol="ETH/BTC")
    naive = candles_of(eth_btc_csv).tz_localize(None)  # a naive index is taken as UTC
    by_naive = wb.run_backtest(naive, symbol="ETH/BTC", ema_fast=9, ema_slow=21)
    assert by_naive.equity.index[0] == first
    assert by_naive.stats()["final_value"] == by_ms.stats()["final_value"]
    seconds = eth_btc_csv.assign(timestamp=eth_btc_csv["timestamp"] // 1000)
    with pytest.raises(ValidationError, match=r"timestamp: .*give ms"):
        wb.run_backtest(seconds, symbol="ETH/BTC")
    with pytest.raises(ValidationError, match="symbol: the frame has no market attached"):
        wb.run_backtest(eth_btc_csv)


def test_a_strategy_object_is_accepted(eth_btc_csv: pd.DataFrame) -> None:
    from workbench.strategies import get_strategy

    rsi = get_strategy("rsi")
    by_object = wb.run_backtest(eth_btc_csv, symbol="ETH/BTC", strategy=rsi, rsi_period=10)
    by_name = wb.run_backtest(eth_btc_csv, symbol="ETH/BTC", strategy="rsi", rsi_period=10)
    assert by_object.strategy == "rsi" and by_object.params["rsi_period"] == 10
    assert by_object.stats()["final_value"] == by_name.stats()["final_value"]
    table = wb.run_sweep(
        eth_btc_csv, symbol="ETH/BTC", strategy=rsi, rsi_period=[10, 14], progress=False
    )
    assert sorted(table["rsi_period"]) == [10, 14]


def test_saving_needs_the_market_never_the_first_stored_one(
    settings: Settings, eth_btc_csv: pd.DataFrame
) -> None:
    wb.init(sample=True)  # stores the synthetic BTC/USDT market
    bare = candles_of(eth_btc_csv)
    result = wb.run_backtest(bare, symbol="ETH/BTC", timeframe="5m", exchange="binance")
    saved = wb.save_backtest(result, "eth")
    row = wb.list_backtests().set_index("id").loc[saved]
    assert (row["symbol"], row["timeframe"]) == ("ETH/BTC", "5m")
    with pytest.raises(ValidationError, match="market: unknown for this backtest"):
        wb.save_backtest(replace(result, market=None), "eth", bare)
    stored = wb.candles()
    with pytest.raises(ValidationError, match="market: unknown"):
        wb.save_backtest(replace(wb.run_backtest(stored), market=None), "x")
    again = wb.save_backtest(
        result, "eth again", bare
    )  # the frame says nothing: the result's market
    assert wb.list_backtests().set_index("id").loc[again, "symbol"] == "ETH/BTC"
    assert list(wb.list_backtests()["id"]) == [again, saved]


def test_a_frame_without_a_market_is_refused_though_one_is_stored(
    settings: Settings, eth_btc_csv: pd.DataFrame
) -> None:
    wb.init(sample=True)  # stores the synthetic BTC/USDT market: never taken for a bare frame
    bare = candles_of(eth_btc_csv)
    with pytest.raises(ValidationError, match="symbol: the frame has no market attached"):
        wb.run_backtest(bare, ema_fast=9, ema_slow=21)
    with pytest.raises(ValidationError, match="symbol: the frame has no market attached"):
        wb.run_sweep(bare, ema_fast=[5, 9], progress=False)
    with pytest.raises(ValidationError, match="symbol: no candles given"):
        wb.run_backtest()
    with pytest.raises(ValidationError, match="frame: no candles given"):
        wb.check_strategy("ema_cross")
    named = wb.run_backtest(bare, symbol="ETH/BTC")
    assert named.market == {"exchange": "binance", "symbol": "ETH/BTC", "timeframe": "5m"}


def test_a_sweep_around_a_bot_keeps_its_other_parameters(settings: Settings) -> None:
    wb.init(sample=True)
    frame = wb.candles()
    bot = wb.create_bot(
        name="slow30", **frame.attrs["market"], ema_fast=9, ema_slow=30, stop_loss_perc=3
    )
    table = wb.run_sweep(bot=bot, ema_fast=[5, 9], progress=False)
    assert list(table["ema_slow"]) == [30, 30]
    assert table.attrs["rules"]["stop_loss_perc"] == 3
    single = wb.run_backtest(bot=bot).stats()
    [row] = table[table["ema_fast"] == 9].to_dict(orient="records")
    assert row["final_value"] == pytest.approx(single["final_value"], rel=1e-12)
    assert row["trades"] == single["total_trades"]

    tighter = wb.run_sweep(bot=bot, ema_fast=[9], max_daily_trades=1, progress=False)
    assert tighter.attrs["rules"]["max_daily_trades"] == 1
    overridden = wb.run_backtest(bot=bot, max_daily_trades=1).stats()
    assert tighter["final_value"][0] == pytest.approx(overridden["final_value"], rel=1e-12)
    assert overridden["final_value"] != single["final_value"]
    with pytest.raises(ValidationError, match="ema_fast"):
        wb.run_backtest(bot=bot, ema_fast=40)  # over the bot's ema_slow 30: validated as a bot


def candles_of(raw: pd.DataFrame) -> pd.DataFrame:
    """``raw`` on a UTC DatetimeIndex, with no market attached."""
    times = pd.to_datetime(raw["timestamp"], unit="ms", utc=True)
    frame = raw.drop(columns="timestamp").set_index(times)
    assert not frame.attrs
    return frame


def test_the_daily_report_of_two_bots_when_one_traded_before_the_day(
    settings: Settings, engine: Engine
) -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from workbench.accounts import local_user
    from workbench.db import session_scope

    wb.init(sample=True)
    market = wb.candles().attrs["market"]
    early = wb.create_bot(name="early", **market)
    quiet = wb.create_bot(name="quiet", **market)
    fills = [  # (bot, time, side, realized pnl): early opens on Jan 1st, closes on Jan 3rd
        (early, datetime(2024, 1, 1, 10, 0, tzinfo=UTC), "buy", None),
        (early, datetime(2024, 1, 3, 11, 0, tzinfo=UTC), "sell", Decimal("-25")),
        (quiet, datetime(2024, 1, 3, 12, 0, tzinfo=UTC), "buy", None),
    ]
    with session_scope(engine) as session:
        owner = local_user(session=session).id
        for n, (bot, moment, side, pnl) in enumerate(fills):
            session.add(
                Trade(
                    bot_config_id=bot,
                    user_id=owner,
                    exchange="paper",
                    exchange_order_id=str(n),
                    symbol=market["symbol"],
                    side=side,
                    order_type="market",
                    price=Decimal(100),
                    quantity_filled=Decimal(1),
                    quote_quantity_filled=Decimal(100),
                    realized_pnl=pnl,
                    timestamp=moment,
                )
            )
    report = wb.daily_report("2024-01-03")
    rows = report.summary.set_index("name")
    assert rows.loc["early", "trades"] == 1 and rows.loc["quiet", "trades"] == 1
    assert rows.loc["early", "equity_end"] == pytest.approx(975.0)
    assert rows.loc["early", "max_drawdown"] == pytest.approx(0.025)
    assert rows.loc["quiet", "equity_end"] == pytest.approx(1000.0)
    assert rows.loc["quiet", "max_drawdown"] == 0.0
    assert report.equity.index.is_unique
    assert report.equity.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
