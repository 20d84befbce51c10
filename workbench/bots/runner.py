"""One tick of one bot: the unit the scheduled live-bot notebook runs.

A tick takes the bot's tick lock (held by the database itself, see ``tick_lock``), loads
its config and state, reads the closed candles, lets the strategy decide on the newest closed
bar with the same rule engine the backtest uses, and places at most one order with a
deterministic client order id (bot, bar, side).

Crash safety: the order's client id is written to the bot's state *before* it is sent, with
the time of the send. A tick that finds such an intent asks the exchange for that client id
(and the account's trades since the send) first: a fill it finds is recorded, never placed
again. An intent the exchange does not show is *unknown* until the exchange's acceptance
window has passed since the send (``Exchange.order_window_ms``); until then the tick stops
with OrderUnknownError and nothing is sent. Once its absence is proven, an exit is sent
again (it stays due, in a later bar too, and the event log says so); an entry is sent again
while its bar is the newest and dropped, with an event, once the market has moved on.
Any failure of a tick leaves the state as it was and says why in ``status_message``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workbench.bots import strategy_guard
from workbench.bots.tick_lock import HeldTickLock, tick_lock
from workbench.db.engine import session_scope
from workbench.db.models import BotConfig, BotEvent, BotState, Side, Trade
from workbench.errors import NotFoundError, OperationalError, WorkbenchError
from workbench.market.candles import frame_from_ohlcv
from workbench.market.exchange import Exchange, Order, OrderUnknownError
from workbench.market.names import base_currency, quote_currency
from workbench.market.timeframes import timeframe_ms
from workbench.rules import RuleParams
from workbench.rules import engine as e
from workbench.strategies import explain_tick, get_strategy
from workbench.timeutil import from_ms, now_utc, to_ms
from workbench.types import DEFAULT_FEE, RiskRule

log = logging.getLogger(__name__)
HISTORY_BARS = 1000  # closed bars a live tick reads (EMAs are seeded from the first one)


@dataclass
class TickResult:
    bot_id: int
    decision: str  # enter | exit | hold | wait (no new closed bar)
    reason: str
    bar_time: datetime | None = None
    order: Order | None = None
    indicators: dict[str, float] = field(default_factory=dict)
    note: str = ""  # what else happened (an exit sent late, a dropped entry)
    # A futures position the exchange liquidated at this bar's close (fill and its PnL).
    liquidation: Order | None = None
    liquidation_pnl: float | None = None
    risk_rule: RiskRule | None = None  # the rule that closed the position or held the bot

    def summary(self) -> str:
        bar = self.bar_time.isoformat() if self.bar_time else "-"
        order = f", order {self.order.id} ({self.order.status})" if self.order else ""
        note = f"; {self.note}" if self.note else ""
        return f"bot {self.bot_id} @ {bar}: {self.decision} ({self.reason}){order}{note}"


def client_order_id(bot_id: int, bar_ms: int, side: str) -> str:
    """Deterministic per (bot, bar, side): the same decision always carries the same id."""
    return f"wb{bot_id}-{bar_ms}-{side}"


def run_tick(
    bot_id: int,
    *,
    engine: Engine,
    exchange: Exchange,
    fee: float = DEFAULT_FEE,
    slippage: float = 0.0,
    history: int | None = HISTORY_BARS,
) -> TickResult:
    """Run one tick of bot ``bot_id`` against ``exchange``; see the module docstring.

    LockBusyError (temporary) when another process is ticking the bot on this database."""
    with tick_lock(engine, bot_id) as lock:
        try:
            return _tick(
                bot_id,
                engine=engine,
                exchange=exchange,
                lock=lock,
                fee=fee,
                slippage=slippage,
                history=history,
            )
        except Exception as error:  # any failure, ours or not, is said in the status
            _record_failure(engine, bot_id, error)
            raise


def _record_failure(engine: Engine, bot_id: int, error: Exception) -> None:
    what = str(error) if isinstance(error, WorkbenchError) else f"{type(error).__name__}: {error}"
    try:
        with session_scope(engine) as session:
            state = session.scalar(sa.select(BotState).where(BotState.bot_config_id == bot_id))
            if state is not None:
                state.status_message = f"tick failed: {what}"[:2000]
                state.last_execution = datetime.now(UTC)
    except sa.exc.SQLAlchemyError as e:  # the database itself failed: say so, keep the cause
        error.add_note(f"the bot's status could not be updated either: {e}")


def _load(session: Session, bot_id: int) -> tuple[BotConfig, BotState]:
    bot = session.get(BotConfig, bot_id)
    if bot is None:
        raise NotFoundError(f"no bot with id {bot_id}; see `workbench bot list`")
    state = session.scalar(
        sa.select(BotState).where(BotState.bot_config_id == bot_id).with_for_update()
    )
    if state is None:
        state = BotState(bot_config_id=bot_id, state_data={})
        session.add(state)
        session.flush()
    return bot, state


def _tick(
    bot_id: int,
    *,
    engine: Engine,
    exchange: Exchange,
    lock: HeldTickLock,
    fee: float,
    slippage: float,
    history: int | None,
) -> TickResult:
    strategy_guard.refuse_changed_code(engine, bot_id)  # activated code only
    with Session(engine, expire_on_commit=False) as session:
        bot, state = _load(session, bot_id)
        history = strategy_guard.history_bars(bot, history)  # at least the warm-up
        rules = RuleParams.from_config(bot, fee=fee, slippage=slippage)
        params = rules.to_array()
        data: dict[str, Any] = dict(state.state_data or {})
        engine_state = (
            np.array(data["engine"], dtype=float) if "engine" in data else e.new_state(params)
        )

        candles = _closed_candles(exchange, bot, history)
        last_ms = int(candles.index[-1].value // 1_000_000)
        bar_time = candles.index[-1].to_pydatetime()

        note = ""
        intent = data.pop("intent", None)
        if intent is not None:
            order = _settle_intent(exchange, bot, intent, last_ms)
            if order is None and intent["side"] == "buy" and intent["bar"] != last_ms:
                note = f"entry of {_bar_iso(intent['bar'])} never reached the exchange; dropped"
                _add_event(session, bot.id, bar_time, "drop", note)
            else:
                decided = _bar_iso(intent["bar"])
                late = f"decided at {decided}, filled late" if intent["bar"] != last_ms else ""
                if order is None:  # proven absent: send it again, same id, written ahead
                    if intent["bar"] != last_ms:
                        late = f"decided at {decided}, not delivered then; still due, sent now"
                    order = _send(session, state, data, engine_state, exchange, bot, intent, lock)
                _apply_fill(session, bot, exchange, engine_state, params, intent, order)
                result = TickResult(
                    bot_id,
                    _decision(intent["side"]),
                    intent["reason"],
                    bar_time,
                    order,
                    note=late,
                )
                return _commit(session, state, data, engine_state, result)

        if data.get("last_bar") == last_ms:
            result = TickResult(bot_id, "wait", "no new closed bar", bar_time)
            return _commit(session, state, data, engine_state, result)

        strategy = get_strategy(bot.strategy)
        signals = strategy.signals(candles, **strategy.params_from_config(bot))
        if "last_bar" not in data:  # the first tick opens its first bar
            e.begin_bar(engine_state, params, last_ms, float(candles["open"].iloc[-1]))
        liq_price, held = float(engine_state[e.S_LIQ_PRICE]), float(engine_state[e.S_QTY])
        liq_pnl = -float(engine_state[e.S_MARGIN] + engine_state[e.S_ENTRY_FEE])
        bar = candles.iloc[-1]
        closed = e.on_close(
            engine_state,
            params,
            float(bar["high"]),
            float(bar["low"]),
            float(bar["close"]),
            bool(signals.entries.iloc[-1]),
            bool(signals.exits.iloc[-1]),
        )
        liquidation = None
        if closed == e.R_LIQUIDATION:
            liquidation = _record_liquidation(
                session, bot, exchange, held, liq_price, liq_pnl, bar_time
            )
        pending = engine_state[e.S_PENDING]
        reason = e.REASONS[int(engine_state[e.S_PENDING_REASON])]
        engine_state[e.S_PENDING] = e.NONE
        price = float(exchange.fetch_ticker(bot.symbol).last)
        e.begin_bar(engine_state, params, last_ms + timeframe_ms(bot.timeframe), price)
        data["last_bar"] = last_ms
        indicators = {k: float(v) for k, v in signals.indicators.iloc[-1].items()}
        note = explain_tick(note, strategy, bot, signals, candles)
        if pending == e.NONE:
            rule, why = _held_by(engine_state, params, closed == e.R_LIQUIDATION)
            result = TickResult(bot_id, "hold", why, bar_time, None, indicators, note)
            result.risk_rule = rule
            result.liquidation = liquidation
            result.liquidation_pnl = liq_pnl if liquidation else None
            return _commit(session, state, data, engine_state, result)

        side = "buy" if pending == e.ENTER else "sell"
        notional = e.entry_budget(engine_state, params, price) * params[e.P_LEVERAGE]
        if side == "buy" and notional <= 0.0:  # as the backtest: no order below the smallest
            why = "account below the smallest order: nothing opens (wiped out)"
            result = TickResult(bot_id, "hold", why, bar_time, None, indicators, note)
            return _commit(session, state, data, engine_state, result)
        intent = {
            "client_order_id": client_order_id(bot.id, last_ms, side),
            "side": side,
            "bar": last_ms,
            "reason": reason,
        }
        if side == "buy":
            intent["cost"] = repr(float(notional))
        else:
            intent["amount"] = str(_sell_amount(exchange, bot, float(engine_state[e.S_QTY])))
        order = _send(session, state, data, engine_state, exchange, bot, intent, lock)
        _apply_fill(session, bot, exchange, engine_state, params, intent, order)
        result = TickResult(bot_id, _decision(side), reason, bar_time, order, indicators, note)
        result.liquidation = liquidation
        result.liquidation_pnl = liq_pnl if liquidation else None
        return _commit(session, state, data, engine_state, result)


def _decision(side: str) -> str:
    return "enter" if side == "buy" else "exit"


def _now_ms() -> int:
    return to_ms(now_utc())


def _bar_iso(bar_ms: int) -> str:
    return from_ms(bar_ms).isoformat()


def _settle_intent(
    exchange: Exchange, bot: BotConfig, intent: dict[str, Any], last_ms: int
) -> Order | None:
    """The filled order of a written-ahead intent, or None once the exchange has proven it
    absent (or ended it unfilled); OrderUnknownError while its fate is still open."""
    client_id = intent["client_order_id"]
    written_ms = int(intent.get("written_ms", 0))
    since_ms = written_ms - 1_000 if written_ms else None
    order = exchange.find_order(bot.symbol, client_id, since_ms=since_ms)
    if order is not None and order.status == "closed":
        return order
    if order is not None and order.status == "open":
        raise OrderUnknownError(
            f"order {client_id} of bot {bot.id} is still open on the exchange; it is looked "
            "up again on the next tick",
            client_order_id=client_id,
        )
    due_ms = written_ms + exchange.order_window_ms
    if order is None and _now_ms() < due_ms:
        raise OrderUnknownError(
            f"order {client_id} of bot {bot.id} was sent at {_bar_iso(written_ms)} and the "
            "exchange does not show it yet; it may still arrive, so it is not sent again "
            f"before {_bar_iso(due_ms)}",
            client_order_id=client_id,
        )
    return None


def _sell_amount(exchange: Exchange, bot: BotConfig, held: float) -> Decimal:
    """What a spot exit sells: the position, but never more than the account holds (a fee
    charged in the base asset, rounding); the exchange rounds it to the market's step."""
    amount = Decimal(repr(held))
    if ":" in bot.symbol:  # futures: the position, not a balance, is closed
        return amount
    base = base_currency(bot.symbol)
    balance = exchange.fetch_balance().get(base)
    free = balance.free if balance is not None else Decimal(0)
    if free <= 0:
        raise OperationalError(
            f"bot {bot.id} holds {amount} {base} by its records but the {exchange.id} account "
            f"has no free {base}; check the account's trades before ticking again"
        )
    return min(amount, free)


