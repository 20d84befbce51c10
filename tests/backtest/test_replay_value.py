"""A replay reports the backtest's quantity: equity marked at the last close, open or not."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.conftest import MakeBot
from workbench.backtest import backtest_config
from workbench.bots.replay import replay_bot
from workbench.cli import app
from workbench.market.candles import read_file, upsert_candles
from workbench.schemas import BotConfigCreate, validate
from workbench.settings import Settings

MARKET = ["--exchange", "binance", "--symbol", "ETH/BTC", "--timeframe", "5m"]
EMA = {"strategy": "ema_cross", "ema_fast": 5, "ema_slow": 13}


def ending_open(candles: pd.DataFrame, config: dict[str, object]) -> pd.DataFrame:
    """The shortest window from 300 bars on whose backtest ends holding a position."""
    schema = validate(BotConfigCreate, {"name": "probe", **config})
    for bars in range(300, len(candles), 7):
        window = candles.iloc[:bars]
        if backtest_config(window, schema).stats()["open_trades"]:
            return window
    raise AssertionError("no window ends with an open position")


def test_replay_and_backtest_report_the_same_final_value(
    settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    market = {"exchange": "binance", "symbol": "ETH/BTC", "timeframe": "5m"}
    window = ending_open(read_file(shared_data / "ETH_BTC-5m.csv"), {**market, **EMA})
    file = tmp_path / "window.csv"
    window.assign(timestamp=window.index.as_unit("ms").asi8).to_csv(file, index=False)
    runner = CliRunner()
    assert runner.invoke(app, ["data", "import", str(file), *MARKET]).exit_code == 0
    fields = [f"{k}={v}" for k, v in EMA.items() if k != "strategy"]
    created = runner.invoke(
        app,
        ["bot", "create", "--name", "open-end", *MARKET, "--strategy", "ema_cross", "--json"]
        + [arg for f in fields for arg in ("-p", f)],
    )
    assert created.exit_code == 0, created.output
    bot = str(json.loads(created.stdout)["id"])
    backtest = json.loads(runner.invoke(app, ["backtest", "--bot", bot, "--json"]).stdout)
    replayed = runner.invoke(app, ["bot", "replay", bot, "--json"])
    assert replayed.exit_code == 0, replayed.output
    replay = json.loads(replayed.stdout)
    assert backtest["stats"]["open_trades"] == 1
    assert replay["rules"] == backtest["stats"]["rules"]
    assert isinstance(replay["final_value"], float)
    assert isinstance(backtest["stats"]["final_value"], float)
    assert replay["final_value"] == pytest.approx(backtest["stats"]["final_value"], rel=1e-6)
    assert replay["final_balance"] < replay["final_value"] * 0.5  # cash alone: most is in ETH
    text = runner.invoke(app, ["bot", "replay", bot])
    assert f"final value {replay['final_value']:.8f}" in text.output


def test_a_futures_replay_is_marked_like_the_backtest(
    engine: Engine, make_bot: MakeBot, shared_data: Path
) -> None:
    config = {
        "exchange": "binance",
        "symbol": "XRP/USDT:USDT",
        "timeframe": "5m",
        "position_type": "futures",
        "leverage": 3,
        "position_size_perc": "50",
        **EMA,
    }
    window = ending_open(read_file(shared_data / "XRP_USDT-USDT-5m-futures.csv"), config)
    upsert_candles(
        engine=engine, exchange="binance", symbol="XRP/USDT:USDT", timeframe="5m", frame=window
    )
    bot = make_bot(name="fut", **config)
    expected = backtest_config(window, bot).stats()
    bot_id = bot.id
    replay = replay_bot(bot_id, engine=engine, progress=False)
    assert expected["open_trades"] == 1 == replay.stats()["open_trades"]
    assert float(replay.final_value) == pytest.approx(expected["final_value"], rel=1e-6)
    assert replay.final_value != replay.final_balance
