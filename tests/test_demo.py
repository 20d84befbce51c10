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
    jobs = result["jobs"]  # the live-bot notebook ticked on paper, then the daily report ran
    assert len(jobs["live_bot_runs"]) >= 3 and {"enter", "exit"} <= set(jobs["decisions"])
    for html in jobs["outputs"]:
        page = Path(html)
        assert page.exists() and page.with_suffix(".ipynb").exists()
    assert "plotly.min.js" in Path(jobs["outputs"][-1]).read_text()
    assert (Path(jobs["outputs"][-1]).parent.parent / "plotly.min.js").exists()
    again = runner.invoke(app, ["demo"])  # idempotent: same bots, new backtests
    assert again.exit_code == 0, again.output
    assert "SYNTHETIC" in again.stdout and "replay: demo-ema-cross" in again.stdout
    assert "daily report of" in again.stdout and "workbench lab" in again.stdout
    assert (home / "workbench.db").exists()
