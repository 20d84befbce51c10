"""Every bot-config rule is refused twice: by the schema (naming the field) and by the
database itself (a CHECK constraint), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import MakeBot
from workbench.db.models import BotConfig
from workbench.errors import ValidationError

VALID: dict[str, Any] = {"name": "rules", "symbol": "BTC/USDT"}

# (changes, field the schema must name, constraint the database must name)
RULES = [
    ({"ema_fast": 30, "ema_slow": 20}, "ema_fast", "ema_fast_lt_slow"),
    ({"ema_fast": 26, "ema_slow": 26}, "ema_fast", "ema_fast_lt_slow"),
    ({"custom_ema_fast": 40, "custom_ema_slow": 10}, "custom_ema_fast", "custom_ema_fast_lt_slow"),
    ({"rsi_oversold": 70, "rsi_overbought": 30}, "rsi_oversold", "rsi_ordered"),
    (
        {"custom_rsi_oversold": 80, "custom_rsi_overbought": 20},
        "custom_rsi_oversold",
        "custom_rsi_ordered",
    ),
    ({"stop_loss_perc": "150"}, "stop_loss_perc", "stop_loss_perc_range"),
    ({"stop_loss_perc": "-1"}, "stop_loss_perc", "stop_loss_perc_range"),
    ({"max_daily_loss_perc": "101"}, "max_daily_loss_perc", "max_daily_loss_perc_range"),
    ({"trailing_stop_perc": "100.5"}, "trailing_stop_perc", "trailing_stop_perc_range"),
    ({"position_size_perc": "120"}, "position_size_perc", "position_size_perc_range"),
    (
        {"position_size_perc": "10", "position_size_fixed": "50"},
        "position_size_perc",
        "position_size_one_way",
    ),
    ({"position_size_perc": None}, "position_size_perc", "position_size_one_way"),
    ({"leverage": 3}, "leverage", "leverage_range"),
    ({"leverage": 126, "position_type": "futures"}, "leverage", "leverage_range"),
    ({"leverage": 0, "position_type": "futures"}, "leverage", "leverage_range"),
    ({"initial_capital": "0"}, "initial_capital", "initial_capital_pos"),
    ({"max_daily_trades": 0}, "max_daily_trades", "max_daily_trades_pos"),
]


@pytest.mark.parametrize(("changes", "field", "constraint"), RULES)
def test_schema_names_the_field(
    session: Session, make_bot: MakeBot, changes: dict[str, Any], field: str, constraint: str
) -> None:
    with pytest.raises(ValidationError) as err:
        make_bot(**(VALID | changes))
    assert field in err.value.errors, err.value.errors
    assert field in str(err.value)
    assert session.scalar(sa.select(sa.func.count()).select_from(BotConfig)) == 0


@pytest.mark.parametrize(("changes", "field", "constraint"), RULES)
def test_database_enforces_the_rule(
    session: Session, make_bot: MakeBot, changes: dict[str, Any], field: str, constraint: str
) -> None:
    bot = make_bot(**VALID)
    values = {k: v for k, v in changes.items()}
    with pytest.raises(sa.exc.IntegrityError) as err:
        session.execute(sa.update(BotConfig).where(BotConfig.id == bot.id).values(**values))
        session.flush()
    session.rollback()
    assert f"ck_bot_configs_{constraint}" in str(err.value)


def test_valid_futures_bot_with_leverage(make_bot: MakeBot) -> None:
    bot = make_bot(
        **(VALID | {"symbol": "BTC/USDT:USDT"}),  # a futures bot needs a futures market
        position_type="futures",
        leverage=20,
        position_size_fixed="250",
        stop_loss_perc="2.5",
    )
    assert bot.leverage == 20
    assert bot.position_size_perc is None