def _add_event(session: Session, bot_id: int, bar_time: datetime, decision: str, why: str) -> None:
    session.add(BotEvent(bot_id=bot_id, bar_time=bar_time, decision=decision, reason=why[:200]))


def _closed_candles(exchange: Exchange, bot: BotConfig, history: int | None) -> pd.DataFrame:
    step = timeframe_ms(bot.timeframe)
    now_ms = to_ms(now_utc())
    rows = [
        r
        for r in exchange.fetch_ohlcv(bot.symbol, bot.timeframe, None, history)
        if r[0] + step <= now_ms
    ]  # a live exchange also sends the bar still open
    if not rows:
        raise NotFoundError(f"no closed {bot.symbol} {bot.timeframe} candles yet")
    return frame_from_ohlcv(rows)


def _held_by(
    state: np.ndarray, params: np.ndarray, liquidated: bool
) -> tuple[RiskRule | None, str]:
    """The risk rule holding the bot back (if any) and the sentence saying so."""
    if liquidated:
        return RiskRule.LIQUIDATION, "liquidated"
    if state[e.S_DAY_HALTED]:
        return RiskRule.DAILY_LOSS, "halted for the day: max daily loss reached"
    if state[e.S_DAY_TARGET_HIT]:
        return RiskRule.DAILY_TARGET, "daily target reached: no new trades today"
    if state[e.S_DAY_TRADES] >= params[e.P_MAX_DAILY_TRADES]:
        return RiskRule.MAX_DAILY_TRADES, "max trades per day reached"
    return None, "in position, no exit signal" if state[e.S_QTY] > 0 else "no entry signal"


