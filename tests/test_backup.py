"""Backup, empty, restore: every row comes back, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workbench.accounts import add_api_key, credentials, local_user
from workbench.accounts.crypto import fingerprint
from workbench.accounts.rotation import drop_previous_keys, rotate_secret_key
from workbench.bots import create_bot
from workbench.db import Base
from workbench.db.backup import backup, manifest_path, restore, rows_held
from workbench.db.models import Candle, CandleSeries, Side, Trade
from workbench.db.stats import table_stats
from workbench.errors import ConflictError, NotFoundError, RejectedError
from workbench.settings import Settings


def fill(session: Session) -> None:
    owner = local_user(session=session)
    add_api_key(
        session=session,
        user_id=owner.id,
        exchange="binance",
        key_name="main",
        api_key="key-0123456789",
        api_secret="secret-0123456789",
    )
    bot = create_bot(session=session, user_id=owner.id, name="b", symbol="ETH/BTC")
    session.add(
        Trade(
            bot_config_id=bot.id,
            user_id=owner.id,
            exchange="paper",
            exchange_order_id="1",
            client_order_id="wb-1",
            symbol="ETH/BTC",
            side=Side.BUY,
            order_type="market",
            price=Decimal("0.0531"),
            quantity_filled=Decimal("2.5"),
            quote_quantity_filled=Decimal("0.13275"),
            timestamp=datetime.now(UTC),
        )
    )
    series = CandleSeries(exchange="x", symbol="ETH/BTC", timeframe="5m")
    session.add(series)
    session.flush()
    session.add_all(
        Candle(
            series_id=series.id,
            open_time=i * 300_000,
            open=1.0,
            high=2.0,
            low=0.5,
            close=1.5,
            volume=10.0 + i,
        )
        for i in range(50)
    )
    session.commit()


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            t.name: sorted(tuple(r) for r in conn.execute(sa.select(t)))
            for t in Base.metadata.sorted_tables
        }


def empty(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


def test_backup_empty_restore_round_trip(
    settings: Settings, engine: Engine, session: Session, tmp_path: Path
) -> None:
    fill(session)
    url = settings.database_url
    before = snapshot(engine)
    assert sum(len(rows) for rows in before.values()) > 50
    path = backup(url, tmp_path / "backups" / "wb.dump")
    assert path.stat().st_size > 0

    with pytest.raises(ConflictError, match="--force"):
        restore(url, path)  # the database still holds rows

    empty(engine)
    assert rows_held(url) == 0
    engine.dispose()
    restore(url, path)
    assert snapshot(engine) == before


def test_restore_over_rows_needs_force(
    settings: Settings, engine: Engine, session: Session, tmp_path: Path
) -> None:
    fill(session)
    path = backup(settings.database_url, tmp_path / "wb.dump")
    before = snapshot(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(Candle).where(Candle.open_time < 10 * 300_000))
    engine.dispose()
    restore(settings.database_url, path, force=True)
    assert snapshot(engine) == before


def test_restore_of_a_missing_file(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no backup file"):
        restore(settings.database_url, tmp_path / "nope.dump")


def test_stats_count_rows(settings: Settings, session: Session) -> None:
    fill(session)
    stats = {row["table"]: row for row in table_stats(settings.database_url)}
    assert stats["candles"]["rows"] == 50
    assert stats["trades"]["rows"] == 1
    assert stats["users"]["rows"] == 1
    assert stats["candles"]["bytes"] is None or stats["candles"]["bytes"] > 0


def foreign_sqlite(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id integer primary key, text varchar)")
        conn.execute("INSERT INTO notes (text) VALUES ('not a workbench')")
    conn.close()
    return path


def test_restore_refuses_what_is_not_a_workbench_backup(
    settings: Settings, engine: Engine, session: Session, tmp_path: Path
) -> None:
    fill(session)
    url = settings.database_url
    good = backup(url, tmp_path / "wb.dump")
    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    random_file = tmp_path / "random.bin"
    random_file.write_bytes(os.urandom(64 * 1024))
    other_kind = tmp_path / "other.dump"
    if engine.dialect.name == "sqlite":
        candidates = {
            foreign_sqlite(tmp_path / "foreign.db"): "lacks the workbench's tables",
            other_kind: "is a PostgreSQL dump; restore it into PostgreSQL",
        }
        other_kind.write_bytes(b"PGDMP\x01\x0e\x00" + os.urandom(2048))
    else:
        candidates = {
            foreign_sqlite(tmp_path / "foreign.db"): "is a SQLite database; restore it into SQLite"
        }
    candidates[truncated] = "is not a workbench backup"
    candidates[random_file] = "is not a"
    before = snapshot(engine)
    for path, message in candidates.items():
        with pytest.raises(RejectedError) as refused:
            restore(url, path, force=True)
        text = str(refused.value)
        assert f"{path.name} is not a workbench backup" in text and message in text, text
        assert "\n" not in text and "nothing was restored" in text
        engine.dispose()
        assert snapshot(engine) == before


def test_backup_records_the_key_it_needs_and_restore_checks_it(
    settings: Settings, engine: Engine, session: Session, tmp_path: Path
) -> None:
    fill(session)
    url = settings.database_url
    key = settings.fernet_keys()[0]
    path = backup(url, tmp_path / "wb.dump")
    manifest = manifest_path(path).read_text()
    assert json.loads(manifest)["secret_keys"] == [fingerprint(key)]
    assert key not in manifest and key not in path.read_bytes().decode("latin-1")

    rotate_secret_key(settings=settings, engine=engine)  # the previous key is kept
    engine.dispose()
    restore(url, path, force=True)
    engine.dispose()
    with Session(engine) as fresh:
        assert credentials(session=fresh, api_key_id=1).secret == "secret-0123456789"

    rotate_secret_key(settings=settings, engine=engine)
    drop_previous_keys(settings=settings, engine=engine)
    before = snapshot(engine)
    with pytest.raises(ConflictError) as refused:
        restore(url, path, force=False)
    text = str(refused.value)
    assert "1 API key(s) in it cannot be decrypted" in text and fingerprint(key) in text
    assert key not in text
    engine.dispose()
    assert snapshot(engine) == before
    restore(url, path, force=True)  # forced: restored, the keys must be added again
    engine.dispose()
    assert snapshot(engine) != before
