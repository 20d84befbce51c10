"""The CLI on a fresh home: init, db, keys — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

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

    down = cli.invoke(app, ["db", "downgrade", "base", "--yes"])
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


def _one_line_error(result: Result, code: int, words: str) -> None:
    assert result.exit_code == code, result.output
    stderr = result.stderr
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    assert words in stderr and "Traceback" not in stderr


COMMANDS = [["data", "list"], ["bot", "list"], ["keys", "list"], ["jobs", "runs"]]


def test_before_init_every_command_says_what_to_run(
    home: Path, empty_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", empty_db_url)
    get_settings.cache_clear()
    runner = CliRunner()
    for command in COMMANDS:
        _one_line_error(
            runner.invoke(app, command), 1, "no workbench tables yet: run `workbench init`"
        )


def test_downgrade_says_what_it_drops_and_needs_yes(cli: CliRunner) -> None:
    sample = ["data", "sample", "--symbol", "BTC/USDT", "--timeframe", "1h", "--bars", "10"]
    assert cli.invoke(app, sample).exit_code == 0
    refused = cli.invoke(app, ["db", "downgrade", "base"])
    _one_line_error(refused, 2, "drops tables ")
    for dropped in (
        "candles (10 rows)",
        "candle_series (1 row)",
        "users (1 row)",
        "bot_configs (0 rows)",
    ):
        assert dropped in refused.stderr
    assert "workbench db backup" in refused.stderr and "--yes" in refused.stderr
    assert migrate.current(get_settings().database_url) == migrate.head()
    step = cli.invoke(app, ["db", "downgrade", "0005_jobs"])
    _one_line_error(step, 2, "bot_configs.leverage (0 values)")
    assert "user_id" not in step.stderr  # renamed back, not dropped
    assert "bot_events (0 rows)" in step.stderr and "candles" not in step.stderr
    listed = cli.invoke(app, ["data", "list", "--json"])
    assert json.loads(listed.stdout)[0]["count"] == 10

    down = cli.invoke(app, ["db", "downgrade", "base", "--yes"])
    assert down.exit_code == 0, down.output
    assert "dropped tables" in down.stdout and "candles (10 rows)" in down.stdout
    for command in COMMANDS:
        _one_line_error(cli.invoke(app, command), 1, "run `workbench init`")
    nothing_to_drop = cli.invoke(app, ["db", "upgrade", "0001_users_api_keys"])
    assert nothing_to_drop.exit_code == 0
    older = cli.invoke(app, ["bot", "list"])
    _one_line_error(older, 1, "is at revision 0001_users_api_keys, older than this workbench")


def test_missing_postgresql_database_is_one_line(
    home: Path, pg_admin: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = pg_admin.url.set(database="wb_no_such_database_x").render_as_string(False)
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", url)
    get_settings.cache_clear()
    runner = CliRunner()
    for command in COMMANDS:
        _one_line_error(
            runner.invoke(app, command), 1, "database 'wb_no_such_database_x' does not exist"
        )


def test_unreachable_database_is_temporary(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        monkeypatch.setenv("WORKBENCH_DATABASE_URL", f"postgresql+psycopg2://u@127.0.0.1:{port}/x")
        get_settings.cache_clear()
        runner = CliRunner()
        for command in COMMANDS:
            _one_line_error(
                runner.invoke(app, command), 75, f"cannot reach the database at 127.0.0.1:{port}/x"
            )


def test_keys_rotate_says_what_happened(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    added = cli.invoke(
        app,
        ["keys", "add", "--exchange", "binance", "--label", "main"],
        input=f"{API_KEY}\n{API_SECRET}\n",
    )
    assert added.exit_code == 0, added.output
    rotated = cli.invoke(app, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert "previous key is kept" in rotated.stdout and "keys drop-old" in rotated.stdout
    assert len(get_settings().fernet_keys()) == 2
    dropped = cli.invoke(app, ["keys", "drop-old"])
    assert dropped.exit_code == 0 and "dropped 1 previous" in dropped.stdout
    assert len(get_settings().fernet_keys()) == 1

    monkeypatch.setenv("WORKBENCH_SECRET_KEY", get_settings().fernet_keys()[0])
    get_settings.cache_clear()
    single = cli.invoke(app, ["keys", "rotate"])
    _one_line_error(single, 2, "nothing was rotated: WORKBENCH_SECRET_KEY holds a single key")
    assert "workbench keys generate" in single.stderr


def test_restore_of_a_foreign_database_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE notes (id integer primary key)")
    conn.commit()
    conn.close()
    refused = cli.invoke(app, ["db", "restore", str(foreign), "--force"])
    _one_line_error(refused, 2, "foreign.db is not a workbench backup")
    assert cli.invoke(app, ["keys", "list"]).exit_code == 0


def test_keys_add_takes_exchange_names_like_every_command(cli: CliRunner) -> None:
    add = ["keys", "add", "--label", "main", "--exchange"]
    stored = cli.invoke(app, [*add, "Binance"], input=f"{API_KEY}\n{API_SECRET}\n")
    assert stored.exit_code == 0, stored.output
    assert "binance main" in stored.stdout
    unknown = cli.invoke(app, [*add, "nosuchexchange"], input=f"{API_KEY}\n{API_SECRET}\n")
    _one_line_error(unknown, 2, "unknown exchange 'nosuchexchange'")


def test_unknown_revisions_are_one_line(cli: CliRunner) -> None:
    for command in (["db", "downgrade", "nosuch"], ["db", "upgrade", "nosuch"]):
        _one_line_error(cli.invoke(app, command), 2, "Can't locate revision identified by 'nosuch'")
    too_far = cli.invoke(app, ["db", "downgrade", "--", "-99"])
    _one_line_error(too_far, 2, "0001_users_api_keys")
    assert migrate.current(get_settings().database_url) == migrate.head()
