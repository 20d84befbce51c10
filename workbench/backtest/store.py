"""Saving backtest results as ``backtests`` rows and reading them back for comparison."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.backtest.result import BacktestResult, rules_summary
from workbench.db.models import Backtest
from workbench.rules import RuleParams
from workbench.types import MarketType


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return value


def _fingerprint(strategy: str) -> str | None:
    """The code fingerprint of the strategy that ran (see ``workbench strategy list``)."""
    from workbench.strategies import get_strategy

    return get_strategy(strategy).fingerprint


def save_backtest(
    *,
    session: Session,
    result: BacktestResult,
    user_id: int,
    name: str,
    exchange: str,
    symbol: str,
    timeframe: str,
    bot_id: int | None = None,
) -> Backtest:
    """Store ``result`` (headline columns + full stats JSON); returns the new row."""
    stats = result.stats()
    row = Backtest(
        user_id=user_id,
        bot_id=bot_id,
        name=name,
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        market_type=MarketType.FUTURES if result.rules.futures else MarketType.SPOT,
        strategy=result.strategy,
        parameters={"strategy": result.params, "rules": result.rules.as_dict()},
        strategy_fingerprint=_fingerprint(result.strategy),
        start_date=stats["start"].to_pydatetime(),
        end_date=stats["end"].to_pydatetime(),
        initial_capital=Decimal(repr(result.rules.initial_capital)),
        final_value=Decimal(repr(round(stats["final_value"], 8))),
        total_return=stats["total_return"],
        max_drawdown=stats["max_drawdown"],
        total_trades=stats["total_trades"],
        stats=_jsonable(stats),
    )
    session.add(row)
    session.flush()
    return row


def save_best_of_sweep(
    *,
    session: Session,
    table: pd.DataFrame,
    candles: pd.DataFrame,
    strategy: str,
    rules: RuleParams,
    user_id: int,
    exchange: str,
    symbol: str,
    timeframe: str,
    top: int = 3,
) -> list[Backtest]:
    """Re-run the ``top`` rows of a sweep table as full backtests and save them."""
    from workbench.backtest.runner import run_backtest
    from workbench.strategies import get_strategy

    names = get_strategy(strategy).param_names
    saved = []
    for _, row in table.head(top).iterrows():
        params = {name: int(row[name]) for name in names if name in row}
        result = run_backtest(candles, strategy=strategy, params=params, rules=rules)
        label = " ".join(f"{k}={v}" for k, v in params.items())
        saved.append(
            save_backtest(
                session=session,
                result=result,
                user_id=user_id,
                name=f"sweep best: {strategy} {label}",
                exchange=exchange,
                symbol=symbol,
                timeframe=timeframe,
            )
        )
    return saved


def compare_backtests(*, session: Session, ids: list[int]) -> pd.DataFrame:
    """Saved backtests side by side: one column per backtest, one row per figure, then the
    strategy's parameters and the rules each ran under (caps, stops, fees, slippage, fill)."""
    rows = session.scalars(sa.select(Backtest).where(Backtest.id.in_(ids)).order_by(Backtest.id))
    table = {
        f"{r.id}: {r.name}": {
            "strategy": r.strategy,
            "symbol": r.symbol,
            "timeframe": r.timeframe,
            "start": r.start_date,
            "end": r.end_date,
            "final_value": float(r.final_value),
            "total_return": r.total_return,
            "max_drawdown": r.max_drawdown,
            "total_trades": r.total_trades,
            "win_rate": r.stats.get("win_rate"),
            "sharpe_ratio": r.stats.get("sharpe_ratio"),
            "sortino_ratio": r.stats.get("sortino_ratio"),
            "annualized_volatility": r.stats.get("annualized_volatility"),
            **r.parameters.get("strategy", {}),
            **{f"rule: {k}": v for k, v in _rules_of(r).items()},
        }
        for r in rows
    }
    return pd.DataFrame(table)


def _rules_of(row: Backtest) -> dict[str, Any]:
    """The rules a saved backtest ran under (from its stored rule parameters)."""
    stored = row.parameters.get("rules") or {}
    known = {k: v for k, v in stored.items() if k in RuleParams.__dataclass_fields__}
    return rules_summary(RuleParams(**known)) if known else {}
