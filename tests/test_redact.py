"""Secret redaction: text, files and URLs; the log filter's secrets live as long as their
owner (a client's keys are not remembered after the client is gone)."""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import pytest

from tests.conftest import FAST_RETRY
from tests.fakes.binance import API_KEY, SECRET, FakeBinanceServer
from workbench.accounts.api_keys import Credentials
from workbench.market.ccxt_adapter import LOG_REDACTOR, CcxtExchange
from workbench.redact import (
    REDACTED,
    RedactFilter,
    quoted_forms,
    redact_url,
    scrub_file,
    scrub_text,
    scrub_value,
)


class Client:
    """Any object that owns secrets for a while."""


def test_text_values_and_files_are_scrubbed(tmp_path: Path) -> None:
    secrets = sorted(quoted_forms(["pa ss/word", "pa"], min_length=3))
    assert secrets == ["pa ss/word", "pa%20ss%2Fword", "pa+ss%2Fword"]
    assert scrub_text("x pa ss/word y", ["pa ss", "pa ss/word"]) == f"x {REDACTED} y"
    value = {"a": ["token-123456", 3], "b": "ok"}
    assert scrub_value(value, ["token-123456"]) == {"a": [REDACTED, 3], "b": "ok"}
    log = tmp_path / "run.log"
    log.write_text("connect with token-123456\n")
    scrub_file(log, ["token-123456"])
    assert log.read_text() == f"connect with {REDACTED}\n"
    assert redact_url("redis://u:hunter2@h:6379/0?password=x") == (
        "redis://u:***@h:6379/0?password=%2A%2A%2A"
    )


def test_a_tracked_secret_is_masked_while_its_owner_lives_and_then_forgotten(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("tests.redact")
    flt = RedactFilter(["fixed-secret"])
    logger.addFilter(flt)
    try:
        client = Client()
        flt.track(client, ["client-key-1", "client-secret-2"])
        with caplog.at_level(logging.DEBUG, logger="tests.redact"):
            logger.debug("headers %s %s %s", "client-key-1", "client-secret-2", "fixed-secret")
        assert caplog.records[-1].getMessage() == "headers *** *** ***"
        assert flt.secrets() == {"fixed-secret", "client-key-1", "client-secret-2"}
        del client
        gc.collect()
        assert flt.secrets() == {"fixed-secret"}
        other = Client()
        flt.track(other, ["other-key-3"])
        flt.forget(other)
        assert flt.secrets() == {"fixed-secret"}
    finally:
        logger.removeFilter(flt)


def test_an_exchange_clients_keys_leave_the_log_filter_with_the_client(
    binance_server: FakeBinanceServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    exchange = CcxtExchange(
        "binance",
        credentials=Credentials(API_KEY, SECRET),
        api_urls=binance_server.api_urls(),
        retry=FAST_RETRY,
    )
    assert {API_KEY, SECRET} <= LOG_REDACTOR.secrets()
    exchange.fetch_balance()  # ccxt logs the request, API key header included
    logging.getLogger("ccxt.base.exchange").debug("key %s", API_KEY)
    assert "key ***" in caplog.text
    assert API_KEY not in caplog.text and SECRET not in caplog.text
    del exchange
    gc.collect()
    assert API_KEY not in LOG_REDACTOR.secrets() and SECRET not in LOG_REDACTOR.secrets()
