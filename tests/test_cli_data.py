"""``workbench data ...`` end to end on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pandas as pd
import pytest
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


def _listed(runner: CliRunner) -> list[dict[str, object]]:
    result = runner.invoke(app, ["data", "list", "--json"])
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout))


def test_import_checks_the_timeframe_and_writes_nothing_on_refusal(
    settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    source = shared_data / "XRP_USDT-USDT-5m-futures.csv"
    key = ["--exchange", "binance", "--symbol", "XRP/USDT:USDT"]
    wrong = runner.invoke(app, ["data", "import", str(source), *key, "--timeframe", "1h"])
    assert wrong.exit_code == 2
    assert "bars are 5m apart, not 1h" in wrong.stderr and "Traceback" not in wrong.output
    rows = pd.read_csv(source)
    rows.loc[1500, "close"] = rows.loc[1500, "high"] * 2
    broken = tmp_path / "broken.csv"
    rows.to_csv(broken, index=False)
    refused = runner.invoke(app, ["data", "import", str(broken), *key, "--timeframe", "5m"])
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: invalid candles: line 1502: close ")
    assert _listed(runner) == []
    seconds = tmp_path / "seconds.csv"
    pd.read_csv(source).assign(timestamp=lambda f: f["timestamp"] // 1000).to_csv(
        seconds, index=False
    )
    ok = runner.invoke(app, ["data", "import", str(seconds), *key, "--timeframe", "5m"])
    assert ok.exit_code == 0, ok.output
    (listed,) = _listed(runner)
    first = pd.Timestamp(int(pd.read_csv(source)["timestamp"].iloc[0]), unit="ms", tz="UTC")
    assert pd.Timestamp(str(listed["first"])) == first
    assert listed["missing"] == 0


TAIL = ["--timeframe", "5m", "--json"]


def test_market_names_are_validated_and_normalised(settings: Settings, shared_data: Path) -> None:
    runner = CliRunner()
    source = str(shared_data / "ETH_BTC-5m.csv")
    ok = runner.invoke(
        app,
        ["data", "import", source, "--exchange", "Binance", "--symbol", "eth/btc", *TAIL],
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["exchange"] == "binance"
    assert [(r["exchange"], r["symbol"]) for r in _listed(runner)] == [("binance", "ETH/BTC")]
    for flag, value, said in [
        ("--symbol", "XRP ETH", "symbol must be like BTC/USDT"),
        ("--exchange", "nosuchexchange", "unknown exchange 'nosuchexchange'"),
        ("--timeframe", "99999999999999999999m", "longer than a year"),
        ("--timeframe", "1M", "months have no fixed length"),
    ]:
        args = {"--exchange": "binance", "--symbol": "ETH/BTC", "--timeframe": "5m"}
        args[flag] = value
        flat = [x for pair in args.items() for x in pair]
        for command in (
            ["data", "import", source],
            ["data", "export", "x.csv"],
            ["data", "delete"],
        ):
            result = runner.invoke(app, [*command, *flat])
            assert result.exit_code == 2, (command, value, result.output)
            assert said in result.stderr and len(result.stderr.splitlines()) == 1


def test_delete_removes_a_series_after_confirmation(settings: Settings, shared_data: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["data", "import", str(shared_data / "ETH_BTC-5m.csv"), *KEY])
    runner.invoke(
        app, ["data", "sample", "--symbol", "BTC/USDT", "--timeframe", "1h", "--bars", "50"]
    )
    unconfirmed = runner.invoke(app, ["data", "delete", *KEY])
    assert unconfirmed.exit_code == 2 and "needs --yes" in unconfirmed.stderr
    assert len(_listed(runner)) == 2
    deleted = runner.invoke(app, ["data", "delete", *KEY, "--yes"])
    assert deleted.exit_code == 0, deleted.output
    assert f"deleted {len(pd.read_csv(shared_data / 'ETH_BTC-5m.csv'))} candles" in deleted.stdout
    assert [r["exchange"] for r in _listed(runner)] == ["synthetic"]
    again = runner.invoke(app, ["data", "delete", *KEY, "--yes"])
    assert again.exit_code == 2 and "workbench data list" in again.stderr


def test_export_format_comes_from_the_suffix(
    settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    runner.invoke(app, ["data", "import", str(shared_data / "ETH_BTC-5m.csv"), *KEY])
    xlsx = runner.invoke(app, ["data", "export", *KEY, str(tmp_path / "x.xlsx")])
    assert xlsx.exit_code == 2 and "use .csv or .parquet" in xlsx.stderr
    assert not (tmp_path / "x.xlsx").exists()
    nested = tmp_path / "no" / "such" / "x.csv"
    missing = runner.invoke(app, ["data", "export", *KEY, str(nested)])
    assert missing.exit_code == 2 and "does not exist; create it first" in missing.stderr
    assert not (tmp_path / "no").exists()
    csv = runner.invoke(app, ["data", "export", *KEY, str(tmp_path / "x.csv")])
    assert csv.exit_code == 0, csv.output
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "x.csv"), pd.read_csv(shared_data / "ETH_BTC-5m.csv")
    )


def test_sample_size_and_timeframe_are_bounded(settings: Settings) -> None:
    runner = CliRunner()
    base = ["data", "sample", "--symbol", "BTC/USDT"]
    huge = runner.invoke(app, [*base, "--timeframe", "1m", "--bars", "100000000"])
    assert huge.exit_code == 2 and "use 1 to 1000000 bars" in huge.stderr
    long = runner.invoke(app, [*base, "--timeframe", "99999999999999999999m", "--bars", "5"])
    assert long.exit_code == 2 and "timeframe" in long.stderr and "Traceback" not in long.output
    daily = runner.invoke(app, [*base, "--timeframe", "1d", "--bars", "500000"])
    assert daily.exit_code == 2 and "of 1d from 2024-01-01 to 2100" in daily.stderr
    zero = runner.invoke(app, [*base, "--timeframe", "1d", "--bars", "0"])
    assert zero.exit_code == 2 and "bars" in zero.stderr
    assert _listed(runner) == []


OFFLINE_RANGE = ["--timeframe", "1h", "--since", "2024-01-01", "--until", "2024-01-02", "--json"]


def test_offline_fetch_says_once_that_the_exchange_is_unreachable(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as closed:  # bound, never listening: every connection is refused
        closed.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{closed.getsockname()[1]}"
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
            monkeypatch.setenv(name, proxy)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        result = CliRunner().invoke(
            app,
            ["data", "fetch", "--exchange", "binance", "--symbol", "BTC/USDT", *OFFLINE_RANGE],
        )
    assert result.exit_code == 75, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: binance cannot be reached (ConnectionError): check the network connection "
        "and try again later"
    ]


def test_cache_counters_show_what_the_cache_served(settings: Settings) -> None:
    from workbench.cache import get_cache
    from workbench.errors import TemporaryError

    def failing() -> list[str]:
        raise TemporaryError("exchange down")

    with get_cache() as cache:
        cache.read_through("symbols:x", lambda: ["BTC/USDT"], ttl=0.2, family="symbols")
        cache.read_through("symbols:x", lambda: ["never asked"], ttl=0.2, family="symbols")
        cache.delete("symbols:x")  # expired: the next fetch fails, the last good copy serves
        stale = cache.read_through("symbols:x", failing, ttl=0.2, family="symbols")
    assert stale.stale and stale.value == ["BTC/USDT"]
    result = CliRunner().invoke(app, ["data", "cache", "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert (row["family"], row["hits"], row["misses"]) == ("symbols", 1, 2)
    assert (row["stale_served"], row["fetch_errors"]) == (1, 1)
    assert row["last_refresh"] is not None
    table = CliRunner().invoke(app, ["data", "cache"])
    assert table.stdout.splitlines()[0].split() == [
        "family",
        "hits",
        "misses",
        "stale_served",
        "fetch_errors",
        "last_refresh",
    ]