def _record_event(session: Session, bot_id: int, data: dict[str, Any], result: TickResult) -> None:
    """Log orders, and a risk rule the first tick it holds the bot back (not every tick)."""
    if result.bar_time is None or result.decision == "wait":
        return
    if result.decision in ("enter", "exit"):
        rule = RiskRule.of_exit(result.reason)  # the engine's exit reason names its rule
    else:
        rule = result.risk_rule
        if rule is None or data.get("last_risk") == rule:
            data["last_risk"] = rule
            return
    data["last_risk"] = rule
    _queue_alerts(session, bot_id, result, rule)
    note = f" ({result.note})" if result.note else ""
    session.add(
        BotEvent(
            bot_id=bot_id,
            bar_time=result.bar_time,
            decision=result.decision,
            reason=(result.reason + note)[:200],
            risk_rule=rule,
        )
    )


def _queue_alerts(session: Session, bot_id: int, result: TickResult, rule: RiskRule | None) -> None:
    """Alerts for a fill and for a rule that halts the bot, in the tick's own commit."""
    from workbench.notify import AlertKind, queue_alert

    bar = result.bar_time.isoformat() if result.bar_time else "-"
    order = result.order
    if order is not None and result.decision in ("enter", "exit"):
        queue_alert(
            session=session,
            kind=AlertKind.FILL,
            dedupe_key=f"fill:{bot_id}:{bar}:{result.decision}",
            title=f"bot {bot_id}: {result.decision} {order.symbol}",
            body=f"{order.side} {order.filled} {order.symbol} at {order.price} "
            f"({result.reason}), bar {bar}, order {order.id}",
        )
    if rule is not None and rule.halts:
        queue_alert(
            session=session,
            kind=AlertKind.HALT,
            dedupe_key=f"halt:{bot_id}:{bar}:{rule}",
            title=f"bot {bot_id} halted: {rule}",
            body=f"{result.reason} at bar {bar}",
        )


