"""Bot configuration service: create, update through the schema, safe delete."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

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


def test_create_makes_state_and_rejects_duplicate_names(session: Session) -> None:
    owner = local_user(session=session)
    bot = create_bot(session=session, user_id=owner.id, name="one", symbol="BTC/USDT")
    state = session.scalar(sa.select(BotState).where(BotState.bot_config_id == bot.id))
    assert state is not None and state.is_running is False
    with pytest.raises(ConflictError, match="already exists"):
        create_bot(session=session, user_id=owner.id, name="one", symbol="ETH/USDT")


def test_update_validates_the_merged_config(session: Session) -> None:
    owner = local_user(session=session)
    bot = create_bot(session=session, user_id=owner.id, name="u", symbol="BTC/USDT")
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


def test_delete_with_trades_refused_unless_forced_and_trades_kept(session: Session) -> None:
    owner = local_user(session=session)
    bot = create_bot(session=session, user_id=owner.id, name="d", symbol="BTC/USDT")
    for n in range(3):
        add_trade(session, bot.id, owner.id, n)
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


def test_database_refuses_deleting_a_bot_with_trades(session: Session) -> None:
    owner = local_user(session=session)
    bot = create_bot(session=session, user_id=owner.id, name="r", symbol="BTC/USDT")
    add_trade(session, bot.id, owner.id, 9)
    session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(sa.text("delete from bot_configs where id = :id"), {"id": bot.id})
        session.flush()
