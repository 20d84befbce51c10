"""The seed's (TradeBot) table and column names are the schema's, and the renaming migration
keeps every row, on the way up and on the way down."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from tests.conftest import drop_pg_database, new_pg_database
from workbench.db import make_engine, migrate

RENAME = "0017_seed_names"

# The seed's ER diagrams (000_a3636c730bb8bb39.txt, 002_40dcbe1bc668e4bd.txt). Left out:
# trades.binance_order_id (ours is exchange_order_id: we trade on several exchanges) and
# api_keys.is_active (not a column of ours yet).
SEED = {
    "users": {
        "id",
        "email",
        "hashed_password",
        "is_active",
        "created_at",
        "updated_at",
        "reset_token",
        "reset_token_expires",
    },
    "api_keys": {
        "id",
        "user_id",
        "key_name",
        "api_key_encrypted",
        "secret_key_encrypted",
        "is_active",
        "created_at",
        "updated_at",
    }
    - {"is_active"},  # not a column of ours (an addition, not a rename: out of scope)
    "bot_configs": {
        "id",
        "user_id",
        "name",
        "symbol",
        "timeframe",
        "is_active",
        "initial_capital",
        "daily_target_perc",
        "max_daily_loss_perc",
        "position_size_perc",
        "position_size_fixed",
        "stop_loss_perc",
        "take_profit_perc",
        "trailing_stop_perc",
        "trailing_stop_active",
        "ema_fast",
        "ema_slow",
        "rsi_period",
        "rsi_oversold",
        "rsi_overbought",
        "max_daily_trades",
        "check_interval_seconds",
        "api_key_id",
        "strategy",
        "ema_period",
        "custom_ema_fast",
        "custom_ema_slow",
        "custom_rsi_period",
        "custom_rsi_oversold",
        "custom_rsi_overbought",
        "position_type",
        "transfer_amount",
        "auto_transfer_funds",
        "leverage",
        "created_at",
        "updated_at",
        "custom_stop_loss",
        "custom_take_profit",
        "custom_trailing_stop",
    },
    "trades": {
        "id",
        "bot_config_id",
        "user_id",
        "symbol",
        "side",
        "order_type",
        "price",
        "quantity_filled",
        "quote_quantity_filled",
        "commission_amount",
        "commission_asset",
        "pnl",
        "realized_pnl",
        "timestamp",
    },
    "backtests": {
        "id",
        "user_id",
        "name",
        "symbol",
        "timeframe",
        "start_date",
        "end_date",
        "initial_capital",
        "final_value",
        "total_return",
        "max_drawdown",
        "total_trades",
        "market_type",
        "created_at",
        "updated_at",
    },
    "bot_states": {
        "id",
        "bot_config_id",
        "is_running",
        "last_execution",
        "status_message",
        "state_data",
        "created_at",
        "updated_at",
    },
}
OLD_NAMES = {
    "users": {"password_hash", "reset_token_hash", "reset_token_expires_at"},
    "api_keys": {"owner_id", "label", "key_encrypted", "secret_encrypted"},
    "bot_configs": {"owner_id"},
    "trades": {"bot_id", "owner_id", "quantity", "quote_quantity", "commission", "executed_at"},
    "backtests": {"owner_id", "start", "end"},
    "bot_states": {"bot_id"},
}
# old -> new, per table: how a row written before the rename reads after it.
RENAMED = {
    "users": {
        "password_hash": "hashed_password",
        "reset_token_hash": "reset_token",
        "reset_token_expires_at": "reset_token_expires",
    },
    "api_keys": {
        "owner_id": "user_id",
        "label": "key_name",
        "key_encrypted": "api_key_encrypted",
        "secret_encrypted": "secret_key_encrypted",
    },
    "bot_configs": {"owner_id": "user_id"},
    "bot_states": {"bot_id": "bot_config_id"},
    "trades": {
        "bot_id": "bot_config_id",
        "owner_id": "user_id",
        "quantity": "quantity_filled",
        "quote_quantity": "quote_quantity_filled",
        "commission": "commission_amount",
        "executed_at": "timestamp",
    },
    "backtests": {"owner_id": "user_id", "start": "start_date", "end": "end_date"},
}
BEFORE_RENAME = {
    "users": {
        "id": 1,
        "email": "a@example.com",
        "password_hash": "$argon2id$v=19$x",
        "reset_token_hash": "9f86d081884c7d65",
        "reset_token_expires_at": datetime(2024, 5, 6, 7, 8, 9),
    },
    "api_keys": {
        "id": 3,
        "owner_id": 1,
        "exchange": "binance",
        "label": "main",
        "key_encrypted": "gAAAA-key",
        "secret_encrypted": "gAAAA-secret",
        "key_masked": "abcd…wxyz",
    },
    "bot_configs": {
        "id": 5,
        "owner_id": 1,
        "api_key_id": 3,
        "name": "b",
        "exchange": "binance",
        "symbol": "BTC/USDT",
        "timeframe": "5m",
        "strategy": "ema_cross",
        "initial_capital": Decimal("1000.5"),
        "position_size_perc": Decimal("50"),
        "custom_ema_fast": 8,
    },
    "bot_states": {"id": 7, "bot_id": 5, "state_data": {"position": "long"}},
    "trades": {
        "id": 11,
        "bot_id": 5,
        "owner_id": 1,
        "exchange": "binance",
        "exchange_order_id": "o-1",
        "client_order_id": "wb5-1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "order_type": "market",
        "price": Decimal("100.5"),
        "quantity": Decimal("0.25"),
        "quote_quantity": Decimal("25.125"),
        "commission": Decimal("0.0125"),
        "commission_asset": "USDT",
        "realized_pnl": Decimal("-1.5"),
        "executed_at": datetime(2024, 1, 2, 3, 4, 5),
    },
    "backtests": {
        "id": 13,
        "owner_id": 1,
        "bot_id": 5,
        "name": "bt",
        "exchange": "binance",
        "symbol": "BTC/USDT",
        "timeframe": "5m",
        "market_type": "spot",
        "strategy": "ema_cross",
        "parameters": {"fast": 8},
        "start": datetime(2024, 1, 1),
        "end": datetime(2024, 2, 1),
        "initial_capital": Decimal("1000"),
        "final_value": Decimal("1100.25"),
        "total_return": 0.10025,
        "max_drawdown": 0.05,
        "total_trades": 3,
        "stats": {"sharpe_ratio": 1.5},
    },
}


def revision_before_rename() -> str:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    down = script.get_revision(RENAME).down_revision
    assert isinstance(down, str)
    return down


def read_rows(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every column of each table's one row, as the database gives it back."""
    meta = sa.MetaData()
    meta.reflect(engine, only=list(BEFORE_RENAME))
    with engine.connect() as conn:
        return {
            name: dict(conn.execute(sa.select(meta.tables[name])).mappings().one())
            for name in BEFORE_RENAME
        }


