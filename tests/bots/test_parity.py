"""Parity: a bot replayed tick by tick on the paper exchange makes the backtest's trades."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.accounts import local_user
from workbench.backtest import backtest_config
from workbench.bots import create_bot
from workbench.bots.replay import replay_bot
from workbench.bots.runner import run_tick
from workbench.db import session_scope
from workbench.db.models import Trade
from workbench.market.candles import read_candles, read_file, upsert_candles
from workbench.market.paper import PaperExchange, PaperTerms
from workbench.market.prices import ReplayPrices

RULES = {
    "stop_loss_perc": "1.5",
    "take_profit_perc": "3",
    "max_daily_loss_perc": "4",
    "daily_target_perc": "6",
    "max_daily_trades": 6,
}
CASES: dict[str, dict[str, Any]] = {
    "ema_cross": {"strategy": "ema_cross", "ema_fast": 9, "ema_slow": 21, **RULES},
    "rsi": {
        "strategy": "rsi",
        "rsi_period": 10,
        "rsi_oversold": 30,
        "rsi_overbought": 65,
        "trailing_stop_active": True,
        "trailing_stop_perc": "2",
        **RULES,
    },
    "ema_rsi": {
        "strategy": "ema_rsi",
        "ema_period": 20,
        "rsi_period": 7,
        "rsi_oversold": 40,
        "rsi_overbought": 60,
        **RULES,
    },
    "futures": {
        "strategy": "ema_cross",
        "ema_fast": 5,
        "ema_slow": 13,
        "position_type": "futures",
        "leverage": 5,
        "position_size_perc": "50",
        **RULES,
    },
    "futures_liquidation": {  # 50x: a 1.6% fall takes the margin
        "strategy": "ema_cross",
        "ema_fast": 5,
        "ema_slow": 13,
        "position_type": "futures",
        "leverage": 50,
        "position_size_perc": "50",
    },
}


def load(engine: Engine, shared_data: Path, case: str) -> tuple[str, str]:
    if case.startswith("futures"):
        frame = read_file(shared_data / "XRP_USDT-USDT-5m-futures.csv").iloc[:1200]
        symbol = "XRP/USDT:USDT"
    else:
        frame = read_file(shared_data / "ETH_BTC-5m.csv").iloc[:1500]
        symbol = "ETH/BTC"
    upsert_candles(engine=engine, exchange="binance", symbol=symbol, timeframe="5m", frame=frame)
    return "binance", symbol


@pytest.mark.parametrize("case", sorted(CASES))
def test_replay_makes_the_backtest_trades(engine: Engine, shared_data: Path, case: str) -> None:
    exchange, symbol = load(engine, shared_data, case)
    with session_scope(engine) as session:
        owner = local_user(session=session)
        bot = create_bot(
            session=session,
            user_id=owner.id,
            name=case,
            exchange=exchange,
            symbol=symbol,
            timeframe="5m",
            initial_capital="1000",
            **CASES[case],
        )
        candles = read_candles(engine=engine, exchange=exchange, symbol=symbol, timeframe="5m")
        backtest = backtest_config(candles, bot, fee=0.001, slippage=0.0005)
        bot_id = bot.id
    replay = replay_bot(bot_id, engine=engine, fee=0.001, slippage=0.0005, progress=False)

    expected, got = backtest.trades, replay.trades
    assert len(expected) >= 8, "too few trades to say anything"
    if case == "futures_liquidation":
        assert "liquidation" in expected["exit_reason"].tolist()
    pd.testing.assert_series_equal(got["entry_time"], expected["entry_time"])
    pd.testing.assert_series_equal(got["exit_time"], expected["exit_time"])
    assert got["exit_reason"].tolist() == expected["exit_reason"].tolist()
    for column in ("entry_price", "exit_price", "size", "pnl", "fees"):
        pd.testing.assert_series_equal(got[column], expected[column], rtol=1e-6, check_exact=False)
    # Both marked to market at the last close, an open position included.
    assert float(replay.final_value) == pytest.approx(float(backtest.equity.iloc[-1]), rel=1e-6)


def test_a_live_tick_records_a_liquidation_with_its_price_and_loss(
    engine: Engine, shared_data: Path
) -> None:
    exchange, symbol = load(engine, shared_data, "futures_liquidation")
    with session_scope(engine) as session:
        bot = create_bot(
            session=session,
            user_id=local_user(session=session).id,
            name="liquidated",
            exchange=exchange,
            symbol=symbol,
            timeframe="5m",
            initial_capital="1000",
            **CASES["futures_liquidation"],
        )
        candles = read_candles(engine=engine, exchange=exchange, symbol=symbol, timeframe="5m")
        backtest = backtest_config(candles, bot, fee=0.001, slippage=0.0005)
        bot_id = bot.id
    liquidated = backtest.trades[backtest.trades["exit_reason"] == "liquidation"].iloc[0]
    prices = ReplayPrices(
        engine=engine,
        exchange=exchange,
        timeframe="5m",
        symbols=[symbol],
        start=candles.index[0].to_pydatetime(),
    )
    paper = PaperExchange(
        engine=engine,
        prices=prices,
        account="live-like",
        terms=PaperTerms(fee_rate=Decimal("0.001"), slippage=Decimal("0.0005")),
        initial_balances={"USDT": Decimal(1000)},
    )
    paper.set_leverage(symbol, 50)
    for moment in candles.index[1:]:
        prices.advance_to(moment.to_pydatetime())
        run_tick(bot_id, engine=engine, exchange=paper, fee=0.001, slippage=0.0005, history=None)
        with session_scope(engine) as session:
            trade = session.scalar(sa.select(Trade).where(Trade.order_type == "liquidation"))
            if trade is not None:
                break
    assert trade is not None
    assert float(trade.price) == pytest.approx(liquidated["exit_price"], rel=1e-9)
    assert float(trade.quantity_filled) == pytest.approx(liquidated["size"], rel=1e-6)
    assert float(trade.quote_quantity_filled) == pytest.approx(
        liquidated["size"] * liquidated["exit_price"], rel=1e-6
    )
    assert float(trade.realized_pnl) == pytest.approx(liquidated["pnl"], rel=1e-6)
    assert trade.realized_pnl < 0
