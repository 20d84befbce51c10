"""``workbench bot ...``, ``backtest`` and ``sweep`` end to end on stored real candles."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from workbench.cli import app
from workbench.settings import Settings

MARKET = ["--exchange", "binance", "--symbol", "ETH/BTC", "--timeframe", "5m"]


def load(runner: CliRunner, shared_data: Path) -> None:
    result = runner.invoke(app, ["data", "import", str(shared_data / "ETH_BTC-5m.csv"), *MARKET])
    assert result.exit_code == 0, result.output


def test_bot_lifecycle_backtest_and_replay_agree(settings: Settings, shared_data: Path) -> None:
    runner = CliRunner()
    load(runner, shared_data)
    created = runner.invoke(
        app,
        [
            "bot",
            "create",
            "--name",
            "cli",
            *MARKET,
            "--strategy",
            "ema_cross",
            "-p",
            "ema_fast=9",
            "-p",
            "ema_slow=21",
            "-p",
            "stop_loss_perc=2",
            "-p",
            "initial_capital=5",
            "--json",
        ],
    )
    assert created.exit_code == 0, created.output
    bot = json.loads(created.stdout)
    assert (bot["ema_fast"], bot["dry_run"], bot["stop_loss_perc"]) == (9, True, "2")

    bad = runner.invoke(app, ["bot", "set", str(bot["id"]), "ema_slow=5"])
    assert bad.exit_code == 2 and "ema_fast" in bad.stderr
    assert runner.invoke(app, ["bot", "set", str(bot["id"]), "take_profit_perc=4"]).exit_code == 0
    shown = json.loads(runner.invoke(app, ["bot", "show", str(bot["id"]), "--json"]).stdout)
    assert shown["take_profit_perc"] == "4"
    listed = json.loads(runner.invoke(app, ["bot", "list", "--json"]).stdout)
    assert [b["name"] for b in listed] == ["cli"]

    window = ["--start", "2018-01-10", "--end", "2018-01-13"]
    backtest = runner.invoke(
        app, ["backtest", "--bot", str(bot["id"]), *window, "--json", "--save", "cli-bt"]
    )
    assert backtest.exit_code == 0, backtest.output
    bt = json.loads(backtest.stdout)
    assert bt["stats"]["total_trades"] > 5 and bt["saved_id"]
    replay = runner.invoke(app, ["bot", "replay", str(bot["id"]), *window, "--json"])
    assert replay.exit_code == 0, replay.output
    rp = json.loads(replay.stdout)
    assert [t["entry_time"] for t in rp["trades"]] == [t["entry_time"] for t in bt["trades"]]
    assert [t["exit_reason"] for t in rp["trades"]] == [t["exit_reason"] for t in bt["trades"]]


def test_tick_of_an_offline_bot(settings: Settings) -> None:
    runner = CliRunner()
    sample = ["--symbol", "BTC/USDT", "--timeframe", "1h"]
    assert runner.invoke(app, ["data", "sample", *sample, "--bars", "300"]).exit_code == 0
    created = runner.invoke(
        app,
        [
            "bot",
            "create",
            "--name",
            "offline",
            "--exchange",
            "synthetic",
            *sample,
            "--strategy",
            "ema_cross",
            "--json",
        ],
    )
    bot_id = str(json.loads(created.stdout)["id"])
    refused = runner.invoke(app, ["bot", "tick", bot_id, "--json"])
    assert refused.exit_code != 0 and "is not active, so it does not tick" in refused.output
    first = runner.invoke(app, ["bot", "tick", bot_id, "--inactive", "--json"])
    assert first.exit_code == 0, first.output
    decided = json.loads(first.stdout)
    assert decided["decision"] in ("enter", "exit", "hold")
    assert set(decided["indicators"]) == {"ema_12", "ema_26"}
    again = json.loads(runner.invoke(app, ["bot", "tick", bot_id, "--inactive", "--json"]).stdout)
    assert again["decision"] == "wait"


def test_free_backtest_and_sweep(settings: Settings, shared_data: Path) -> None:
    runner = CliRunner()
    load(runner, shared_data)
    free = runner.invoke(
        app,
        [
            "backtest",
            *MARKET,
            "--strategy",
            "rsi",
            "-p",
            "rsi_period=10",
            "--fees",
            "0.0005",
            "--json",
        ],
    )
    assert free.exit_code == 0, free.output
    assert json.loads(free.stdout)["stats"]["total_trades"] > 0
    swept = runner.invoke(
        app,
        [
            "sweep",
            *MARKET,
            "--strategy",
            "ema_cross",
            "-r",
            "ema_fast=5:15:5",
            "-r",
            "ema_slow=10,20,30",
            "--save",
            "2",
            "--json",
        ],
    )
    assert swept.exit_code == 0, swept.output
    result = json.loads(swept.stdout)
    assert result["sets"] == 5  # ema_fast 5 and 10 by ema_slow 10, 20, 30, less 10/10
    assert len(result["saved_ids"]) == 2
    returns = [row["total_return"] for row in result["best"]]
    assert returns == sorted(returns, reverse=True)
    wrong = runner.invoke(app, ["sweep", *MARKET, "--strategy", "ema_cross", "-r", "ema_fast"])
    assert wrong.exit_code == 2 and "NAME=START:STOP" in wrong.stderr
    missing = runner.invoke(app, ["backtest", "--symbol", "ETH/BTC"])
    assert missing.exit_code == 2 and "--exchange" in missing.stderr


def test_cli_start_loads_no_strategies() -> None:
    import subprocess
    import sys

    probe = "import sys, workbench.cli; print(sorted(m for m in ('numba', 'workbench.strategies', 'plotly') if m in sys.modules))"  # noqa: E501
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bad_bot_and_rule_inputs_are_one_line(settings: Settings, shared_data: Path) -> None:
    runner = CliRunner()
    load(runner, shared_data)
    create = ["bot", "create", "--exchange", "binance", "--symbol", "ETH/BTC"]
    five = ["--timeframe", "5m"]
    for args, words in (
        ([*five, "--name", "red\x1b[31mbot"], "name: must not contain control characters"),
        ([*five, "--name", "two\nlines"], "name: must not contain control characters"),
        (["--timeframe", "1M", "--name", "x"], "is not a timeframe"),
        ([*five, "--name", "x", "-p", "timeframe=1h"], "timeframe: give it once"),
        ([*five, "--name", "x", "-p", "nosuch=1"], "nosuch: is neither a bot config field"),
        ([*five, "--name", "x", "--strategy", "nosuch"], "unknown strategy 'nosuch'"),
    ):
        strategy = [] if "--strategy" in args else ["--strategy", "ema_cross"]
        result = runner.invoke(app, [*create, *strategy, *args])
        assert result.exit_code == 2, result.output
        assert words in result.stderr and result.stderr.count("\n") == 1
        assert "\x1b" not in result.stderr
    assert runner.invoke(app, ["bot", "list", "--json"]).stdout.strip() == "[]"
    for option in (["--fees", "-0.01"], ["--fees", "5"], ["--slippage", "2"]):
        result = runner.invoke(app, ["backtest", *MARKET, "--strategy", "rsi", *option])
        assert result.exit_code == 2 and "per fill" in result.stderr, result.output
    shown = runner.invoke(app, ["strategy", "show", "nosuch"])
    assert shown.exit_code == 2 and "known: ema_cross, ema_rsi, rsi" in shown.stderr
