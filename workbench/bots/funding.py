"""auto_transfer_funds: fund a futures bot's wallet before its first entry, once.

Before a futures bot with ``auto_transfer_funds`` sends its first entry order, its
``transfer_amount`` of the settle currency moves from the account's spot wallet to its
futures wallet (ccxt ``transfer``; the paper exchange keeps both wallets). The transfer is
a bot event, written (and committed) before it is sent: an event that exists means the
transfer was made or may have been, so it is never sent twice. A transfer the exchange
refuses removes the event again (nothing moved) and stops the tick with the reason; one
whose answer was lost (or any other failure) keeps it, the outcome being unknown.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from workbench.db.engine import session_scope
from workbench.db.models import BotConfig, BotEvent
from workbench.errors import TemporaryError, ValidationError, WorkbenchError
from workbench.market.exchange import Exchange, Transfer
from workbench.market.names import quote_currency
from workbench.types import MarketType

DECISION = "transfer"


def fund_before_entry(
    engine: Engine | Connection, bot: BotConfig, exchange: Exchange, side: str
) -> None:
    """The runner's hook, called before it sends an order: see the module docstring."""
    if side == "buy" and bot.auto_transfer_funds and bot.position_type == MarketType.FUTURES:
        fund_futures(engine, bot, exchange)


def fund_futures(
    engine: Engine | Connection, bot: BotConfig, exchange: Exchange
) -> Transfer | None:
    """Move the bot's transfer_amount from spot to futures unless done before; returns the
    transfer made now (None when it was made before)."""
    amount = bot.transfer_amount
    if amount is None or amount <= 0:
        raise ValidationError(
            {
                "transfer_amount": f"bot {bot.id} has auto_transfer_funds on but no transfer "
                f"amount; set one (`workbench bot set {bot.id} transfer_amount=100`) or turn "
                "auto_transfer_funds off"
            },
            entity="bot",
        )
    asset = quote_currency(bot.symbol)
    what = f"{amount.normalize():f} {asset} from the spot to the futures wallet"
    with session_scope(engine) as session:
        done = sa.select(BotEvent.id).where(
            BotEvent.bot_id == bot.id, BotEvent.decision == DECISION
        )
        if session.scalar(done) is not None:
            return None
        event = BotEvent(
            bot_id=bot.id,
            bar_time=datetime.now(UTC),
            decision=DECISION,
            reason=f"moving {what} before the first entry: sent, no answer yet",
        )
        session.add(event)
        session.flush()
        event_id = event.id
    try:
        transfer = exchange.transfer(asset, amount, MarketType.SPOT, MarketType.FUTURES)
    except TemporaryError as error:
        unknown = f"moving {what}: outcome unknown ({error}); check the wallets"
        _set_reason(engine, event_id, unknown)
        raise
    except WorkbenchError:  # the exchange refused it: nothing moved, it may be tried again
        with session_scope(engine) as session:
            session.execute(sa.delete(BotEvent).where(BotEvent.id == event_id))
        raise
    _set_reason(engine, event_id, f"moved {what} before the first entry (transfer {transfer.id})")
    return transfer


def _set_reason(engine: Engine | Connection, event_id: int, reason: str) -> None:
    with session_scope(engine) as session:
        session.execute(
            sa.update(BotEvent).where(BotEvent.id == event_id).values(reason=reason[:200])
        )
