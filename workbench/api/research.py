"""Research: strategies and their signals, backtests, sweeps, saved backtests.

``run_backtest`` and ``run_sweep`` take any bot config field; the market of a run is the
frame's (``wb.candles`` attaches it), the bot's (``bot=ID``) or given (``symbol=...``),
never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go
import sqlalchemy as sa

from workbench.api._common import query_frame
from workbench.api.data import candles, plot_candles
from workbench.db import default_engine, session_scope
from workbench.errors import ValidationError
from workbench.types import DEFAULT_FEE

if TYPE_CHECKING:
    from workbench.backtest import BacktestResult
    from workbench.schemas.bots import BotConfigCreate
    from workbench.strategies import Signals
    from workbench.strategies.base import Strategy
    from workbench.strategies.check import CheckReport


def signals(
    frame: pd.DataFrame, strategy: str | Strategy = "ema_cross", **params: Any
) -> pd.DataFrame:
    """A strategy's indicators with its entry and exit flags, per bar."""
    from workbench.strategies import get_strategy

    chosen = get_strategy(strategy)
    return chosen.signals(frame, **chosen.validate(params)).frame()


def plot_signals(
    frame: pd.DataFrame, signals: Signals | pd.DataFrame, *, bars: int | None = 400
) -> go.Figure:
    """Candles with a strategy's indicator lines and its entries (green) and exits (red):
    ``signals`` is what ``donchian(frame, ...)`` or ``wb.signals(...)`` returns."""
    shown = signals if isinstance(signals, pd.DataFrame) else signals.frame()
    if bars is not None:
        frame, shown = frame.tail(bars), shown.tail(bars)
    fig = plot_candles(frame)
    flags = {"entries", "exits", "short_entries", "short_exits"}
    for column in shown.columns:
        if column not in flags and column != "rsi":
            fig.add_scatter(x=shown.index, y=shown[column], name=str(column), mode="lines")
    for column, color, symbol in (("entries", "green", "triangle-up"), ("exits", "red", "x")):
        if column in shown.columns:
            hits = shown.index[shown[column].astype(bool)]
            fig.add_scatter(
                x=hits,
                y=frame.loc[hits, "close"],
                mode="markers",
                name=column,
                marker={"color": color, "symbol": symbol, "size": 9},
            )
    return fig


def list_strategies() -> pd.DataFrame:
    """Every strategy: built-ins, strategy files and this kernel's ``@wb.strategy``
    definitions, with parameters (bounds), source and code fingerprint."""
    from workbench.strategies import all_strategies

    rows = [
        {
            "name": s.name,
            "parameters": ", ".join(f"{p.name}={p.default} [{p.bounds_text()}]" for p in s.params),
            "source": s.where,
            "fingerprint": s.fingerprint,
            "description": s.description,
        }
        for s in all_strategies().values()
    ]
    return pd.DataFrame(rows)


def check_strategy(
    strategy: str | Strategy,
    frame: pd.DataFrame | None = None,
    *,
    exchange: str | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    **params: Any,
) -> CheckReport:
    """The look-ahead check and warm-up measure of ``strategy`` with ``params`` on
    ``frame`` (or the stored candles of the market named by ``symbol=``...). ``.passed``,
    ``.summary()``, ``.look_ahead`` (the first differing bar and series), ``.warmup``."""
    from workbench.strategies.check import check_strategy as check

    if frame is None:
        if symbol is None:
            raise ValidationError(
                {"frame": "no candles given: pass a frame (wb.candles(...)) or symbol=..."},
                entity="strategy check",
            )
        frame = candles(symbol, timeframe, exchange=exchange)
    return check(strategy, frame, params)


def save_strategy(strategy: Strategy, *, overwrite: bool = True) -> str:
    """Write a strategy defined in this notebook to ``$WORKBENCH_HOME/strategies/`` so
    bots, jobs and the CLI can use it; returns the file's path."""
    from workbench.strategies import save_strategy as save

    return str(save(strategy, overwrite=overwrite))


def run_backtest(
    frame: pd.DataFrame | None = None,
    *,
    bot: int | None = None,
    strategy: str | Strategy = "ema_cross",
    fee: float = DEFAULT_FEE,
    slippage: float = 0.0,
    **fields: Any,
) -> BacktestResult:
    """Backtest a bot (``bot=ID``, its fields overridden by any given) or a strategy (a name
    or a Strategy) with any bot config fields (``ema_fast=9, stop_loss_perc=2,
    max_daily_loss_perc=5, ...``) over ``frame`` (``wb.candles(...)``, or any frame with
    open/high/low/close on a UTC index or with a ``timestamp`` column; default: the stored
    candles of the bot's market). A frame without a market needs ``symbol=`` (and
    ``exchange=``, ``timeframe=``). See ``result.stats()``, ``result.trades``,
    ``result.figure()``."""
    from workbench.backtest import backtest_config

    frame = None if frame is None else _candle_frame(frame)
    config, chosen, own = _run_config(frame, bot, strategy, fields)
    return backtest_config(
        _frame_of(frame, config), config, fee=fee, slippage=slippage, strategy=chosen, params=own
    )


