"""Backtesting a bot config: one from free fields, the stored candles it runs on, and saving
its results under its market. Shared by ``workbench backtest``/``sweep`` and the explorer."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workbench.accounts import local_user
from workbench.backtest.result import BacktestResult
from workbench.backtest.store import save_backtest, save_best_of_sweep
from workbench.db.models import Backtest
from workbench.errors import ValidationError
from workbench.market.candles import read_candles
from workbench.rules import RuleParams
from workbench.schemas import BotConfigCreate, validate

NAME_LENGTH = 200  # backtests.name


def free_config(
    *,
    exchange: str | None,
    symbol: str | None,
    timeframe: str | None,
    strategy: str | None,
    fields: Mapping[str, Any],
) -> BotConfigCreate:
    """A bot config that is not stored: the market, the strategy and any config fields."""
    return validate(
        BotConfigCreate,
        {
            "name": "backtest",
            "exchange": exchange,
            "symbol": symbol,
            "timeframe": timeframe,
            "strategy": strategy,
            **fields,
        },
    )


def stored_candles(
    *,
    engine: Engine,
    exchange: str,
    symbol: str,
    timeframe: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """The stored candles in ``[start, end)``; a ValidationError when there are too few."""
    if start and end and end <= start:
        raise ValidationError({"end": "must be after start"}, entity="backtest")
    candles = read_candles(
        engine=engine, exchange=exchange, symbol=symbol, timeframe=timeframe, start=start, end=end
    )
    if len(candles) < 2:
        raise ValidationError(
            {
                "symbol": f"no stored {symbol} {timeframe} candles from "
                f"{exchange} in that window; see `workbench data list`"
            },
            entity="backtest",
        )
    return candles


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_LENGTH:
        raise ValidationError(
            {"name": f"give the backtest a name of 1 to {NAME_LENGTH} characters"},
            entity="backtest",
        )
    return name


def save_config_backtest(
    *, session: Session, result: BacktestResult, config: Any, name: str, bot_id: int | None = None
) -> Backtest:
    """Save ``result`` of ``config`` (a bot row or a schema) for the local user."""
    return save_backtest(
        session=session,
        result=result,
        user_id=local_user(session=session).id,
        name=_checked_name(name),
        exchange=config.exchange,
        symbol=config.symbol,
        timeframe=config.timeframe,
        bot_id=bot_id,
    )


def save_sweep_best(
    *,
    session: Session,
    table: pd.DataFrame,
    candles: pd.DataFrame,
    config: Any,
    rules: RuleParams,
    top: int,
) -> list[Backtest]:
    """Re-run the ``top`` best sets of a sweep around ``config`` and save them."""
    return save_best_of_sweep(
        session=session,
        table=table,
        candles=candles,
        strategy=config.strategy,
        rules=rules,
        user_id=local_user(session=session).id,
        exchange=config.exchange,
        symbol=config.symbol,
        timeframe=config.timeframe,
        top=top,
    )
