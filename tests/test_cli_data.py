"""``workbench data ...`` end to end on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from workbench.cli import app
from workbench.settings import Settings

KEY = ["--exchange", "binance", "--symbol", "ETH/BTC", "--timeframe", "5m"]


def test_import_list_export_round_trip(
    settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    source = shared_data / "ETH_BTC-5m.csv"
    first = runner.invoke(app, ["data", "import", str(source), *KEY, "--json"])
    assert first.exit_code == 0, first.output
    rows = len(pd.read_csv(source))
    assert json.loads(first.stdout)["rows"] == rows
    again = runner.invoke(app, ["data", "import", str(source), *KEY])
    assert again.exit_code == 0 and f"imported {rows}" in again.stdout

    listed = json.loads(runner.invoke(app, ["data", "list", "--json"]).stdout)
    assert [(r["exchange"], r["symbol"], r["count"]) for r in listed] == [
        ("binance", "ETH/BTC", rows)
    ]

    out = tmp_path / "out.parquet"
    exported = runner.invoke(app, ["data", "export", *KEY, str(out)])
    assert exported.exit_code == 0, exported.output
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_csv(source), check_dtype=False)


def test_sample_says_it_is_synthetic(settings: Settings) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "data",
            "sample",
            "--symbol",
            "BTC/USDT",
            "--timeframe",
            "1h",
            "--bars",
            "500",
            "--seed",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "synthetic data (not a real market)" in result.stdout
    listed = json.loads(runner.invoke(app, ["data", "list", "--json"]).stdout)
    assert listed[0]["exchange"] == "synthetic" and listed[0]["count"] == 500


def test_bad_input_is_one_clear_line(settings: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["data", "import", str(bad), *KEY])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid candles: columns: missing timestamp")
    wrong_tf = runner.invoke(
        app, ["data", "sample", "--symbol", "A/B", "--timeframe", "7q", "--bars", "5"]
    )
    assert wrong_tf.exit_code == 2 and "timeframe" in wrong_tf.stderr
    missing = runner.invoke(app, ["data", "export", *KEY, str(tmp_path / "x.csv")])
    assert missing.exit_code == 2 and "workbench data list" in missing.stderr
