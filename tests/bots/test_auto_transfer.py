"""auto_transfer_funds: before a futures bot's first entry its transfer_amount moves from the
spot to the futures wallet, once, recorded as an event. Paper exchange (two wallets) and the
fake Binance server through the real ccxt client."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from tests.bots.test_stop import held
from tests.fakes.binance import FakeBinanceServer
from workbench.accounts import local_user
from workbench.bots import create_bot
from workbench.bots.exchanges import exchange_for_bot, tick_bot
from workbench.bots.funding import fund_futures
from workbench.db import session_scope
from workbench.db.models import BotConfig, BotEvent
from workbench.errors import OrderRejectedError, ValidationError
from workbench.market.candles import read_file, upsert_candles
from workbench.market.ccxt_adapter import CcxtExchange
from workbench.market.paper import PaperExchange
from workbench.market.sample import SYNTHETIC_EXCHANGE
from workbench.settings import Settings

SYMBOL = "ETH/BTC:BTC"


def store_candles(engine: Engine, shared_data: Path) -> pd.DataFrame:
    frame = read_file(shared_data / "ETH_BTC-5m.csv").iloc[:400]
    upsert_candles(
        engine=engine, exchange=SYNTHETIC_EXCHANGE, symbol=SYMBOL, timeframe="5m", frame=frame
    )
    return frame


def futures_bot(engine: Engine, **fields: object) -> int:
    with session_scope(engine) as session:
        owner = local_user(session=session)
        given = {
            "name": "funded",
            "exchange": SYNTHETIC_EXCHANGE,
            "symbol": SYMBOL,
            "timeframe": "5m",
            "strategy": "ema_cross",
            "ema_fast": 5,
            "ema_slow": 13,
            "position_type": "futures",
            "leverage": 2,
            "initial_capital": "10",
            "position_size_perc": "50",
            "auto_transfer_funds": True,
            "transfer_amount": "6",
        }
        return create_bot(session=session, user_id=owner.id, **(given | fields)).id


def events(engine: Engine, bot_id: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(BotEvent.decision, BotEvent.reason)
            .where(BotEvent.bot_id == bot_id)
            .order_by(BotEvent.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def paper_of(engine: Engine, bot_id: int) -> PaperExchange:
    with session_scope(engine) as session:
        bot = session.get_one(BotConfig, bot_id)
        book = exchange_for_bot(session=session, engine=engine, bot=bot)
    assert isinstance(book, PaperExchange)
    return book


def test_paper_futures_bot_funds_its_wallet_once_before_the_first_entry(
    settings: Settings, engine: Engine, shared_data: Path
) -> None:
    frame = store_candles(engine, shared_data)
    bot_id = futures_bot(engine)
    moments = iter(frame.index[20:-1])
    for moment in moments:
        tick_bot(bot_id, engine=engine, as_of=moment.to_pydatetime(), inactive=True)
        if held(engine, bot_id) > 0:
            break
    decisions = [d for d, _ in events(engine, bot_id)]
    assert decisions[:2] == ["transfer", "enter"]
    assert "moved 6 BTC from the spot to the futures wallet" in events(engine, bot_id)[0][1]
    book = paper_of(engine, bot_id)
    assert book.wallet_balance("spot")["BTC"].free == Decimal(4)
    futures = book.wallet_balance("futures")["BTC"]
    assert futures.used > 0 and futures.free + futures.used < Decimal(6)  # margin and fee

    # Later ticks (and entries) never transfer again.
    for moment in list(moments)[:150]:
        tick_bot(bot_id, engine=engine, as_of=moment.to_pydatetime(), inactive=True)
    decisions = [d for d, _ in events(engine, bot_id)]
    assert decisions.count("transfer") == 1 and decisions.count("enter") >= 2
    assert book.wallet_balance("spot")["BTC"].free == Decimal(4)


def test_paper_transfer_refused_without_funds(
    settings: Settings, engine: Engine, shared_data: Path
) -> None:
    store_candles(engine, shared_data)
    bot_id = futures_bot(engine, transfer_amount="25")  # more than the 10 in spot
    with session_scope(engine) as session:
        bot = session.get_one(BotConfig, bot_id)
    book = paper_of(engine, bot_id)
    with pytest.raises(OrderRejectedError, match="insufficient BTC in the paper spot wallet"):
        fund_futures(engine, bot, book)
    assert events(engine, bot_id) == []  # nothing moved: nothing recorded, may be tried again
    assert book.wallet_balance("spot")["BTC"].free == Decimal(10)
    with session_scope(engine) as session:
        session.get_one(BotConfig, bot_id).transfer_amount = None
        bot = session.get_one(BotConfig, bot_id)
    with pytest.raises(ValidationError) as err:
        fund_futures(engine, bot, book)
    assert "transfer_amount" in err.value.errors


def test_transfer_through_ccxt_on_the_fake_exchange(
    settings: Settings,
    engine: Engine,
    binance: CcxtExchange,
    binance_server: FakeBinanceServer,
) -> None:
    bot_id = futures_bot(
        engine, exchange="binance", symbol="BTC/USDT:USDT", dry_run=False, transfer_amount="250"
    )
    with session_scope(engine) as session:
        bot = session.get_one(BotConfig, bot_id)
    transfer = fund_futures(engine, bot, binance)
    assert transfer is not None and transfer.amount == Decimal(250)
    state = binance_server.state
    assert state.balances["USDT"] == Decimal(9750)
    assert state.futures_balances["USDT"] == Decimal(250)
    assert [(t["type"], t["asset"]) for t in state.transfers] == [("MAIN_UMFUTURE", "USDT")]
    assert events(engine, bot_id)[0][0] == "transfer"
    assert transfer.id in events(engine, bot_id)[0][1]
    # Done once: a second call sends nothing.
    assert fund_futures(engine, bot, binance) is None
    assert len(state.transfers) == 1 and state.balances["USDT"] == Decimal(9750)
