"""The kill switch: stop a bot at once and, if asked, close its position at market.

Stopping first deactivates the bot and disables its live-bot schedules, in one commit
before anything else: the scheduler starts no more ticks of it and a tick that starts
anyway is refused. With ``close``, the bot's tick lock is then taken (a running tick
finishes first, none starts meanwhile) and the held quantity is sold at market on the
bot's own venue (paper for a dry-run bot, the exchange through its API key for a live
one) with a deterministic client order id, ``wb<bot>-<last bar>-stop``. The order is
written ahead into the bot's state as a tick writes its orders, so a close interrupted
after the send is looked up, never sent twice, by the next stop (or tick). The fill is
recorded as a trade and the bot's state is flat. Every step is a bot event.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workbench.bots.configs import deactivate_bot, get_bot, list_bots
from workbench.bots.fills import record_trade, sell_amount
from workbench.bots.state import Intent, TickState
from workbench.bots.tick_lock import HeldTickLock, tick_lock
from workbench.cache.base import LockBusyError
from workbench.db.engine import session_scope
from workbench.db.models import BotConfig, BotEvent, BotState, Side
from workbench.errors import ConflictError, OperationalError, TemporaryError, WorkbenchError
from workbench.market.exchange import Exchange, Order
from workbench.market.names import base_currency, quote_currency
from workbench.rules import RuleParams
from workbench.rules import engine as e
from workbench.types import DEFAULT_FEE

STOP_REASON = "kill_switch"
LOCK_WAIT_SECONDS = 30.0  # how long a close waits for a running tick to finish


@dataclass
class StopResult:
    bot_id: int
    name: str
    was_active: bool
    schedules: list[int] = field(default_factory=list)  # live-bot schedules disabled
    held: float = 0.0  # the quantity held when stopped (before any close)
    order: Order | None = None  # the closing sell
    pnl: Decimal | None = None
    error: str | None = None  # why the close failed (the bot is stopped all the same)

    def summary(self) -> str:
        what = "stopped" if self.was_active or self.schedules else "was already stopped"
        text = f"bot {self.bot_id} ({self.name}) {what}"
        if self.schedules:
            text += f"; schedule {', '.join(map(str, self.schedules))} disabled"
        if self.order is not None:
            text += (
                f"; closed {self.order.filled} at {self.order.price} "
                f"(order {self.order.client_order_id}, PnL {self.pnl})"
            )
        elif self.error is not None:
            text += f"; NOT closed: {self.error}"
        elif self.held > 0:
            text += f"; still holds {self.held:g} (not closed)"
        return text


def stop_bot(
    bot_id: int,
    *,
    engine: Engine,
    close: bool = False,
    exchange: Exchange | None = None,
    lock_wait_seconds: float = LOCK_WAIT_SECONDS,
) -> StopResult:
    """Deactivate ``bot_id`` now; with ``close``, sell its position at market on its own
    venue (``exchange`` overrides the venue, e.g. a paper account under test)."""
    result = _deactivate(engine, bot_id)
    if close:
        with _lock_within(engine, bot_id, lock_wait_seconds) as lock:
            _close(engine, bot_id, exchange, lock, result)
    return result


def stop_all(
    *, engine: Engine, close: bool = False, lock_wait_seconds: float = LOCK_WAIT_SECONDS
) -> list[StopResult]:
    """Stop every bot (all deactivated first, then the positions closed one by one). A
    close that fails is reported in its result; the other bots are closed all the same."""
    with session_scope(engine) as session:
        ids = [b.id for b in list_bots(session=session)]
    results = [_deactivate(engine, bot_id) for bot_id in ids]
    if close:
        for result in results:
            if result.held <= 0:
                continue
            try:
                with _lock_within(engine, result.bot_id, lock_wait_seconds) as lock:
                    _close(engine, result.bot_id, None, lock, result)
            except WorkbenchError as error:
                result.error = str(error)
    return results


def _deactivate(engine: Engine, bot_id: int) -> StopResult:
    with session_scope(engine) as session:
        bot = get_bot(session=session, bot_id=bot_id)
        result = StopResult(bot_id, bot.name, bot.is_active)
        result.schedules = deactivate_bot(session=session, bot_id=bot_id)
        row = _state(session, bot_id)
        result.held = _held(TickState.load(row.state_data if row else None, bot_id=bot_id))
        if result.was_active or result.schedules:
            note = f"; schedules {result.schedules} disabled" if result.schedules else ""
            _event(session, bot_id, "stop", f"kill switch: deactivated{note}")
    return result


@contextmanager
def _lock_within(engine: Engine, bot_id: int, seconds: float) -> Iterator[HeldTickLock]:
    """The bot's tick lock, waiting up to ``seconds`` for a running tick to end."""
    deadline = time.monotonic() + seconds
    with ExitStack() as stack:
        while True:
            try:
                held = stack.enter_context(tick_lock(engine, bot_id))
                break
            except LockBusyError:
                if time.monotonic() >= deadline:
                    raise LockBusyError(
                        f"bot {bot_id} is stopped, but a tick still holds its lock after "
                        f"{seconds:g} s; run `workbench bot stop {bot_id} --close` again to "
                        "close its position"
                    ) from None
                time.sleep(0.2)
        yield held


