"""Bot configuration service: create, update through the schema, safe delete."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import MakeBot
from workbench.accounts import local_user
from workbench.bots import create_bot, delete_bot, get_bot, list_bots, update_bot
from workbench.db.models import BotState, Side, Trade
from workbench.errors import ConflictError, NotFoundError, ValidationError


def add_trade(session: Session, bot_id: int, user_id: int, n: int) -> None:
    session.add(
        Trade(
            bot_config_id=bot_id,
            user_id=user_id,
            exchange="paper",
            exchange_order_id=str(n),
            client_order_id=f"c{n}",
            symbol="BTC/USDT",
            side=Side.BUY,
            order_type="market",
            price=Decimal(100),
            quantity_filled=Decimal(1),
            quote_quantity_filled=Decimal(100),
            timestamp=datetime.now(UTC),
        )
    )


def test_create_makes_state_and_rejects_duplicate_names(
    session: Session, make_bot: MakeBot
) -> None:
    bot = make_bot(name="one", symbol="BTC/USDT")
    state = session.scalar(sa.select(BotState).where(BotState.bot_config_id == bot.id))
    assert state is not None and state.is_running is False
    with pytest.raises(ConflictError, match="already exists"):
        make_bot(name="one", symbol="ETH/USDT")


def test_update_validates_the_merged_config(session: Session, make_bot: MakeBot) -> None:
    bot = make_bot(name="u", symbol="BTC/USDT")
    update_bot(session=session, bot_id=bot.id, ema_fast=5, stop_loss_perc="1.5")
    assert (bot.ema_fast, bot.stop_loss_perc) == (5, Decimal("1.5"))
    # ema_slow=4 alone is valid as a number, but not against the stored ema_fast=5.
    with pytest.raises(ValidationError) as err:
        update_bot(session=session, bot_id=bot.id, ema_slow=4)
    assert "ema_fast" in err.value.errors
    with pytest.raises(ValidationError) as err:
        update_bot(session=session, bot_id=bot.id, not_a_field=1)
    assert "not_a_field" in err.value.errors
    assert get_bot(session=session, bot_id=bot.id).ema_slow == 26
    # Switching to a fixed size clears the percent in the same update.
    update_bot(session=session, bot_id=bot.id, position_size_fixed="50", position_size_perc=None)
    assert (bot.position_size_fixed, bot.position_size_perc) == (Decimal(50), None)


def test_delete_with_trades_refused_unless_forced_and_trades_kept(
    session: Session, make_bot: MakeBot
) -> None:
    bot = make_bot(name="d", symbol="BTC/USDT")
    for n in range(3):
        add_trade(session, bot.id, bot.user_id, n)
    session.commit()
    with pytest.raises(ConflictError, match="has 3 trades"):
        delete_bot(session=session, bot_id=bot.id)
    assert list_bots(session=session) == [bot]
    assert delete_bot(session=session, bot_id=bot.id, force=True) == 3
    session.commit()
    assert list_bots(session=session) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(Trade)) == 3
    assert session.scalar(sa.select(sa.func.count()).select_from(BotState)) == 0
    with pytest.raises(NotFoundError):
        get_bot(session=session, bot_id=bot.id)


def test_database_refuses_deleting_a_bot_with_trades(session: Session, make_bot: MakeBot) -> None:
    bot = make_bot(name="r", symbol="BTC/USDT")
    add_trade(session, bot.id, bot.user_id, 9)
    session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(sa.text("delete from bot_configs where id = :id"), {"id": bot.id})
        session.flush()


# -- one validation path (issue 14) and strategy parameters (issue 10) -------------------

MARKET = {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "5m"}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"strategy": "nosuch"}, "strategy", "unknown strategy 'nosuch'; known: ema_cross"),
        ({"timeframe": "1M"}, "timeframe", "'1M' is not a timeframe; use e.g. 1m"),
        ({"timeframe": "99999999999999999999m"}, "timeframe", "is not a timeframe"),
        ({"exchange": "nosuchex"}, "exchange", "'nosuchex' is not an exchange id"),
        ({"exchange": "paper"}, "exchange", "the paper exchange is chosen by dry_run"),
        ({"symbol": "BTC USDT"}, "symbol", "must be like BTC/USDT"),
        ({"position_type": "futures", "leverage": 5}, "symbol", "needs a futures symbol"),
        ({"symbol": "BTC/USDT:USDT"}, "position_type", "use position_type=futures"),
        ({"name": "evil\x1b[31mred"}, "name", "must not contain control characters"),
        ({"name": "two\nlines"}, "name", "must not contain control characters"),
        ({"window": 3}, "window", "neither a bot config field nor a parameter of ema_cross"),
        ({"max_daily_trades": 0}, "max_daily_trades", "must be at least 1, got 0"),
        ({"custom_stop_loss": "101"}, "custom_stop_loss", "must be at most 100"),
    ],
)
def test_create_refuses_in_the_users_words(
    session: Session, fields: dict[str, object], field: str, message: str
) -> None:
    owner = local_user(session=session)
    with pytest.raises(ValidationError) as err:
        create_bot(session=session, user_id=owner.id, **({"name": "v", **MARKET} | fields))
    assert message in err.value.errors[field], err.value.errors
    assert "\n" not in str(err.value) and "\x1b" not in str(err.value)
    assert list_bots(session=session) == []


def test_set_goes_through_the_same_schema(session: Session, make_bot: MakeBot) -> None:
    bot = make_bot(name="s", **MARKET)
    for change, field in (
        ({"strategy": "nosuch"}, "strategy"),
        ({"timeframe": "1M"}, "timeframe"),
        ({"name": "a\tb"}, "name"),
    ):
        with pytest.raises(ValidationError) as err:
            update_bot(session=session, bot_id=bot.id, **change)
        assert field in err.value.errors
    assert (bot.strategy, bot.timeframe, bot.name) == ("ema_cross", "5m", "s")


def test_defaults_make_a_bot_that_can_tick(make_bot: MakeBot) -> None:
    from workbench.schemas import BotConfigCreate

    assert BotConfigCreate(name="d", symbol="BTC/USDT").exchange == "binance"
    bot = make_bot(name="d", symbol="btc/usdt", exchange="Binance")
    assert (bot.exchange, bot.symbol) == ("binance", "BTC/USDT")


def test_strategy_parameters_are_stored_validated_by_the_declaration(
    session: Session, make_bot: MakeBot
) -> None:
    import workbench as wb

    @wb.strategy(params={"lookback": wb.Int(20, low=5, high=500), "tilt": wb.Float(0.5)})
    def config_test_strategy(candles, lookback, tilt):
        return wb.Signals(entries=candles.close > 0, exits=candles.close < 0)

    bot = make_bot(name="u", **MARKET, strategy="config_test_strategy", lookback="30")
    assert bot.strategy_params == {"lookback": 30}
    update_bot(session=session, bot_id=bot.id, tilt=0.25)
    assert bot.strategy_params == {"lookback": 30, "tilt": 0.25}
    with pytest.raises(ValidationError) as err:
        update_bot(session=session, bot_id=bot.id, lookback=1)
    assert err.value.errors == {"lookback": "must be between 5 and 500, got 1"}
    with pytest.raises(ValidationError) as err:
        update_bot(session=session, bot_id=bot.id, nosuch=1)
    assert "parameter of config_test_strategy (its parameters: lookback, tilt)" in str(err.value)
    assert bot.strategy_params == {"lookback": 30, "tilt": 0.25}
    update_bot(session=session, bot_id=bot.id, strategy="rsi")  # its parameters go with it
    assert bot.strategy_params == {}


def hold_position(session: Session, bot_id: int, quantity: float) -> None:
    state = session.scalar(sa.select(BotState).where(BotState.bot_config_id == bot_id))
    assert state is not None
    engine = [0.0] * 14
    engine[1] = quantity
    state.state_data = {"engine": engine}
    session.flush()


def test_a_held_position_pins_the_market_and_guards_delete(
    session: Session, make_bot: MakeBot
) -> None:
    bot = make_bot(name="h", **MARKET)
    hold_position(session, bot.id, 0.5)
    for change in ({"symbol": "ETH/USDT"}, {"initial_capital": "50"}, {"exchange": "kraken"}):
        with pytest.raises(ConflictError, match=r"holds an open position of 0\.5 BTC/USDT"):
            update_bot(session=session, bot_id=bot.id, **change)
    assert bot.symbol == "BTC/USDT"
    update_bot(session=session, bot_id=bot.id, stop_loss_perc="3")  # risk fields may change
    with pytest.raises(ConflictError, match="--abandon-position"):
        delete_bot(session=session, bot_id=bot.id)
    assert list_bots(session=session) == [bot]
    delete_bot(session=session, bot_id=bot.id, abandon_position=True)
    assert list_bots(session=session) == []
    flat = make_bot(name="f", **MARKET)
    hold_position(session, flat.id, 0.0)
    update_bot(session=session, bot_id=flat.id, symbol="ETH/USDT")
    assert flat.symbol == "ETH/USDT"
