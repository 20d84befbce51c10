"""The CLI on a fresh home: init, db, keys — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from workbench.cli import app
from workbench.db import migrate
from workbench.settings import get_settings

API_KEY = "AKCLITESTKEY99887766"
API_SECRET = "cli-secret-that-must-never-show-0042"


@pytest.fixture
def cli(home: Path, empty_db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner on a fresh home and an empty database of each kind, after ``init``."""
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", empty_db_url)
    get_settings.cache_clear()
    runner = CliRunner()
    result = runner.invoke(app, ["init", "--json"])
    assert result.exit_code == 0, result.output
    return runner


def test_init_makes_home_key_schema_and_user(cli: CliRunner, home: Path) -> None:
    url = get_settings().database_url
    assert (home / "secret.key").exists()
    assert migrate.current(url) == migrate.head()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from users")).scalar_one() == 1
    engine.dispose()
    again = cli.invoke(app, ["init", "--json"])  # idempotent
    assert again.exit_code == 0
    assert json.loads(again.stdout)["revision"] == migrate.head()


def test_keys_add_from_stdin_never_shows_the_secret(cli: CliRunner) -> None:
    added = cli.invoke(
        app,
        ["keys", "add", "--exchange", "binance", "--key-name", "main"],
        input=f"{API_KEY}\n{API_SECRET}\n",
    )
    assert added.exit_code == 0, added.output
    # --label, the option's old name, still works
    other = cli.invoke(
        app,
        ["keys", "add", "--exchange", "kraken", "--label", "old"],
        input=f"{API_KEY}\n{API_SECRET}\n",
    )
    assert other.exit_code == 0, other.output
    listed = cli.invoke(app, ["keys", "list", "--json"])
    rotated = cli.invoke(app, ["keys", "rotate"])
    assert rotated.exit_code == 0 and "re-encrypted 2" in rotated.stdout
    rows = json.loads(listed.stdout)
    assert [(r["exchange"], r["key_name"]) for r in rows] == [
        ("binance", "main"),
        ("kraken", "old"),
    ]
    assert rows[0]["key"] == "AKCL…7766"
    for result in (added, listed, rotated):
        assert API_SECRET not in result.output and API_KEY not in result.output
    engine = sa.create_engine(get_settings().database_url)
    with engine.connect() as conn:
        stored = repr(conn.execute(sa.text("select * from api_keys")).all())
    engine.dispose()
    assert API_SECRET not in stored and API_KEY not in stored


def test_keys_add_needs_two_lines(cli: CliRunner) -> None:
    result = cli.invoke(
        app, ["keys", "add", "--exchange", "binance", "--label", "x"], input=f"{API_KEY}\n"
    )
    assert result.exit_code == 2
    assert "two lines" in result.stderr
    assert API_KEY not in result.output


def test_keys_add_has_no_secret_arguments(cli: CliRunner) -> None:
    result = cli.invoke(
        app, ["keys", "add", "--exchange", "binance", "--label", "x", "--secret", API_SECRET]
    )
    assert result.exit_code != 0
    assert "No such option" in result.output


def test_db_commands(cli: CliRunner, tmp_path: Path) -> None:
    stats = cli.invoke(app, ["db", "stats", "--json"])
    assert stats.exit_code == 0
    assert {"table": "users", "rows": 1}.items() <= next(
        r for r in json.loads(stats.stdout) if r["table"] == "users"
    ).items()
    current = cli.invoke(app, ["db", "current"])
    assert migrate.head() in current.stdout

    backup_path = tmp_path / "wb.backup"
    assert cli.invoke(app, ["db", "backup", str(backup_path)]).exit_code == 0
    refused = cli.invoke(app, ["db", "restore", str(backup_path)])
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: ") and "--force" in refused.stderr
    forced = cli.invoke(app, ["db", "restore", str(backup_path), "--force"])
    assert forced.exit_code == 0, forced.output

    down = cli.invoke(app, ["db", "downgrade", "base"])
    assert down.exit_code == 0 and "base" in down.stdout
    up = cli.invoke(app, ["db", "upgrade"])
    assert up.exit_code == 0 and migrate.head() in up.stdout


def test_production_without_key_is_one_clear_line(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_ENV", "production")
    get_settings.cache_clear()
    result = cli.invoke(app, ["init"])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "WORKBENCH_SECRET_KEY is not set" in result.stderr
