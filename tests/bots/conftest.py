"""A bot over replayed real candles on the paper exchange, for runner tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from workbench.accounts import local_user
from workbench.bots import create_bot
from workbench.db import session_scope
from workbench.market.candles import read_file, upsert_candles
from workbench.market.paper import PaperExchange, PaperTerms
from workbench.market.prices import ReplayPrices


@dataclass
class Setup:
    engine: Engine
    bot_id: int
    prices: ReplayPrices
    paper: PaperExchange
    times: list


def make_setup(
    engine: Engine, shared_data: Path, *, bars: int = 400, account: str = "bot"
) -> Setup:
    frame = read_file(shared_data / "ETH_BTC-5m.csv").iloc[:bars]
    upsert_candles(engine=engine, exchange="binance", symbol="ETH/BTC", timeframe="5m", frame=frame)
    with session_scope(engine) as session:
        owner = local_user(session=session)
        bot = create_bot(
            session=session,
            user_id=owner.id,
            name=f"t-{account}",
            exchange="binance",
            symbol="ETH/BTC",
            timeframe="5m",
            strategy="ema_cross",
            ema_fast=5,
            ema_slow=13,
            stop_loss_perc="1",
            initial_capital="10",
        )
        bot_id = bot.id
    prices = ReplayPrices(
        engine=engine,
        exchange="binance",
        timeframe="5m",
        symbols=["ETH/BTC"],
        start=frame.index[0].to_pydatetime(),
    )
    paper = PaperExchange(
        engine=engine,
        prices=prices,
        account=account,
        terms=PaperTerms(fee_rate=Decimal("0.001")),
        initial_balances={"BTC": Decimal(10)},
    )
    return Setup(engine, bot_id, prices, paper, [t.to_pydatetime() for t in frame.index])


@pytest.fixture
def setup(engine: Engine, shared_data: Path) -> Setup:
    return make_setup(engine, shared_data)
