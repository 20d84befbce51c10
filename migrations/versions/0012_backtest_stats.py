"""Saved backtests get right Sharpe, Sortino and volatility figures (data only).

Before, the index of a backtest's equity curve (microseconds) was read as nanoseconds, so a
bar counted 1000 times shorter and the three figures came out sqrt(1000) = 31.6 times too
large. Each saved backtest is re-run on its stored candles with its stored strategy
parameters and rules; when the re-run reproduces the saved final value, its figures replace
the saved ones (``stats_check: "recomputed"``). Otherwise (candles deleted, an engine that
trades differently now) the wrong figures are set to null and the row says so in
``stats_check``. The saved figures are kept under ``as_saved_before_0012``, so the
downgrade restores them.

Revision ID: 0012_backtest_stats
Revises: 0010_strategy_params
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012_backtest_stats"
down_revision: str | None = "0010_strategy_params"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIGURES = ("sharpe_ratio", "sortino_ratio", "annualized_volatility")
KEPT = "as_saved_before_0012"
CHECK = "stats_check"
NOT_RECOMPUTED = (
    "not recomputed ({why}): its sharpe/sortino/volatility were 31.6x too large and are "
    "removed; run the backtest again for them"
)

backtests = sa.table(
    "backtests",
    sa.column("id", sa.Integer),
    sa.column("exchange", sa.String),
    sa.column("symbol", sa.String),
    sa.column("timeframe", sa.String),
    sa.column("strategy", sa.String),
    sa.column("parameters", sa.JSON),
    sa.column("start", sa.DateTime(timezone=True)),
    sa.column("end", sa.DateTime(timezone=True)),
    sa.column("final_value", sa.Numeric),
    sa.column("stats", sa.JSON),
)
series = sa.table(
    "candle_series",
    sa.column("id", sa.Integer),
    sa.column("exchange", sa.String),
    sa.column("symbol", sa.String),
    sa.column("timeframe", sa.String),
)
candles = sa.table(
    "candles",
    *(sa.column(c) for c in ("series_id", "open_time", "open", "high", "low", "close")),
)


def _ms(moment: datetime) -> int:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return int(moment.timestamp() * 1000)


def _rerun(conn: sa.Connection, row: Any) -> dict[str, Any] | str:
    """The re-run's stats, or why there is none."""
    import pandas as pd

    from workbench.backtest.runner import run_backtest
    from workbench.errors import ValidationError
    from workbench.rules import RuleParams

    series_id = conn.scalar(
        sa.select(series.c.id).where(
            series.c.exchange == row.exchange,
            series.c.symbol == row.symbol,
            series.c.timeframe == row.timeframe,
        )
    )
    if series_id is None:
        return "its candles are no longer stored"
    bars = conn.execute(
        sa.select(
            candles.c.open_time, candles.c.open, candles.c.high, candles.c.low, candles.c.close
        )
        .where(
            candles.c.series_id == series_id,
            candles.c.open_time.between(_ms(row.start), _ms(row.end)),
        )
        .order_by(candles.c.open_time)
    ).fetchall()
    frame = pd.DataFrame(bars, columns=["time", "open", "high", "low", "close"])
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("time"), unit="ms", utc=True))
    stored = row.parameters or {}
    try:
        result = run_backtest(
            frame,
            strategy=row.strategy,
            params=stored.get("strategy") or {},
            rules=RuleParams(**(stored.get("rules") or {})),
        )
    except (ValidationError, TypeError) as e:
        return f"it cannot be re-run: {e}"
    stats = result.stats()
    saved = float(row.final_value)
    if abs(stats["final_value"] - saved) > 1e-6 * max(1.0, abs(saved)):
        return f"a re-run ends at {stats['final_value']:.8f}, not the saved {saved:.8f}"
    return stats


def upgrade() -> None:
    conn = op.get_bind()
    for row in conn.execute(sa.select(backtests)).fetchall():
        stats = dict(row.stats or {})
        if CHECK in stats:
            continue
        kept = {k: stats[k] for k in (*FIGURES, "cagr") if k in stats}
        rerun = _rerun(conn, row)
        if isinstance(rerun, str):
            stats.update(dict.fromkeys(FIGURES), **{CHECK: NOT_RECOMPUTED.format(why=rerun)})
        else:
            stats.update({k: rerun[k] for k in (*FIGURES, "cagr")}, **{CHECK: "recomputed"})
        stats[KEPT] = kept
        conn.execute(sa.update(backtests).where(backtests.c.id == row.id).values(stats=stats))


def downgrade() -> None:
    conn = op.get_bind()
    for row in conn.execute(sa.select(backtests.c.id, backtests.c.stats)).fetchall():
        stats = dict(row.stats or {})
        if KEPT not in stats:
            continue
        kept = stats.pop(KEPT)
        for key in (*FIGURES, "cagr", CHECK):
            stats.pop(key, None)
        stats.update(kept)
        conn.execute(sa.update(backtests).where(backtests.c.id == row.id).values(stats=stats))