def _send(
    session: Session,
    state: BotState,
    data: dict[str, Any],
    engine_state: np.ndarray,
    exchange: Exchange,
    bot: BotConfig,
    intent: dict[str, Any],
    lock: HeldTickLock,
) -> Order:
    """Write ahead (the decision, its client order id and the send time are committed before
    sending), prove the lock still held, send. An order whose fate the exchange leaves open
    is kept as "unknown" for the next tick to look up."""
    # New dicts, never the stored one changed in place: an in-place change would compare
    # equal to the loaded value and never be written.
    sending = {**intent, "written_ms": _now_ms(), "fate": "sending"}
    _commit(session, state, {**data, "intent": sending}, engine_state, None)
    lock.check()
    try:
        return _place(exchange, bot, sending)
    except OrderUnknownError:
        _commit(
            session, state, {**data, "intent": {**sending, "fate": "unknown"}}, engine_state, None
        )
        raise


def _place(exchange: Exchange, bot: BotConfig, intent: dict[str, Any]) -> Order:
    if intent["side"] == "buy":
        return exchange.create_order(
            bot.symbol,
            Side.BUY,
            "market",
            cost=Decimal(intent["cost"]),
            client_order_id=intent["client_order_id"],
        )
    return exchange.create_order(
        bot.symbol,
        Side.SELL,
        "market",
        Decimal(intent["amount"]),
        client_order_id=intent["client_order_id"],
    )


