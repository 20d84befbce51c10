"""One validation for market names: exchange ids, symbols, timeframes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from workbench.errors import ValidationError
from workbench.market import names
from workbench.market.candles import upsert_candles
from workbench.market.sample import sample_candles
from workbench.settings import Settings


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("binance", "binance"),
        (" Binance ", "binance"),
        ("KRAKEN", "kraken"),
        ("synthetic", "synthetic"),
    ],
)
def test_exchange_ids_are_normalised(raw: str, normal: str) -> None:
    assert names.normalize_exchange(raw) == normal


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("nosuchexchange", "unknown exchange 'nosuchexchange'"),
        ("bin ance", "is not an exchange id"),
    ],
)
def test_bad_exchange_ids_are_refused(raw: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        names.normalize_exchange(raw)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("xrp/eth", "XRP/ETH"), ("BTC/USDT", "BTC/USDT"), ("btc/usdt:usdt", "BTC/USDT:USDT")],
)
def test_symbols_are_normalised(raw: str, normal: str) -> None:
    assert names.normalize_symbol(raw) == normal


@pytest.mark.parametrize("raw", ["XRP ETH", "XRPETH", "XRP/", "/ETH", "BTC/USDT:", "BTC-USDT"])
def test_malformed_symbols_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError, match="symbol must be like BTC/USDT"):
        names.normalize_symbol(raw)


def test_symbol_parts() -> None:
    assert names.split_symbol("BTC/USDT:USDT") == ("BTC", "USDT", "USDT")
    assert names.split_symbol("ETH/BTC") == ("ETH", "BTC", None)
    assert names.quote_currency("XRP/USDT:USDT") == "USDT"
    assert names.base_currency("ETH/BTC") == "ETH"
    with pytest.raises(ValidationError, match="symbol must be like"):
        names.quote_currency("ETHBTC")


@pytest.mark.parametrize(
    ("raw", "normal", "ms"),
    [
        ("1m", "1m", 60_000),
        ("5m", "5m", 300_000),
        ("1H", "1h", 3_600_000),
        ("1w", "1w", 604_800_000),
    ],
)
def test_timeframes(raw: str, normal: str, ms: int) -> None:
    assert names.normalize_timeframe(raw) == normal
    assert names.timeframe_length_ms(raw) == ms


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("99999999999999999999m", "longer than a year"),
        ("367d", "longer than a year"),
        ("1M", "months have no fixed length"),
        ("0m", "is not a timeframe"),
        ("5x", "is not a timeframe"),
        ("", "is not a timeframe"),
    ],
)
def test_bad_timeframes_are_refused(raw: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        names.timeframe_length_ms(raw)


def test_exchange_list_matches_ccxt_without_importing_it() -> None:
    code = (
        "import sys; from workbench.market import names; "
        "ids = names.ccxt_exchange_ids(); names.normalize_exchange('Binance'); "
        "print(len(ids), 'ccxt' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": ""},
        timeout=60,
    ).stdout.split()
    import ccxt

    assert out == [str(len(ccxt.exchanges)), "False"]
    assert names.ccxt_exchange_ids() == frozenset(ccxt.exchanges)


def test_notebook_api_takes_the_same_names(settings: Settings, engine: Engine) -> None:
    from workbench import api as wb

    market = {"exchange": "synthetic", "symbol": "BTC/USDT", "timeframe": "5m"}
    upsert_candles(engine=engine, frame=sample_candles(300), **market)
    frame = wb.candles("btc/usdt", "5m", exchange="Synthetic")
    assert len(frame) == 300 and frame.attrs["market"] == market
    with pytest.raises(ValidationError, match="symbol must be like BTC/USDT"):
        wb.candles("BTC USDT")
