"""Migration 0012: saved backtests with 31.6x Sharpe/Sortino/volatility are recomputed from
their stored candles, or marked when they cannot be; the downgrade restores them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import sqlalchemy as sa

from workbench.accounts import local_user
from workbench.backtest import run_backtest, save_backtest
from workbench.db import make_engine, migrate, session_scope
from workbench.db.models import Backtest
from workbench.market.candles import read_file, upsert_candles
from workbench.rules import RuleParams

BEFORE = "0010_strategy_params"  # the revision 0012 follows
WRONG = math.sqrt(1000)  # a microsecond read as a nanosecond: sqrt(1000) on each figure
FIGURES = ("sharpe_ratio", "sortino_ratio", "annualized_volatility")


def test_saved_backtests_are_recomputed_or_marked(empty_db_url: str, shared_data: Path) -> None:
    migrate.upgrade(empty_db_url)  # rows are written through today's models...
    engine = make_engine(empty_db_url)
    frame = read_file(shared_data / "ETH_BTC-5m.csv").iloc[:800]
    upsert_candles(engine=engine, exchange="binance", symbol="ETH/BTC", timeframe="5m", frame=frame)
    result = run_backtest(
        frame,
        strategy="ema_cross",
        params={"ema_fast": 9, "ema_slow": 21},
        rules=RuleParams(stop_loss=0.02),
    )
    right = result.stats()
    old = {k: right[k] * WRONG for k in FIGURES}  # what the old code saved
    with session_scope(engine) as session:
        owner = local_user(session=session).id
        ids = []
        for symbol in ("ETH/BTC", "ADA/BTC"):  # ADA/BTC: no candles stored for a re-run
            row = save_backtest(
                session=session,
                result=result,
                user_id=owner,
                name=symbol,
                exchange="binance",
                symbol=symbol,
                timeframe="5m",
            )
            ids.append(row.id)
    migrate.downgrade(empty_db_url, BEFORE)  # ...then taken back to before 0012
    saved = {k: v for k, v in right.items() if k not in ("cagr", "rules")} | old
    with engine.begin() as conn:  # and given the figures the old code saved
        conn.execute(
            sa.text("update backtests set stats = :stats"),
            {"stats": json.dumps(saved, default=str)},
        )
    migrate.upgrade(empty_db_url)
    with session_scope(engine) as session:
        recomputed, marked = (session.get_one(Backtest, i).stats for i in ids)
    assert recomputed["stats_check"] == "recomputed"
    for name in FIGURES:
        assert recomputed[name] == pytest.approx(right[name], rel=1e-9)
        assert recomputed[name] == pytest.approx(old[name] / WRONG, rel=1e-9)
        assert marked[name] is None
    assert recomputed["cagr"] == pytest.approx(right["cagr"], rel=1e-9)
    assert marked["stats_check"].startswith("not recomputed (its candles are no longer stored)")
    assert marked["as_saved_before_0012"] == old
    assert marked["total_trades"] == right["total_trades"]  # the rest untouched

    migrate.downgrade(empty_db_url, BEFORE)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select stats from backtests order by id")).scalars().all()
    for stats in rows:
        stats = stats if isinstance(stats, dict) else json.loads(stats)
        assert {k: stats[k] for k in FIGURES} == pytest.approx(old)
        assert "stats_check" not in stats and "cagr" not in stats
    engine.dispose()
