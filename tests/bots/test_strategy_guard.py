"""A bot on a user strategy: the tick reads the strategy's warm-up (3,000 bars here) and
decides as the backtest does; changed strategy code is refused until re-activated."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from tests.conftest import MakeBot
from tests.strategies.user_files import DONCHIAN, SLOW_MEAN, drop
from workbench.bots.configs import activate_bot
from workbench.bots.runner import HISTORY_BARS, run_tick
from workbench.bots.strategy_guard import StrategyChangedError, history_bars
from workbench.db import session_scope
from workbench.db.models import BotEvent
from workbench.market.candles import read_file, upsert_candles
from workbench.market.paper import PaperExchange, PaperTerms
from workbench.market.prices import ReplayPrices
from workbench.strategies import get_strategy


@pytest.fixture(autouse=True)
def no_strategy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKBENCH_STRATEGY_PATH", raising=False)


def paper(engine: Engine, start: object) -> tuple[ReplayPrices, PaperExchange]:
    prices = ReplayPrices(
        engine=engine, exchange="binance", timeframe="5m", symbols=["ETH/BTC"], start=start
    )
    book = PaperExchange(
        engine=engine,
        prices=prices,
        account="guard",
        terms=PaperTerms(fee_rate=Decimal("0.001")),
        initial_balances={"BTC": Decimal(10)},
    )
    return prices, book


def test_a_3000_bar_strategy_ticks_on_3000_bars_and_decides_as_the_backtest(
    home: Path, engine: Engine, make_bot: MakeBot, shared_data: Path, tmp_path: Path
) -> None:
    drop(home, "slow_mean", SLOW_MEAN)
    frame = read_file(shared_data / "ETH_BTC-5m.csv")
    upsert_candles(engine=engine, exchange="binance", symbol="ETH/BTC", timeframe="5m", frame=frame)
    bot = make_bot(
        name="slow",
        symbol="ETH/BTC",
        strategy="slow_mean",
        initial_capital="10",
        max_daily_trades=10_000,  # every signal trades
        is_active=True,
    )
    assert bot.strategy_warmup is not None and 2_900 <= bot.strategy_warmup < 3_200
    reads = history_bars(bot, HISTORY_BARS)
    bot_id = bot.id
    assert reads >= 3_000 > HISTORY_BARS

    expected = get_strategy("slow_mean").signals(frame)
    first = 3_300
    prices, book = paper(engine, frame.index[first].to_pydatetime())
    held, decided, wanted = False, [], []
    for moment in frame.index[first + 1 : first + 400]:
        prices.advance_to(moment.to_pydatetime())
        result = run_tick(bot_id, engine=engine, exchange=book)
        bar = result.bar_time
        # The tick saw >= 3,000 bars: its 3,000-bar mean exists and is the backtest's.
        assert not math.isnan(result.indicators["mean"])
        assert result.indicators["mean"] == pytest.approx(
            expected.indicators["mean"][bar], rel=1e-9
        )
        if result.decision in ("enter", "exit"):
            decided.append((bar, result.decision))
        if not held and expected.entries[bar]:
            wanted.append((bar, "enter"))
            held = True
        elif held and expected.exits[bar]:
            wanted.append((bar, "exit"))
            held = False
    assert len(wanted) >= 2 and decided == wanted


def test_changed_code_is_refused_until_activated_again(
    home: Path, engine: Engine, make_bot: MakeBot, shared_data: Path, tmp_path: Path
) -> None:
    path = drop(home, "donchian", DONCHIAN)
    frame = read_file(shared_data / "ETH_BTC-5m.csv").iloc[:1200]
    upsert_candles(engine=engine, exchange="binance", symbol="ETH/BTC", timeframe="5m", frame=frame)
    bot = make_bot(
        name="dc", symbol="ETH/BTC", strategy="donchian", window=30, initial_capital="10",
        is_active=True,
    )  # fmt: skip
    bot_id, activated = bot.id, bot.strategy_fingerprint
    prices, book = paper(engine, frame.index[1000].to_pydatetime())
    prices.advance_to(frame.index[1001].to_pydatetime())
    assert run_tick(bot_id, engine=engine, exchange=book).decision != "wait"

    path.write_text(path.read_text().replace("rolling(exit_window)", "rolling(exit_window + 1)"))
    assert get_strategy("donchian").fingerprint != activated
    prices.advance_to(frame.index[1002].to_pydatetime())
    with pytest.raises(StrategyChangedError, match=f"workbench bot activate {bot_id}"):
        run_tick(bot_id, engine=engine, exchange=book)
    with engine.connect() as conn:
        events = conn.execute(sa.select(BotEvent.decision, BotEvent.reason)).all()
    assert [e.decision for e in events] == ["refused"] and "code changed" in events[0].reason

    with session_scope(engine) as session:
        assert "no look-ahead" in activate_bot(session=session, bot_id=bot_id)
    result = run_tick(bot_id, engine=engine, exchange=book)
    assert result.decision in ("enter", "exit", "hold")