def _state(session: Session, bot_id: int, *, lock: bool = False) -> BotState | None:
    query = sa.select(BotState).where(BotState.bot_config_id == bot_id)
    return session.scalar(query.with_for_update() if lock else query)


def _held(state: TickState) -> float:
    return float(state.engine.get("qty", 0.0))


def _close(
    engine: Engine,
    bot_id: int,
    exchange: Exchange | None,
    lock: HeldTickLock,
    result: StopResult,
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        bot = get_bot(session=session, bot_id=bot_id)
        state = _state(session, bot_id, lock=True)
        tick_state = TickState.load(state.state_data if state else None, bot_id=bot_id)
        intent = tick_state.intent
        if intent is not None and intent.reason != STOP_REASON:
            raise ConflictError(
                f"bot {bot_id} has an order of a tick in flight ({intent.client_order_id}); "
                f"let a tick settle it (`workbench bot tick {bot_id} --inactive`), then stop "
                "again with --close"
            )
        held = _held(tick_state)
        if state is None or (held <= 0 and intent is None):
            _event(session, bot_id, "stop", "kill switch: flat, nothing to close")
            session.commit()
            return
        venue = exchange or _venue(session, engine, bot)
        order = _settled(venue, bot, intent) if intent is not None else None
        if intent is None:
            last_bar = tick_state.last_bar or 0
            intent = Intent(
                client_order_id=f"wb{bot.id}-{last_bar}-stop",
                side="sell",
                bar=last_bar,
                reason=STOP_REASON,
                amount=sell_amount(venue, bot, held),
            )
        if order is None:  # write ahead, prove the lock, send
            intent = intent.model_copy(update={"written_ms": _now_ms(), "fate": "sending"})
            tick_state.intent = intent
            state.state_data = tick_state.dump()
            session.commit()
            lock.check()
            order = venue.create_order(
                bot.symbol,
                Side.SELL,
                "market",
                intent.amount or Decimal(0),
                client_order_id=intent.client_order_id,
            )
        if order.status != "closed":
            raise OperationalError(
                f"the closing order {order.client_order_id} of bot {bot_id} is {order.status} "
                "on the exchange; check it there, then stop again with --close"
            )
        params = RuleParams.from_config(bot, fee=DEFAULT_FEE).to_array()
        engine_state = tick_state.engine_array(params)
        result.pnl = _record_fill(session, bot, venue, engine_state, params, order)
        result.order = order
        tick_state.intent = None
        state.state_data = tick_state.with_engine(engine_state).dump()
        state.status_message = f"stopped by the kill switch; {result.summary()}"[:2000]
        _event(
            session,
            bot_id,
            "close",
            f"kill switch: sold {order.filled} {bot.symbol} at {order.price} "
            f"(order {order.client_order_id}, PnL {result.pnl})",
            STOP_REASON,
        )
        session.commit()


def _venue(session: Session, engine: Engine, bot: BotConfig) -> Exchange:
    from workbench.bots.exchanges import exchange_for_bot

    return exchange_for_bot(session=session, engine=engine, bot=bot)


def _settled(venue: Exchange, bot: BotConfig, intent: Intent) -> Order | None:
    """A close sent before: its fill, or None once the exchange proves it absent."""
    client_id = intent.client_order_id
    written_ms = intent.written_ms or 0
    order = venue.find_order(bot.symbol, client_id, since_ms=written_ms - 1_000)
    if order is not None:
        return order
    if _now_ms() < written_ms + venue.order_window_ms:
        raise TemporaryError(
            f"the closing order {client_id} of bot {bot.id} was sent and the exchange does "
            "not show it yet; run the stop with --close again in a few seconds"
        )
    return None


def _record_fill(
    session: Session,
    bot: BotConfig,
    venue: Exchange,
    state: np.ndarray,
    params: np.ndarray,
    order: Order,
) -> Decimal:
    """The engine state made flat and the sell recorded as a trade; returns its PnL."""
    price = float(order.price or 0)
    fee = float(order.fee)
    if order.fee_currency == base_currency(bot.symbol):
        fee *= price
    elif order.fee_currency not in (None, quote_currency(bot.symbol)):
        fee = 0.0
    pnl = Decimal(repr(round(e.apply_exit(state, params, price, fee), 10)))
    record_trade(session, bot, venue, order, now=datetime.now(UTC), pnl=pnl)
    return pnl


def _event(
    session: Session, bot_id: int, decision: str, reason: str, rule: str | None = None
) -> None:
    session.add(
        BotEvent(
            bot_id=bot_id,
            bar_time=datetime.now(UTC),
            decision=decision,
            reason=reason[:200],
            risk_rule=rule,
        )
    )


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
