"""Every result says which rules it ran under; the CLI's backtest and sweep share them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from workbench.cli import app
from workbench.settings import Settings

MARKET = ["--exchange", "binance", "--symbol", "ETH/BTC", "--timeframe", "5m"]
FREE = [*MARKET, "--strategy", "ema_cross", "-p", "stop_loss_perc=2", "-p", "ema_slow=30"]


def test_cli_backtest_and_sweep_list_the_same_rules(settings: Settings, shared_data: Path) -> None:
    runner = CliRunner()
    imported = runner.invoke(app, ["data", "import", str(shared_data / "ETH_BTC-5m.csv"), *MARKET])
    assert imported.exit_code == 0, imported.output
    backtest = runner.invoke(app, ["backtest", *FREE, "-p", "ema_fast=9", "--json"])
    assert backtest.exit_code == 0, backtest.output
    stats = json.loads(backtest.stdout)["stats"]
    swept = runner.invoke(app, ["sweep", *FREE, "-r", "ema_fast=5,9", "--json"])
    assert swept.exit_code == 0, swept.output
    sweep = json.loads(swept.stdout)
    assert sweep["rules"] == stats["rules"]
    assert stats["rules"]["stop_loss_perc"] == 2 and stats["rules"]["max_daily_trades"] == 10
    [row] = [r for r in sweep["best"] if r["ema_fast"] == 9]
    assert row["ema_slow"] == 30  # the -p value, not the strategy's default
    assert row["final_value"] == stats["final_value"]
    assert (row["trades"], row["open_trades"]) == (stats["total_trades"], stats["open_trades"])
    text = runner.invoke(app, ["backtest", *FREE, "-p", "ema_fast=9"]).output
    assert "stop_loss_perc=2" in text and "max_daily_trades=10" in text


def test_a_notebook_sweep_and_the_cli_sweep_of_a_bot_agree(
    settings: Settings, shared_data: Path
) -> None:
    import workbench as wb

    runner = CliRunner()
    imported = runner.invoke(app, ["data", "import", str(shared_data / "ETH_BTC-5m.csv"), *MARKET])
    assert imported.exit_code == 0, imported.output
    created = runner.invoke(
        app,
        [
            *("bot", "create", "--name", "b", *MARKET, "--strategy", "ema_cross", "--json"),
            *("-p", "ema_fast=9", "-p", "ema_slow=30", "-p", "take_profit_perc=3"),
        ],
    )
    assert created.exit_code == 0, created.output
    bot = json.loads(created.stdout)["id"]
    swept = runner.invoke(
        app,
        ["sweep", "--bot", str(bot), "-r", "ema_fast=5,9,13", "-p", "max_daily_trades=3", "--json"],
    )
    assert swept.exit_code == 0, swept.output
    cli = json.loads(swept.stdout)
    table = wb.sweep(bot=bot, ema_fast=[5, 9, 13], max_daily_trades=3, progress=False)
    assert cli["rules"] == table.attrs["rules"]
    assert cli["rules"]["take_profit_perc"] == 3 and cli["rules"]["max_daily_trades"] == 3
    columns = ["ema_fast", "ema_slow", "final_value", "trades", "open_trades"]
    assert [[r[c] for c in columns] for r in cli["best"]] == table[columns].values.tolist()