def renamed(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        table: {RENAMED[table].get(column, column): value for column, value in row.items()}
        for table, row in rows.items()
    }


@pytest.fixture
def pg_url(pg_admin: Engine) -> Iterator[str]:
    url = new_pg_database(pg_admin)
    yield url
    drop_pg_database(pg_admin, url)


def test_postgresql_schema_has_the_seed_names(pg_url: str) -> None:
    migrate.upgrade(pg_url)
    engine = make_engine(pg_url)
    try:
        inspector = sa.inspect(engine)
        for table, seed_columns in SEED.items():
            columns = {c["name"] for c in inspector.get_columns(table)}
            assert seed_columns <= columns, (table, seed_columns - columns)
            assert not columns & OLD_NAMES[table], (table, columns & OLD_NAMES[table])
    finally:
        engine.dispose()


def test_keys_and_indexes_follow_the_renamed_columns(empty_db_url: str) -> None:
    """Named for the new columns (workbench.db.base's convention), on both databases: batch
    mode on SQLite must not drop a key it cannot find."""
    migrate.upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        inspector = sa.inspect(engine)
        trade_keys = {
            fk["name"]: fk["constrained_columns"] for fk in inspector.get_foreign_keys("trades")
        }
        assert trade_keys == {
            "fk_trades_bot_config_id_bot_configs": ["bot_config_id"],
            "fk_trades_user_id_users": ["user_id"],
        }
        trade_indexes = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("trades")}
        assert trade_indexes["ix_trades_timestamp"] == ["timestamp"]
        assert trade_indexes["ix_trades_bot_symbol_time"] == [
            "bot_config_id",
            "symbol",
            "timestamp",
        ]
        uniques = {u["name"] for u in inspector.get_unique_constraints("api_keys")}
        assert "uq_api_keys_user_id_exchange_key_name" in uniques
    finally:
        engine.dispose()


def test_rows_written_before_the_rename_read_back_identical(empty_db_url: str) -> None:
    before = revision_before_rename()
    migrate.upgrade(empty_db_url, before)
    engine = make_engine(empty_db_url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.begin() as conn:
            for name, row in BEFORE_RENAME.items():
                conn.execute(meta.tables[name].insert(), [row])
        written = read_rows(engine)

        migrate.upgrade(empty_db_url, RENAME)
        assert read_rows(engine) == renamed(written)

        migrate.downgrade(empty_db_url, before)
        assert read_rows(engine) == written
        keys = {fk["name"] for fk in sa.inspect(engine).get_foreign_keys("trades")}
        assert keys == {"fk_trades_bot_id_bot_configs", "fk_trades_owner_id_users"}
    finally:
        engine.dispose()


def test_renamed_trade_check_still_refuses_negative_amounts(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url, revision_before_rename())
    engine = make_engine(empty_db_url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.begin() as conn:
            for name in ("users", "api_keys", "bot_configs", "trades"):
                conn.execute(meta.tables[name].insert(), [BEFORE_RENAME[name]])
        migrate.upgrade(empty_db_url, RENAME)
        for column in ("quantity_filled", "quote_quantity_filled"):
            with (
                pytest.raises(sa.exc.IntegrityError, match="amounts_pos"),
                engine.begin() as conn,
            ):
                conn.execute(sa.text(f"update trades set {column} = -1"))
    finally:
        engine.dispose()
