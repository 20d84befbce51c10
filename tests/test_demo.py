"""The main job on a fresh home with the embedded defaults."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from workbench.cli import app


def test_demo_runs_offline_and_twice(home: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--json"])
    assert first.exit_code == 0, first.output
    result = json.loads(first.stdout)
    assert set(result["bots"]) == {"demo-ema-cross", "demo-rsi"}
    assert result["sweep_sets"] > 100 and result["replay_trades"] > 0
    assert result["candles"][0]["exchange"] == "synthetic"
    again = runner.invoke(app, ["demo"])  # idempotent: same bots, new backtests
    assert again.exit_code == 0, again.output
    assert "SYNTHETIC" in again.stdout and "replay: demo-ema-cross" in again.stdout
    assert (home / "workbench.db").exists()
