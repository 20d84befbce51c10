"""Alembic owns the schema: round trips, step by step, data kept, and no drift from the models,
on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from workbench.db import Base, make_engine, migrate

ROOT = Path(__file__).resolve().parents[1]
BEFORE_LEVERAGE = "0005_jobs"


def revisions() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_history_grows_in_steps() -> None:
    revs = revisions()
    assert len(revs) >= 6
    assert revs[-1] == migrate.head()
    assert "0006_bot_leverage" in revs


def test_round_trip_head_base_head(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url)
    assert tables(empty_db_url) >= {t.name for t in Base.metadata.sorted_tables}
    migrate.downgrade(empty_db_url, "base")
    assert tables(empty_db_url) <= {"alembic_version"}
    assert migrate.current(empty_db_url) is None
    migrate.upgrade(empty_db_url)
    assert migrate.current(empty_db_url) == migrate.head()


def test_every_step_up_and_down(empty_db_url: str) -> None:
    revs = revisions()
    for rev in revs:
        migrate.upgrade(empty_db_url, "+1")
        assert migrate.current(empty_db_url) == rev
    for rev in reversed(revs[:-1]):
        migrate.downgrade(empty_db_url, "-1")
        assert migrate.current(empty_db_url) == rev
    migrate.downgrade(empty_db_url, "-1")
    assert migrate.current(empty_db_url) is None


def test_no_drift_between_models_and_migrations(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


# Rows as written before the seed-names revision (0017) renamed their columns.
ROWS: dict[str, list[dict[str, Any]]] = {
    "users": [{"id": 1, "email": "a@example.com", "password_hash": "$argon2id$x"}],
    "api_keys": [
        {
            "id": 1,
            "owner_id": 1,
            "exchange": "binance",
            "label": "main",
            "key_encrypted": "gAAAA-key",
            "secret_encrypted": "gAAAA-secret",
            "key_masked": "abcd…wxyz",
        }
    ],
    "bot_configs": [
        {
            "id": 1,
            "owner_id": 1,
            "api_key_id": 1,
            "name": "b",
            "exchange": "paper",
            "symbol": "BTC/USDT",
            "timeframe": "5m",
            "strategy": "ema_cross",
            "initial_capital": 1000,
            "position_size_perc": 50,
        }
    ],
    "bot_states": [{"id": 1, "bot_id": 1, "state_data": {}}],
    "trades": [
        {
            "id": i,
            "bot_id": 1,
            "owner_id": 1,
            "exchange": "paper",
            "exchange_order_id": f"o{i}",
            "client_order_id": f"c{i}",
            "symbol": "BTC/USDT",
            "side": "buy",
            "order_type": "market",
            "price": Decimal("100.5"),
            "quantity": Decimal("0.25"),
            "quote_quantity": Decimal("25.125"),
            "executed_at": datetime(2024, 1, 2, 3, 4, 5),
        }
        for i in range(1, 4)
    ],
    "backtests": [
        {
            "id": 1,
            "owner_id": 1,
            "bot_id": 1,
            "name": "bt",
            "exchange": "paper",
            "symbol": "BTC/USDT",
            "timeframe": "5m",
            "market_type": "spot",
            "strategy": "ema_cross",
            "parameters": {},
            "start": datetime(2024, 1, 1),
            "end": datetime(2024, 2, 1),
            "initial_capital": 1000,
            "final_value": 1100,
            "total_return": 0.1,
            "max_drawdown": 0.05,
            "total_trades": 3,
            "stats": {},
        }
    ],
    "candle_series": [{"id": 1, "exchange": "x", "symbol": "BTC/USDT", "timeframe": "1m"}],
    "candles": [
        {
            "series_id": 1,
            "open_time": i * 60_000,
            "open": 1.0,
            "high": 2.0,
            "low": 0.5,
            "close": 1.5,
            "volume": 3.0,
        }
        for i in range(10)
    ],
    "job_schedules": [
        {
            "id": 1,
            "name": "daily",
            "notebook": "jobs/daily_report.ipynb",
            "parameters": {},
            "cron": "0 0 * * *",
        }
    ],
    "job_runs": [
        {
            "id": 1,
            "schedule_id": 1,
            "notebook": "jobs/daily_report.ipynb",
            "parameters": {},
            "status": "succeeded",
        }
    ],
}


# What 0017 renamed (old -> new), to write ROWS into a database at head.
SEED_NAMES = {
    "users": {"password_hash": "hashed_password"},
    "api_keys": {
        "owner_id": "user_id",
        "label": "key_name",
        "key_encrypted": "api_key_encrypted",
        "secret_encrypted": "secret_key_encrypted",
    },
    "bot_configs": {"owner_id": "user_id"},
}


def at_head(name: str) -> list[dict[str, Any]]:
    names = SEED_NAMES.get(name, {})
    return [{names.get(k, k): v for k, v in row.items()} for row in ROWS[name]]


def test_upgrade_keeps_every_row(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url, BEFORE_LEVERAGE)
    engine = make_engine(empty_db_url)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for name, rows in ROWS.items():
            conn.execute(meta.tables[name].insert(), rows)
    migrate.upgrade(empty_db_url)
    with engine.connect() as conn:
        for name, rows in ROWS.items():
            count = conn.execute(sa.text(f'select count(*) from "{name}"')).scalar_one()
            assert count == len(rows), name
        assert conn.execute(sa.text("select leverage from bot_configs")).scalar_one() == 1
        price = conn.execute(sa.text("select price from trades where id = 2")).scalar_one()
        assert float(price) == 100.5
    engine.dispose()


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        ("update bot_configs set ema_fast = 40", "ema_fast_lt_slow"),
        ("update bot_configs set leverage = 3", "leverage_range"),
        ("update bot_configs set position_size_fixed = 10", "position_size_one_way"),
    ],
)
def test_migrated_database_enforces_rules(empty_db_url: str, sql: str, constraint: str) -> None:
    migrate.upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    with engine.begin() as conn:
        for name in ("users", "api_keys", "bot_configs"):
            rows = at_head(name)
            conn.execute(sa.table(name, *(sa.column(c) for c in rows[0])).insert(), rows)
    with pytest.raises(sa.exc.IntegrityError, match=constraint), engine.begin() as conn:
        conn.execute(sa.text(sql))
    engine.dispose()


def test_alembic_command_line_from_repo_root(empty_db_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "WORKBENCH_DATABASE_URL": empty_db_url,
        "WORKBENCH_HOME": str(tmp_path / "home"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert migrate.current(empty_db_url) == migrate.head()


def test_bot_ids_are_never_reused(empty_db_url: str) -> None:
    """A new bot must not inherit a deleted bot's id (its client order ids, paper account)."""
    from workbench.accounts import local_user
    from workbench.bots import create_bot, delete_bot
    from workbench.db import session_scope

    migrate.upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    market = {"exchange": "synthetic", "symbol": "BTC/USDT", "timeframe": "5m"}
    with session_scope(engine) as session:
        owner = local_user(session=session).id
        first = create_bot(session=session, user_id=owner, name="a", **market).id
    with session_scope(engine) as session:
        delete_bot(session=session, bot_id=first)
    with session_scope(engine) as session:
        second = create_bot(session=session, user_id=owner, name="b", **market).id
    engine.dispose()
    assert second > first
