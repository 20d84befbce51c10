"""Sandbox (testnet) API keys: stored on the key, shown wherever the key is, and the bot's
ccxt client runs in sandbox mode (its urls are the testnet's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.accounts import add_api_key, key_label, local_user
from workbench.bots import create_bot
from workbench.bots.exchanges import exchange_for_bot
from workbench.cli import app
from workbench.db import default_engine, session_scope
from workbench.db.models import ApiKey
from workbench.market.ccxt_adapter import CcxtExchange
from workbench.settings import Settings, get_settings
from workbench.widgets.bots import BotForm

API_KEY = "AKSANDBOXKEY00000042"
API_SECRET = "sandbox-secret-never-shown-0042"


@pytest.fixture
def cli(home: Path, empty_db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", empty_db_url)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--json"]).exit_code == 0
    return runner


def add_key(cli: CliRunner, name: str, *extra: str) -> None:
    result = cli.invoke(
        app,
        ["keys", "add", "--exchange", "binance", "--key-name", name, *extra],
        input=f"{API_KEY}\n{API_SECRET}\n",
    )
    assert result.exit_code == 0, result.output
    assert API_SECRET not in result.output


def test_keys_add_sandbox_is_stored_and_listed(cli: CliRunner) -> None:
    add_key(cli, "test", "--sandbox")
    add_key(cli, "real")
    rows = json.loads(cli.invoke(app, ["keys", "list", "--json"]).stdout)
    assert {r["key_name"]: r["sandbox"] for r in rows} == {"real": False, "test": True}
    table = cli.invoke(app, ["keys", "list"]).stdout
    assert "sandbox" in table and "True" in table
    with session_scope(default_engine()) as session:
        stored = {k.key_name: k.sandbox for k in session.query(ApiKey)}
    assert stored == {"real": False, "test": True}


def test_bot_show_and_list_say_sandbox(cli: CliRunner) -> None:
    add_key(cli, "test", "--sandbox")
    created = cli.invoke(
        app,
        [
            "bot",
            "create",
            "--name",
            "tn",
            "--exchange",
            "binance",
            "--symbol",
            "BTC/USDT",
            "--timeframe",
            "1h",
            "--strategy",
            "ema_cross",
            "--live",
            "-p",
            "api_key_id=1",
            "--json",
        ],
    )
    assert created.exit_code == 0, created.output
    shown = cli.invoke(app, ["bot", "show", "1"]).stdout
    [line] = [x for x in shown.splitlines() if x.startswith("api_key_id")]
    assert "SANDBOX" in line and "test" in line
    assert "SANDBOX" in cli.invoke(app, ["bot", "list"]).stdout


def _bot_with_key(settings: Settings, sandbox: bool) -> CcxtExchange:
    engine = default_engine()
    with session_scope(engine) as session:
        owner = local_user(session=session)
        key = add_api_key(
            session=session,
            user_id=owner.id,
            exchange="binance",
            key_name=f"k-{sandbox}",
            api_key=API_KEY,
            api_secret=API_SECRET,
            sandbox=sandbox,
        )
        bot = create_bot(
            session=session,
            user_id=owner.id,
            name=f"b-{sandbox}",
            exchange="binance",
            symbol="BTC/USDT",
            timeframe="1h",
            strategy="ema_cross",
            dry_run=False,
            api_key_id=key.id,
        )
        exchange = exchange_for_bot(session=session, engine=engine, bot=bot)
    assert isinstance(exchange, CcxtExchange)
    return exchange


def test_sandbox_key_reaches_the_ccxt_client(settings: Settings) -> None:
    testnet = _bot_with_key(settings, sandbox=True)
    live = _bot_with_key(settings, sandbox=False)
    assert testnet.client.isSandboxModeEnabled and not live.client.isSandboxModeEnabled
    assert "testnet.binance.vision" in testnet.client.urls["api"]["public"]
    assert "testnet.binance.vision" not in live.client.urls["api"]["public"]
    assert "api.binance.com" in live.client.urls["api"]["public"]
    # Orders of the two keys are kept apart (client ids are unique per account).
    assert (testnet.account, live.account) == ("sandbox:key-1", "live:key-2")


def test_bot_form_key_choices_say_sandbox(settings: Settings) -> None:
    engine = default_engine()
    with session_scope(engine) as session:
        owner = local_user(session=session)
        for sandbox in (True, False):
            add_api_key(
                session=session,
                user_id=owner.id,
                exchange="binance",
                key_name="testnet" if sandbox else "main",
                api_key=API_KEY,
                api_secret=API_SECRET,
                sandbox=sandbox,
            )
        labels = {k.key_name: key_label(k) for k in session.query(ApiKey)}
    form = BotForm(engine)
    options = dict(form.controls["api_key_id"].options)
    assert labels["testnet"] in options and labels["testnet"].endswith(", SANDBOX)")
    assert labels["main"] in options and "SANDBOX" not in labels["main"]
