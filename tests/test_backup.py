"""Backup, empty, restore: every row comes back, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workbench.accounts import add_api_key, local_user
from workbench.bots import create_bot
from workbench.db import Base
from workbench.db.backup import backup, restore, rows_held
from workbench.db.models import Candle, CandleSeries, Side, Trade
from workbench.db.stats import table_stats
from workbench.errors import ConflictError, NotFoundError
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
