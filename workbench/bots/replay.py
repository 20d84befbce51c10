"""Replay a bot tick by tick over stored candles on the paper exchange, fully offline.

The replay runs the real ``run_tick`` in a scratch database (a copy of the bot and its
candles), so it exercises exactly the code a scheduled bot runs, and leaves the real
bot's state and trades untouched. Its trades come out in the backtest's form.

Each tick runs on the replayed clock (the prices' moment) and reads its bars from a feed
that computed the strategy's signals once over the replay's candles: a strategy is a pure
function of closed candles (look-ahead is checked when a bot is activated), so the signal
of each bar is the one a tick computing over the bars closed so far would get, without
the cost of recomputing the whole history on every tick.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.accounts.users import LOCAL_USER_EMAIL
from workbench.backtest.result import TRADE_COLUMNS, rules_summary
from workbench.bots import strategy_guard
from workbench.bots.bars import PrecomputedFeed
from workbench.bots.configs import bot_fields, get_bot
from workbench.bots.runner import SessionTicker, TickResult
from workbench.db import Base, make_engine, session_scope
from workbench.db.models import User
from workbench.errors import ValidationError
from workbench.market.candles import read_candles, upsert_candles
from workbench.market.names import base_currency, quote_currency
from workbench.market.paper import PaperExchange, PaperTerms
from workbench.market.prices import ReplayPrices
from workbench.progress import progress_bar
from workbench.rules.params import RuleParams
from workbench.strategies import get_strategy
from workbench.types import DEFAULT_FEE


@dataclass
class ReplayResult:
    ticks: list[TickResult]
    trades: pd.DataFrame  # the backtest's trade columns
    final_balance: Decimal  # the quote cash left
    final_value: Decimal  # marked to market at the last bar's close, as a backtest's
    rules: dict[str, Any]  # the rules it ran under, as a backtest's stats list them

    def stats(self) -> dict[str, object]:
        """The trade statistics of the replay, defined as for a backtest."""
        from workbench.analytics import trade_stats

        return {"final_value": self.final_value, **trade_stats(self.trades), "rules": self.rules}


def replay_bot(
    bot_id: int,
    *,
    engine: Engine,
    start: datetime | None = None,
    end: datetime | None = None,
    fee: float = DEFAULT_FEE,
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
        # A scratch file thrown away at the end: no fsync.
        sa.event.listen(scratch, "connect", _scratch_pragmas)
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

        # The scratch database's owner: no password (nobody logs in to it), no hashing cost.
        owner = User(email=LOCAL_USER_EMAIL, hashed_password="!")
        session.add(owner)
        session.flush()
        bot = create_bot(
            session=session, user_id=owner.id, **{**fields, "api_key_id": None, "dry_run": True}
        )
        bot_id = bot.id
    strategy_guard.refuse_changed_code(scratch, bot_id)  # once: the signals are computed once
    with session_scope(scratch) as session:
        bot = get_bot(session=session, bot_id=bot_id)
        strategy = get_strategy(bot.strategy)
        feed = PrecomputedFeed(
            candles, strategy.signals(candles, **strategy.params_from_config(bot)), timeframe
        )
    prices = ReplayPrices(
        engine=scratch,
        exchange=exchange_id,
        timeframe=timeframe,
        symbols=[symbol],
        start=candles.index[0].to_pydatetime(),
    )
    quote = quote_currency(symbol)
    # One connection for the ticks and the paper exchange (see SessionTicker).
    with scratch.connect() as connection:
        paper = PaperExchange(
            engine=connection,
            prices=prices,
            account="replay",
            terms=PaperTerms(fee_rate=Decimal(repr(fee)), slippage=Decimal(repr(slippage))),
            initial_balances={quote: Decimal(str(fields["initial_capital"]))},
        )
        if ":" in symbol:
            paper.set_leverage(symbol, int(str(fields["leverage"])))
        ticks: list[TickResult] = []
        with SessionTicker(
            bot_id,
            connection=connection,
            exchange=paper,
            clock=prices,
            feed=feed,
            fee=fee,
            slippage=slippage,
            catch_up_bars=len(candles),
        ) as ticker:
            for moment in progress_bar(
                candles.index[1:], unit="tick", desc=f"replay {symbol}", disable=not progress
            ):
                prices.advance_to(moment.to_pydatetime())
                ticks.append(ticker.tick())
        balance = paper.fetch_balance()[quote].total
        last_close = Decimal(repr(float(candles["close"].iloc[-1])))
        final_value = _marked_value(paper, symbol, balance, last_close)
    return ReplayResult(
        ticks=ticks,
        trades=trades_from_ticks(ticks),
        final_balance=balance,
        final_value=final_value,
        rules=rules_summary(
            RuleParams.from_config(SimpleNamespace(**fields), fee=fee, slippage=slippage)
        ),
    )


def _scratch_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA synchronous=OFF")  # WAL stays: a second connection may read meanwhile
    cur.close()


def _marked_value(paper: PaperExchange, symbol: str, cash: Decimal, close: Decimal) -> Decimal:
    """The account's value at ``close``: cash (with any futures margin) plus what is held,
    the engine's ``equity``."""
    if ":" in symbol:
        position = paper.fetch_position(symbol)
        if position is None:
            return cash
        return cash + position.quantity * (close - position.entry_price)
    base = base_currency(symbol)
    held = paper.fetch_balance().get(base)
    return cash + (held.total * close if held is not None else Decimal(0))


def trades_from_ticks(ticks: list[TickResult]) -> pd.DataFrame:
    """Round trips from the ticks that filled orders, in the backtest's trade columns."""
    rows: list[dict[str, object]] = []
    entry: TickResult | None = None
    for tick in ticks:
        if tick.liquidation is not None and entry is not None and entry.order is not None:
            rows.append(
                {
                    "entry_time": pd.Timestamp(entry.order.timestamp),
                    "exit_time": pd.Timestamp(tick.liquidation.timestamp),
                    "side": "long",
                    "entry_price": float(entry.order.price or 0),
                    "exit_price": float(tick.liquidation.price or 0),
                    "size": float(entry.order.filled),
                    "fees": float(entry.order.fee),
                    "pnl": float(tick.liquidation_pnl or 0.0),
                    "exit_reason": "liquidation",
                }
            )
            entry = None
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
