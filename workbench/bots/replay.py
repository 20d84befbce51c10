"""Replay a bot tick by tick over stored candles on the paper exchange, fully offline.

The replay runs the real ``run_tick`` in a scratch database (a copy of the bot and its
candles), so it exercises exactly the code a scheduled bot runs, and leaves the real
bot's state and trades untouched. Its trades come out in the backtest's form.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine
from tqdm.auto import tqdm

from workbench.accounts import local_user
from workbench.backtest.result import TRADE_COLUMNS
from workbench.bots.configs import bot_fields, get_bot
from workbench.bots.runner import TickResult, run_tick
from workbench.cache import EmbeddedCache
from workbench.db import Base, make_engine, session_scope
from workbench.errors import ValidationError
from workbench.market.candles import read_candles, upsert_candles
from workbench.market.paper import PaperExchange, PaperTerms
from workbench.market.prices import ReplayPrices


@dataclass
class ReplayResult:
    ticks: list[TickResult]
    trades: pd.DataFrame  # the backtest's trade columns
    final_balance: Decimal


def replay_bot(
    bot_id: int,
    *,
    engine: Engine,
    start: datetime | None = None,
    end: datetime | None = None,
    fee: float = 0.001,
    slippage: float = 0.0,
    progress: bool = True,
) -> ReplayResult:
    """Tick bot ``bot_id`` once per stored bar in [start, end) on a fresh paper account."""
    with session_scope(engine) as session:
        bot = get_bot(session=session, bot_id=bot_id)
        fields = bot_fields(bot)
        exchange_id, symbol, timeframe = bot.exchange, bot.symbol, bot.timeframe
    candles = read_candles(
        engine=engine,
        exchange=exchange_id,
        symbol=symbol,
        timeframe=timeframe,
        start=start,
        end=end,
    )
    if len(candles) < 2:
        raise ValidationError(
            {
                "candles": f"need at least 2 stored {symbol} {timeframe} bars "
                f"from {exchange_id} to replay, found {len(candles)}"
            },
            entity="replay",
        )
    with tempfile.TemporaryDirectory(prefix="workbench-replay-") as scratch_dir:
        scratch = make_engine(f"sqlite:///{Path(scratch_dir) / 'replay.db'}")
        try:
            return _replay(scratch, Path(scratch_dir), fields, candles, fee, slippage, progress)
        finally:
            scratch.dispose()


def _replay(
    scratch: Engine,
    folder: Path,
    fields: dict[str, object],
    candles: pd.DataFrame,
    fee: float,
    slippage: float,
    progress: bool,
) -> ReplayResult:
    Base.metadata.create_all(scratch)
    symbol, timeframe = str(fields["symbol"]), str(fields["timeframe"])
    exchange_id = str(fields["exchange"])
    upsert_candles(
        engine=scratch, exchange=exchange_id, symbol=symbol, timeframe=timeframe, frame=candles
    )
    with session_scope(scratch) as session:
        from workbench.bots.configs import create_bot

        owner = local_user(session=session)
        bot_id = create_bot(
            session=session, user_id=owner.id, **{**fields, "api_key_id": None, "dry_run": True}
        ).id
    prices = ReplayPrices(
        engine=scratch,
        exchange=exchange_id,
        timeframe=timeframe,
        symbols=[symbol],
        start=candles.index[0].to_pydatetime(),
    )
    quote = symbol.split("/")[1].split(":")[0]
    paper = PaperExchange(
        engine=scratch,
        prices=prices,
        account="replay",
        terms=PaperTerms(fee_rate=Decimal(repr(fee)), slippage=Decimal(repr(slippage))),
        initial_balances={quote: Decimal(str(fields["initial_capital"]))},
    )
    if ":" in symbol:
        paper.set_leverage(symbol, int(str(fields["leverage"])))
    ticks: list[TickResult] = []
    with EmbeddedCache(folder / "cache") as cache:
        for moment in tqdm(
            candles.index[1:], unit="tick", desc=f"replay {symbol}", disable=not progress
        ):
            prices.advance_to(moment.to_pydatetime())
            ticks.append(
                run_tick(
                    bot_id,
                    engine=scratch,
                    exchange=paper,
                    cache=cache,
                    fee=fee,
                    slippage=slippage,
                    history=None,
                )
            )
    balance = paper.fetch_balance()[quote].total
    return ReplayResult(ticks=ticks, trades=trades_from_ticks(ticks), final_balance=balance)


def trades_from_ticks(ticks: list[TickResult]) -> pd.DataFrame:
    """Round trips from the ticks that filled orders, in the backtest's trade columns."""
    rows: list[dict[str, object]] = []
    entry: TickResult | None = None
    for tick in ticks:
        if tick.order is None:
            continue
        if tick.decision == "enter":
            entry = tick
        elif entry is not None and entry.order is not None:
            rows.append(
                {
                    "entry_time": pd.Timestamp(entry.order.timestamp),
                    "exit_time": pd.Timestamp(tick.order.timestamp),
                    "side": "long",
                    "entry_price": float(entry.order.price or 0),
                    "exit_price": float(tick.order.price or 0),
                    "size": float(entry.order.filled),
                    "fees": float(entry.order.fee + tick.order.fee),
                    "pnl": float(
                        tick.order.cost - entry.order.cost - entry.order.fee - tick.order.fee
                    ),
                    "exit_reason": tick.reason,
                }
            )
            entry = None
    if entry is not None and entry.order is not None:
        rows.append(
            {
                "entry_time": pd.Timestamp(entry.order.timestamp),
                "exit_time": pd.NaT,
                "side": "long",
                "entry_price": float(entry.order.price or 0),
                "exit_price": float("nan"),
                "size": float(entry.order.filled),
                "fees": float(entry.order.fee),
                "pnl": float("nan"),
                "exit_reason": "open",
            }
        )
    return pd.DataFrame(rows, columns=TRADE_COLUMNS)
