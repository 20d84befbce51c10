"""A strategy of one's own, from a file in $WORKBENCH_HOME/strategies: listed, backtested,
swept, checked, made a bot, replayed (replay trades == backtest trades); a look-ahead
strategy is caught and its bot cannot be activated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.strategies.user_files import DONCHIAN, PEEK, drop
from workbench.cli import app
from workbench.db import default_engine
from workbench.db.models import BotConfig
from workbench.settings import Settings

MARKET = ["--exchange", "binance", "--symbol", "ETH/BTC", "--timeframe", "5m"]
WINDOW = ["--start", "2018-01-10", "--end", "2018-01-14"]


@pytest.fixture
def runner(settings: Settings, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("WORKBENCH_STRATEGY_PATH", raising=False)
    runner = CliRunner()
    result = runner.invoke(app, ["data", "import", str(shared_data / "ETH_BTC-5m.csv"), *MARKET])
    assert result.exit_code == 0, result.output
    return runner


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.output


def test_a_dropped_file_is_a_strategy_like_the_built_ins(
    runner: CliRunner, settings: Settings
) -> None:
    path = drop(settings.home, "donchian", DONCHIAN)
    listed = {s["name"]: s for s in json.loads(run(runner, "strategy", "list", "--json"))}
    assert {"ema_cross", "rsi", "ema_rsi", "donchian"} <= set(listed)
    donchian = listed["donchian"]
    assert donchian["source"].startswith(str(path)) and len(donchian["fingerprint"]) == 12
    assert donchian["parameters"][0] == {
        "name": "window",
        "kind": "int",
        "default": 20,
        "low": 5,
        "high": 500,
    }
    assert donchian["parameters"][2]["kind"] == "float"
    assert "window" in run(runner, "strategy", "show", "donchian")

    params = ["-p", "window=30", "-p", "exit_window=12"]
    backtest = json.loads(
        run(runner, "backtest", *MARKET, "--strategy", "donchian", *params, *WINDOW, "--json")
    )
    assert backtest["stats"]["total_trades"] >= 5

    swept = json.loads(
        run(
            runner, "sweep", *MARKET, "--strategy", "donchian",
            "-r", "window=10,30", "-r", "exit_window=5,12", "--json",
        )
    )  # fmt: skip
    assert swept["sets"] == 4 and swept["bar_sets_per_second"] > 0
    full = json.loads(run(runner, "backtest", *MARKET, "--strategy", "donchian", *params, "--json"))
    row = next(r for r in swept["best"] if (r["window"], r["exit_window"]) == (30, 12))
    assert row["final_value"] == pytest.approx(full["stats"]["final_value"], rel=1e-9)

    checked = json.loads(run(runner, "strategy", "check", "donchian", *params, *MARKET, "--json"))
    assert checked["passed"] and checked["look_ahead"] is None
    assert 30 <= checked["warmup"] < 200 and checked["history_bars"] == checked["warmup"] + 1

    bot = json.loads(
        run(
            runner, "bot", "create", "--name", "dc", *MARKET, "--strategy", "donchian",
            *params, "-p", "stop_loss_perc=2", "--json",
        )
    )  # fmt: skip
    assert bot["strategy_params"] == {"window": 30, "exit_window": 12}
    activated = run(runner, "bot", "activate", str(bot["id"]))
    assert "no look-ahead" in activated
    with default_engine().connect() as conn:
        stored = conn.execute(
            sa.select(BotConfig.strategy_fingerprint, BotConfig.strategy_warmup)
        ).one()
    assert stored[0] == donchian["fingerprint"] and stored[1] >= 30

    by_bot = json.loads(run(runner, "backtest", "--bot", str(bot["id"]), *WINDOW, "--json"))
    replay = json.loads(run(runner, "bot", "replay", str(bot["id"]), *WINDOW, "--json"))
    assert len(by_bot["trades"]) >= 5
    for column in ("entry_time", "exit_time", "exit_reason"):
        assert [t[column] for t in replay["trades"]] == [t[column] for t in by_bot["trades"]]
    for column in ("entry_price", "exit_price", "pnl"):
        assert [t[column] for t in replay["trades"]] == pytest.approx(
            [t[column] for t in by_bot["trades"]], rel=1e-6, nan_ok=True
        )


def test_look_ahead_is_caught_and_its_bot_cannot_be_activated(
    runner: CliRunner, settings: Settings
) -> None:
    drop(settings.home, "peek", PEEK)
    caught = runner.invoke(app, ["strategy", "check", "peek", *MARKET])
    assert caught.exit_code == 2
    # Names the first differing bar (the last of the shortest prefix) and its series.
    assert "LOOK-AHEAD at bar 2018-01-" in caught.stdout and "series exits" in caught.stdout

    refused = run(
        runner, "bot", "create", "--name", "pk", *MARKET, "--strategy", "peek",
        "-p", "is_active=true", code=2,
    )  # fmt: skip
    assert "looks ahead" in refused and refused.count("\n") == 1
    assert json.loads(run(runner, "bot", "list", "--json")) == []  # nothing half-saved

    bot = json.loads(
        run(runner, "bot", "create", "--name", "pk", *MARKET, "--strategy", "peek", "--json")
    )
    assert "looks ahead" in run(runner, "bot", "activate", str(bot["id"]), code=2)
    assert "looks ahead" in run(runner, "bot", "set", str(bot["id"]), "is_active=true", code=2)
    shown = json.loads(run(runner, "bot", "show", str(bot["id"]), "--json"))
    assert shown["is_active"] is False


def test_changing_an_active_bots_parameters_checks_them_again(
    runner: CliRunner, settings: Settings
) -> None:
    drop(settings.home, "donchian", DONCHIAN)
    bot = json.loads(
        run(
            runner, "bot", "create", "--name", "dc", *MARKET, "--strategy", "donchian",
            "-p", "window=30", "-p", "is_active=true", "--json",
        )
    )  # fmt: skip
    assert bot["is_active"] is True

    def warmup() -> int:
        with default_engine().connect() as conn:
            return int(conn.scalar(sa.select(BotConfig.strategy_warmup)) or 0)

    before = warmup()
    run(runner, "bot", "set", str(bot["id"]), "window=200")
    assert warmup() >= 200 > before
