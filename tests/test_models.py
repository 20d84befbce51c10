"""Models against real SQLite and PostgreSQL: types, defaults and database-enforced rules."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import MakeBot
from workbench.accounts import local_user
from workbench.db.models import BotConfig, Side, Trade


def test_money_is_decimal_and_timestamps_are_aware_utc(session: Session, make_bot: MakeBot) -> None:
    bot = make_bot(name="b", symbol="BTC/USDT", initial_capital="1234.56")
    session.expire_all()
    bot = session.get(BotConfig, bot.id)
    assert bot is not None
    assert bot.initial_capital == Decimal("1234.56")
    assert isinstance(bot.initial_capital, Decimal)
    assert bot.created_at.tzinfo is not None
    assert abs((datetime.now(UTC) - bot.created_at).total_seconds()) < 120


def test_trade_order_ids_unique_per_exchange(session: Session) -> None:
    user = local_user(session=session)
    common = dict(
        user_id=user.id,
        symbol="BTC/USDT",
        side=Side.BUY,
        order_type="market",
        price=Decimal(1),
        quantity_filled=Decimal(1),
        quote_quantity_filled=Decimal(1),
        timestamp=datetime.now(UTC),
    )
    session.add(Trade(exchange="binance", exchange_order_id="1", client_order_id="c1", **common))
    session.add(Trade(exchange="kraken", exchange_order_id="1", client_order_id="c1", **common))
    session.commit()
    session.add(Trade(exchange="binance", exchange_order_id="2", client_order_id="c1", **common))
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()


def test_every_foreign_key_is_indexed() -> None:
    from workbench.db import Base

    for table in Base.metadata.sorted_tables:
        leading = {idx.columns.values()[0].name for idx in table.indexes}
        leading |= {
            c.columns.values()[0].name
            for c in table.constraints
            if isinstance(c, sa.UniqueConstraint | sa.PrimaryKeyConstraint) and c.columns
        }
        for fk in table.foreign_keys:
            assert fk.parent.name in leading, f"{table.name}.{fk.parent.name} has no index"
