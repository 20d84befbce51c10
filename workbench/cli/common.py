"""What every CLI command shares: JSON output, one-line errors, the session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from workbench.errors import RejectedError, TemporaryError, WorkbenchError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")

EXIT_REJECTED = 2  # bad input: fix the command
EXIT_OPERATIONAL = 1  # setup or service problem
EXIT_TEMPORARY = 75  # EX_TEMPFAIL: try again later


def to_jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 4.0000000000 -> "4"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    typer.echo(json.dumps(to_jsonable(value), indent=2))


def print_table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    """A plain aligned table (or a note when empty)."""
    if not rows:
        typer.echo("(none)")
        return
    columns = columns or list(rows[0])
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    typer.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))


def _cell(value: Any) -> str:
    value = to_jsonable(value)
    return "" if value is None else str(value)


@contextmanager
def db_session() -> Iterator[Session]:
    from workbench.db.engine import session_scope

    with session_scope() as session:
        yield session


def exit_code(error: WorkbenchError) -> int:
    if isinstance(error, TemporaryError):
        return EXIT_TEMPORARY
    if isinstance(error, RejectedError):
        return EXIT_REJECTED
    return EXIT_OPERATIONAL
