"""Row counts and on-disk sizes of every table, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from workbench.db.base import Base
from workbench.db.engine import make_engine


def table_stats(url: str) -> list[dict[str, Any]]:
    """``[{"table": ..., "rows": ..., "bytes": ...}]`` for each workbench table present."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            present = set(sa.inspect(conn).get_table_names())
            out = []
            for table in Base.metadata.sorted_tables:
                if table.name not in present:
                    continue
                rows = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                out.append({"table": table.name, "rows": rows, "bytes": _size(conn, table.name)})
            return out
    finally:
        engine.dispose()


def _size(conn: sa.Connection, table: str) -> int | None:
    if conn.dialect.name == "postgresql":
        return conn.execute(
            sa.text("select pg_total_relation_size(cast(:t as regclass))"), {"t": table}
        ).scalar_one()
    if conn.dialect.name == "sqlite":
        try:
            return conn.execute(
                sa.text("select sum(pgsize) from dbstat where name = :t"), {"t": table}
            ).scalar_one()
        except sa.exc.OperationalError:  # SQLite built without the dbstat table
            return None
    return None
