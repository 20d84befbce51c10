"""What every order of a bot shares once it fills, whoever sent it (a tick, the kill switch,
``bot resolve``): how much a sell may sell, and the trade row it leaves."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.db.models import BotConfig, Trade
from workbench.errors import OperationalError
from workbench.market.exchange import Exchange, Order
from workbench.market.names import base_currency
from workbench.types import Side


def sell_amount(exchange: Exchange, bot: BotConfig, held: float) -> Decimal:
    """What closing ``held`` sells: the position, but on spot never more than the account
    holds (a fee charged in the base asset, rounding); the exchange rounds it to its step."""
    amount = Decimal(repr(held))
    if ":" in bot.symbol:  # futures: the position, not a balance, is closed
        return amount
    base = base_currency(bot.symbol)
    balance = exchange.fetch_balance().get(base)
    free = balance.free if balance is not None else Decimal(0)
    if free <= 0:
        raise OperationalError(
            f"bot {bot.id} holds {amount} {base} by its records but the {exchange.id} account "
            f"has no free {base}; see `workbench bot resolve {bot.id}`"
        )
    return min(amount, free)


def record_trade(
    session: Session,
    bot: BotConfig,
    exchange: Exchange,
    order: Order,
    *,
    now: datetime,
    pnl: Decimal | None = None,
) -> bool:
    """The filled ``order`` as a trade of ``bot``, once per client order id on its account;
    returns whether it was new."""
    exists = session.scalar(
        sa.select(Trade.id).where(
            Trade.exchange == exchange.id,
            Trade.account == exchange.account,
            Trade.client_order_id == order.client_order_id,
        )
    )
    if exists is not None:
        return False
    session.add(
        Trade(
            bot_config_id=bot.id,
            user_id=bot.user_id,
            exchange=exchange.id,
            account=exchange.account,
            exchange_order_id=order.id,
            client_order_id=order.client_order_id,
            symbol=bot.symbol,
            side=Side(order.side),
            order_type=order.type,
            price=order.price or Decimal(0),
            quantity_filled=order.filled,
            quote_quantity_filled=order.cost,
            commission_amount=order.fee,
            commission_asset=order.fee_currency,
            pnl=pnl,
            realized_pnl=pnl,
            timestamp=order.timestamp or now,
        )
    )
    session.flush()
    return True
