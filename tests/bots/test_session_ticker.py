"""The ticks of one session (``SessionTicker``, what a replay runs) record what ticks run one
by one (``run_tick``) record, row for row, however their commits fall."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.accounts import local_user
from workbench.bots import create_bot
from workbench.bots.bars import PrecomputedFeed
from workbench.bots.runner import SessionTicker, TickResult, run_tick
from workbench.db import Base, make_engine, session_scope
from workbench.market.candles import read_file, upsert_candles
from workbench.market.paper import PaperExchange, PaperTerms
from workbench.market.prices import ReplayPrices
from workbench.strategies import get_strategy

BOT = {
    "exchange": "binance",
    "symbol": "ETH/BTC",
    "timeframe": "5m",
    "strategy": "ema_cross",
    "ema_fast": 5,
    "ema_slow": 13,
    "stop_loss_perc": "1",
    "take_profit_perc": "2",
    "max_daily_trades": 4,
    "initial_capital": "10",
}
FEE, SLIPPAGE = 0.001, 0.0005
# The wall clock's, a password's salt, and when the paper account last looked at the market
# (``run_tick`` checks the account every tick, a SessionTicker does not).
NOT_COMPARED = {"created_at", "updated_at", "next_attempt_at", "hashed_password", "synced_at"}


@dataclass
class Market:
    engine: Engine
    bot_id: int
    prices: ReplayPrices
    feed: PrecomputedFeed
    moments: list[pd.Timestamp]


def market(folder: Path, frame: pd.DataFrame) -> Market:
    """A database of its own with ``frame``'s candles and one bot over them."""
    engine = make_engine(f"sqlite:///{folder / 'ticks.db'}")
    Base.metadata.create_all(engine)
    upsert_candles(engine=engine, exchange="binance", symbol="ETH/BTC", timeframe="5m", frame=frame)
    with session_scope(engine) as session:
        bot = create_bot(session=session, user_id=local_user(session=session).id, name="b", **BOT)
        strategy = get_strategy(bot.strategy)
        signals = strategy.signals(frame, **strategy.params_from_config(bot))
        bot_id = bot.id
    prices = ReplayPrices(
        engine=engine,
        exchange="binance",
        timeframe="5m",
        symbols=["ETH/BTC"],
        start=frame.index[0].to_pydatetime(),
    )
    return Market(engine, bot_id, prices, PrecomputedFeed(frame, signals, "5m"), list(frame.index))


def paper(bind: Engine | sa.Connection, prices: ReplayPrices) -> PaperExchange:
    exchange = PaperExchange(
        engine=bind,
        prices=prices,
        account="ticks",
        terms=PaperTerms(fee_rate=Decimal(repr(FEE)), slippage=Decimal(repr(SLIPPAGE))),
        initial_balances={"BTC": Decimal(10)},
    )
    exchange.fetch_balance()  # the account exists before the first tick, as run_tick's check
    return exchange


def tick_one_by_one(m: Market, ticks: int, *, first: int = 1) -> list[TickResult]:
    """Ticks ``first`` to ``first + ticks - 1`` (tick i at the open of bar i)."""
    exchange = paper(m.engine, m.prices)
    results = []
    for moment in m.moments[first : first + ticks]:
        m.prices.advance_to(moment.to_pydatetime())
        results.append(
            run_tick(
                m.bot_id,
                engine=m.engine,
                exchange=exchange,
                fee=FEE,
                slippage=SLIPPAGE,
                clock=m.prices,
                feed=m.feed,
                catch_up_bars=len(m.moments),
            )
        )
    return results


class Interrupted(Exception):
    pass


def tick_in_one_session(
    m: Market, ticks: int, *, commit_ticks: int, interrupt_after: int | None = None
) -> list[TickResult]:
    results = []
    with m.engine.connect() as connection:
        exchange = paper(connection, m.prices)
        with SessionTicker(
            m.bot_id,
            connection=connection,
            exchange=exchange,
            clock=m.prices,
            feed=m.feed,
            fee=FEE,
            slippage=SLIPPAGE,
            catch_up_bars=len(m.moments),
            commit_ticks=commit_ticks,
        ) as ticker:
            for moment in m.moments[1 : ticks + 1]:
                if len(results) == interrupt_after:
                    raise Interrupted
                m.prices.advance_to(moment.to_pydatetime())
                results.append(ticker.tick())
    return results


def stored(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table but the candles, in key order."""
    tables = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.c if c.name not in NOT_COMPARED]
            query = sa.select(*columns).order_by(*table.primary_key.columns)
            tables[table.name] = [tuple(r) for r in conn.execute(query)]
    return tables


@pytest.fixture
def frame(shared_data: Path) -> pd.DataFrame:
    return read_file(shared_data / "ETH_BTC-5m.csv").iloc[:300]


def test_ticks_in_one_session_record_what_ticks_one_by_one_record(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    (tmp_path / "one").mkdir(), (tmp_path / "session").mkdir()
    one, session = market(tmp_path / "one", frame), market(tmp_path / "session", frame)

    expected = tick_one_by_one(one, len(frame) - 1)
    got = tick_in_one_session(session, len(frame) - 1, commit_ticks=7)

    assert sum(r.order is not None for r in expected) >= 6, "too few orders to say anything"
    assert [r.summary() for r in got] == [r.summary() for r in expected]
    rows = stored(session.engine)
    assert len(rows["bot_drift"]) == len(frame) - 1
    assert rows == stored(one.engine)


def test_an_interrupted_session_keeps_whole_ticks_up_to_its_last_commit(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    (tmp_path / "one").mkdir(), (tmp_path / "session").mkdir()
    one, session = market(tmp_path / "one", frame), market(tmp_path / "session", frame)

    with pytest.raises(Interrupted):  # after tick 220; the last commit was after tick 200
        tick_in_one_session(session, len(frame) - 1, commit_ticks=40, interrupt_after=220)
    tick_one_by_one(one, 200)
    committed = stored(one.engine)
    after = tick_one_by_one(one, 20, first=201)

    assert all(r.order is None for r in after), "an order's write-ahead also commits"
    assert stored(session.engine) == committed
