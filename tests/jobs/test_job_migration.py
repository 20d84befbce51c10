"""Migration 0014_job_heartbeats on real rows, up and down, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from workbench.db import make_engine, migrate

BEFORE = "0009_bot_ids_never_reused"
AFTER = "0014_job_heartbeats"


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def _exec(url: str, *statements: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for sql in statements:
                conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def test_job_rows_survive_the_heartbeat_migration_both_ways(empty_db_url: str) -> None:
    url = empty_db_url
    migrate.upgrade(url, BEFORE)
    _exec(
        url,
        "INSERT INTO job_schedules (id, name, notebook, parameters, cron, timezone, enabled, "
        "missed_runs) VALUES (1, 'r', '/x.ipynb', '{}', '@hourly', 'UTC', true, 'skip')",
        "INSERT INTO job_runs (id, schedule_id, slot, notebook, parameters, status) VALUES "
        "(1, 1, '2024-01-01 10:00:00', '/x.ipynb', '{}', 'succeeded'), "
        "(2, 1, '2024-01-01 11:00:00', '/x.ipynb', '{}', 'queued')",
    )
    migrate.upgrade(url, AFTER)
    rows = _rows(url, "SELECT id, status, attempt, expires_at FROM job_runs ORDER BY id")
    assert [(r[0], r[1], r[2]) for r in rows] == [(1, "succeeded", 1), (2, "queued", 1)]
    assert rows[0][3] is None and rows[1][3] is not None  # active rows get an expiry
    assert _rows(url, "SELECT max_retries, retry_delay_seconds FROM job_schedules") == [(0, 60)]
    _exec(
        url,
        "INSERT INTO job_runs (id, schedule_id, slot, notebook, parameters, status, error) "
        "VALUES (3, 1, '2024-01-01 12:00:00', '/x.ipynb', '{}', 'skipped', 'skipped: busy'), "
        "(4, NULL, NULL, '/x.ipynb', '{}', 'cancelled', 'cancelled by the user')",
    )
    with pytest.raises(sa.exc.IntegrityError):  # the new statuses only, still checked
        _exec(url, "INSERT INTO job_runs (notebook, parameters, status) VALUES ('/x', '{}', 'x')")
    _exec(
        url,
        "INSERT INTO job_runs (id, schedule_id, slot, notebook, parameters, status, attempt) "
        "VALUES (5, 1, '2024-01-01 12:00:00', '/x.ipynb', '{}', 'failed', 2)",
    )
    with pytest.raises(RuntimeError, match="1 job runs are retries"):
        migrate.downgrade(url, BEFORE)
    _exec(url, "DELETE FROM job_runs WHERE attempt > 1")

    migrate.downgrade(url, BEFORE)
    assert _rows(url, "SELECT id, status, error FROM job_runs ORDER BY id") == [
        (1, "succeeded", None),
        (2, "queued", None),
        (3, "failed", "skipped: busy [skipped]"),
        (4, "failed", "cancelled by the user [cancelled]"),
    ]
    migrate.upgrade(url)
    assert len(_rows(url, "SELECT id FROM job_runs")) == 4