def _apply_fill(
    session: Session,
    bot: BotConfig,
    exchange: Exchange,
    state: np.ndarray,
    params: np.ndarray,
    intent: dict[str, Any],
    order: Order,
) -> None:
    """Bring the engine state and the trades table in line with a filled order."""
    price = float(order.price or 0)
    base, quote = base_currency(bot.symbol), quote_currency(bot.symbol)
    fee = float(order.fee)
    qty = float(order.filled)
    if order.fee_currency == base:  # charged in the base asset: less of it was received
        fee *= price
        if intent["side"] == "buy":
            qty -= float(order.fee)
    elif order.fee_currency not in (None, quote):
        log.warning("fee of %s paid in %s is not counted", order.id, order.fee_currency)
        fee = 0.0
    pnl: float | None = None
    if intent["side"] == "buy":
        e.apply_entry(state, params, price, qty, fee)
    else:
        pnl = e.apply_exit(state, params, price, fee)
    exists = session.scalar(
        sa.select(Trade.id).where(
            Trade.exchange == exchange.id,
            Trade.account == exchange.account,
            Trade.client_order_id == order.client_order_id,
        )
    )
    if exists is None:
        session.add(
            Trade(
                bot_config_id=bot.id,
                user_id=bot.user_id,
                exchange=exchange.id,
                account=exchange.account,
                exchange_order_id=order.id,
                client_order_id=order.client_order_id,
                symbol=bot.symbol,
                side=Side(intent["side"]),
                order_type=order.type,
                price=order.price or Decimal(0),
                quantity_filled=order.filled,
                quote_quantity_filled=order.cost,
                commission_amount=order.fee,
                commission_asset=order.fee_currency,
                pnl=None if pnl is None else _money(pnl),
                realized_pnl=None if pnl is None else _money(pnl),
                timestamp=order.timestamp or datetime.now(UTC),
            )
        )
        session.flush()


def _money(value: float) -> Decimal:
    return Decimal(repr(round(value, 10)))


def _record_liquidation(
    session: Session,
    bot: BotConfig,
    exchange: Exchange,
    quantity: float,
    price: float,
    pnl: float,
    bar_time: datetime,
) -> Order:
    """The exchange closed the position at its liquidation price, taking the margin."""
    bar_ms = to_ms(bar_time)
    fill = Order(
        id=f"liquidation-{bot.id}-{bar_ms}",
        client_order_id=f"liquidation-{bot.id}-{bar_ms}",
        symbol=bot.symbol,
        side=Side.SELL,
        type="market",
        status="closed",
        amount=_money(quantity),
        filled=_money(quantity),
        cost=_money(quantity * price),
        price=_money(price),
        timestamp=bar_time,
    )
    session.add(
        Trade(
            bot_config_id=bot.id,
            user_id=bot.user_id,
            exchange=exchange.id,
            account=exchange.account,
            exchange_order_id=fill.id,
            client_order_id=fill.client_order_id,
            symbol=bot.symbol,
            side=Side.SELL,
            order_type="liquidation",
            price=fill.price,
            quantity_filled=fill.filled,
            quote_quantity_filled=fill.cost,
            pnl=_money(pnl),
            realized_pnl=_money(pnl),
            timestamp=bar_time,
        )
    )
    return fill


def _commit(
    session: Session,
    state: BotState,
    data: dict[str, Any],
    engine_state: np.ndarray,
    result: TickResult | None,
) -> TickResult:
    """Store the bot's state (and the outcome) in one commit; returns ``result``."""
    data = dict(data)
    if result is not None:
        _record_event(session, state.bot_config_id, data, result)
        state.status_message = result.summary()[:2000]
    state.state_data = {**data, "engine": engine_state.tolist()}
    state.last_execution = datetime.now(UTC)
    state.is_running = True
    session.commit()
    return result  # type: ignore[return-value]
