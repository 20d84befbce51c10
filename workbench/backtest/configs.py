"""Backtesting a bot config: one from free fields, the stored candles it runs on, and saving
its results under its market. Shared by ``workbench backtest``/``sweep`` and the explorer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workbench.accounts import local_user
from workbench.backtest.frames import timeframe_of
from workbench.backtest.result import BacktestResult
from workbench.backtest.store import save_backtest, save_best_of_sweep
from workbench.db.models import Backtest, BotConfig
from workbench.errors import ValidationError
from workbench.market.candles import read_candles
from workbench.rules import RuleParams
from workbench.schemas import BotConfigCreate, validate
from workbench.strategies.base import Strategy
from workbench.types import DEFAULT_FEE, BotConfigLike

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
    *,
    session: Session,
    result: BacktestResult,
    config: BotConfigLike,
    name: str,
    bot_id: int | None = None,
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
    config: BotConfigLike,
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


# -- one set of defaults, and frames from anywhere ---------------------------------------

# The schema's default exchange (a label of the candles; the venue is chosen by dry_run).
_DEFAULTS_MARKET = {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "5m"}


def default_rules(*, fee: float = DEFAULT_FEE, slippage: float = 0.0) -> RuleParams:
    """The rules of a bot config left at its defaults (the schema's: capital, sizing,
    ``max_daily_trades``, ...): what a backtest or sweep runs under when given no rules."""
    config = validate(BotConfigCreate, {"name": "defaults", **_DEFAULTS_MARKET})
    return RuleParams.from_config(config, fee=fee, slippage=slippage)


def config_values(config: BotConfigLike) -> dict[str, Any]:
    """The fields of a bot config, a schema or an ORM row, as a dict."""
    if isinstance(config, BotConfigCreate):
        return dict(config.model_dump())
    return {c.key: getattr(config, c.key) for c in BotConfig.__table__.columns}


def with_params(config: BotConfigLike, params: Mapping[str, Any]) -> dict[str, Any]:
    """``config``'s fields as a dict, with ``params`` over its strategy's parameters."""
    values = config_values(config)
    values["strategy_params"] = {**(values.get("strategy_params") or {}), **params}
    return values


def with_fields(config: BotConfigLike, fields: Mapping[str, Any]) -> BotConfigCreate:
    """``config`` (a bot row or a schema) with ``fields`` over it, validated like any bot
    config and not stored: what ``--bot ID -p FIELD=VALUE`` and ``bot=ID, field=...`` run."""
    stored = {k: v for k, v in config_values(config).items() if k in BotConfigCreate.model_fields}
    return validate(BotConfigCreate, {**stored, **fields})


def split_fields(
    strategy: Strategy, fields: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``fields`` as (bot config fields, parameters of ``strategy`` that are no config field)."""
    config_names = set(BotConfigCreate.model_fields)
    own = {k: v for k, v in fields.items() if k in strategy.param_names and k not in config_names}
    return {k: v for k, v in fields.items() if k not in own}, own


def sweep_grid(
    strategy: Strategy,
    config: BotConfigLike | Mapping[str, Any] | None,
    ranges: Mapping[str, Iterable[Any]],
) -> dict[str, list[Any]]:
    """The grid of a sweep around ``config``: each swept parameter's values, and for every
    other parameter of ``strategy`` the config's value (as its backtest would use)."""
    base = strategy.params_from_config(config) if config is not None else strategy.defaults
    grid: dict[str, list[Any]] = {name: [value] for name, value in base.items()}
    for name, values in ranges.items():
        grid[name] = [v.item() if hasattr(v, "item") else v for v in values]
    return grid


def market_of(frame: pd.DataFrame | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The market of a run: ``exchange``/``symbol``/``timeframe`` given in ``fields``, else
    the frame's (``wb.candles`` attaches it); the timeframe defaults to the bar spacing.
    A ValidationError when no symbol is known: never a guess."""
    attached = dict(frame.attrs.get("market") or {}) if frame is not None else {}
    market = {k: fields.get(k, attached.get(k)) for k in ("exchange", "symbol", "timeframe")}
    if market["symbol"] is None:
        why = "the frame has no market attached" if frame is not None else "no candles given"
        raise ValidationError(
            {
                "symbol": f"{why}: pass symbol='ETH/BTC' (and exchange=..., timeframe=...), "
                "a frame from wb.candles(...), or bot=ID"
            },
            entity="backtest",
        )
    if market["timeframe"] is None and frame is not None:
        market["timeframe"] = timeframe_of(frame.index)
    if market["exchange"] is None:
        market["exchange"] = _DEFAULTS_MARKET["exchange"]
    return market