def run_sweep(
    frame: pd.DataFrame | None = None,
    *,
    bot: int | None = None,
    strategy: str | Strategy = "ema_cross",
    fee: float = DEFAULT_FEE,
    slippage: float = 0.0,
    progress: bool = True,
    **fields: Any,
) -> pd.DataFrame:
    """Backtest every combination of the parameter ranges
    (``ema_fast=range(5, 30), ema_slow=range(20, 80, 5)``) under the other bot config
    fields given (``stop_loss_perc=2, max_daily_trades=20, ...``) and the bot's
    (``bot=ID``), exactly as :func:`run_backtest` would run each; best total return first.
    ``table.attrs["rules"]`` lists the rules every row ran under."""
    from workbench.backtest import sweep_config

    ranges = {k: v for k, v in fields.items() if _is_range(v)}
    fixed = {k: v for k, v in fields.items() if k not in ranges}
    frame = None if frame is None else _candle_frame(frame)
    config, chosen, own = _run_config(frame, bot, strategy, fixed)
    return sweep_config(
        _frame_of(frame, config),
        config,
        ranges,
        fee=fee,
        slippage=slippage,
        strategy=chosen,
        params=own or None,
        progress=progress,
    )


def plot_heatmap(table: pd.DataFrame, x: str, y: str, value: str = "total_return") -> go.Figure:
    """A sweep's ``value`` over two of its parameters."""
    from workbench.backtest import sweep_heatmap

    return sweep_heatmap(table, x, y, value)


def save_backtest(result: BacktestResult, name: str, frame: pd.DataFrame | None = None) -> int:
    """Save a backtest under ``name`` and the market it ran on (``frame``'s, else the
    result's; never a guessed one); returns its id (see :func:`list_backtests`)."""
    from workbench.accounts import local_user
    from workbench.backtest import save_backtest as save

    attached = (frame.attrs.get("market") if frame is not None else None) or result.market
    if not attached:
        raise ValidationError(
            {
                "market": "unknown for this backtest: pass the frame from wb.candles(...), or "
                "run wb.run_backtest(frame, symbol=..., exchange=..., timeframe=...) first"
            },
            entity="backtest",
        )
    with session_scope(default_engine()) as session:
        row = save(
            session=session,
            result=result,
            user_id=local_user(session=session).id,
            name=name,
            exchange=str(attached["exchange"]),
            symbol=str(attached["symbol"]),
            timeframe=str(attached["timeframe"]),
        )
        return row.id


def list_backtests() -> pd.DataFrame:
    """Saved backtests, newest first."""
    from workbench.db.models import Backtest

    columns = ["id", "name", "strategy", "symbol", "timeframe", "start_date", "end_date"]
    columns += ["final_value", "total_return", "max_drawdown", "total_trades"]
    query = sa.select(*(getattr(Backtest, c) for c in columns)).order_by(Backtest.id.desc())
    return query_frame(query)


def compare_backtests(*ids: int) -> pd.DataFrame:
    """Saved backtests side by side (one column each)."""
    from workbench.backtest import compare_backtests as compare

    with session_scope(default_engine()) as session:
        return compare(session=session, ids=list(ids))


# -- helpers ----------------------------------------------------------------------------


def _run_config(
    frame: pd.DataFrame | None,
    bot: int | None,
    strategy: str | Strategy,
    fields: Mapping[str, Any],
) -> tuple[BotConfigCreate, Strategy, dict[str, Any]]:
    """(the bot config a run uses, its strategy, strategy parameters that are no config
    field): the bot's fields (``bot=ID``) or a free config on the frame's market, with
    ``fields`` over them, validated like any bot config. Never a guessed market."""
    from workbench.backtest.configs import free_config, market_of, split_fields, with_fields
    from workbench.bots import get_bot
    from workbench.strategies import get_strategy

    if bot is not None:
        with session_scope(default_engine()) as session:
            row = get_bot(session=session, bot_id=bot)
            chosen = get_strategy(row.strategy)
            config_fields, own = split_fields(chosen, fields)
            return with_fields(row, config_fields), chosen, own
    chosen = get_strategy(strategy)
    config_fields, own = split_fields(chosen, fields)
    market = market_of(frame, config_fields)
    rest = {k: v for k, v in config_fields.items() if k not in market}
    return free_config(**market, strategy=chosen.name, fields=rest), chosen, own


def _candle_frame(frame: pd.DataFrame) -> pd.DataFrame:
    from workbench.backtest.frames import candle_frame

    return candle_frame(frame)


def _frame_of(frame: pd.DataFrame | None, config: BotConfigCreate) -> pd.DataFrame:
    """``frame``, else the stored candles of ``config``'s market."""
    if frame is not None:
        return frame
    return candles(config.symbol, config.timeframe, exchange=config.exchange)


def _is_range(value: object) -> bool:
    return isinstance(value, Iterable) and not isinstance(value, str | bytes | dict)
