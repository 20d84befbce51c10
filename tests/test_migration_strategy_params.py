"""Migration 0010 (strategy_params, fingerprints, custom risk overrides): every bot row
survives the downgrade and the upgrade, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from workbench.db import make_engine, migrate

BEFORE = "0009_bot_ids_never_reused"
NEW_COLUMNS = {
    "strategy_params",
    "strategy_fingerprint",
    "strategy_warmup",
    "custom_stop_loss",
    "custom_take_profit",
    "custom_trailing_stop",
}


def columns(engine: sa.Engine, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(table)}


def test_strategy_columns_round_trip_keeping_rows(empty_db_url: str) -> None:
    from workbench.accounts import local_user
    from workbench.bots import create_bot
    from workbench.db import session_scope

    migrate.upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    market = {"exchange": "synthetic", "symbol": "BTC/USDT", "timeframe": "5m"}
    with session_scope(engine) as session:
        owner = local_user(session=session).id
        create_bot(session=session, user_id=owner, name="a", **market, custom_stop_loss="1.5")
        create_bot(session=session, user_id=owner, name="b", **market, ema_fast=5)
    assert columns(engine, "bot_configs") >= NEW_COLUMNS
    assert "strategy_fingerprint" in columns(engine, "backtests")

    migrate.downgrade(empty_db_url, BEFORE)
    engine.dispose()
    engine = make_engine(empty_db_url)
    assert not NEW_COLUMNS & columns(engine, "bot_configs")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select name, ema_fast from bot_configs order by id")).all()
    assert [tuple(r) for r in rows] == [("a", 12), ("b", 5)]

    migrate.upgrade(empty_db_url)
    engine.dispose()
    engine = make_engine(empty_db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("select name, strategy_params, custom_stop_loss from bot_configs order by id")
        ).all()
    assert [r[0] for r in rows] == ["a", "b"]
    assert all(r[1] in ({}, "{}") and r[2] is None for r in rows)
    engine.dispose()
