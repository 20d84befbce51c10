"""One tick of one bot: the unit the scheduled live-bot notebook runs.

A tick takes the bot's lock, loads its config and state, reads the closed candles, lets the
strategy decide on the newest closed bar with the same rule engine the backtest uses, and
places at most one order with a deterministic client order id (bot, bar, side).

Crash safety: the order's client id is written to the bot's state *before* it is sent. A
tick that finds such an intent asks the exchange for that client id first: a fill it finds
is recorded (never placed again); an intent the exchange never saw is sent again with the
same id while its bar is still the newest, and dropped once the market has moved on.
A tick that fails leaves the state as it was and says why in ``status_message``.
"""

from __future__ import annotations

import hashlib
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

from workbench.cache import Cache, get_cache
from workbench.db.engine import session_scope
from workbench.db.models import BotConfig, BotEvent, BotState, Side, Trade
from workbench.errors import NotFoundError, WorkbenchError
from workbench.market.candles import frame_from_ohlcv
from workbench.market.exchange import Exchange, Order
from workbench.market.timeframes import timeframe_ms
from workbench.rules import RuleParams
from workbench.rules import engine as e
from workbench.strategies import get_strategy

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

    def summary(self) -> str:
        bar = self.bar_time.isoformat() if self.bar_time else "-"
        order = f", order {self.order.id} ({self.order.status})" if self.order else ""
        return f"bot {self.bot_id} @ {bar}: {self.decision} ({self.reason}){order}"


def client_order_id(bot_id: int, bar_ms: int, side: str) -> str:
    """Deterministic per (bot, bar, side): the same decision always carries the same id."""
    return f"wb{bot_id}-{bar_ms}-{side}"


def lock_name(engine: Engine, bot_id: int) -> str:
    where = hashlib.sha256(engine.url.render_as_string(hide_password=True).encode()).hexdigest()
    return f"bot-tick:{where[:12]}:{bot_id}"


def run_tick(
    bot_id: int,
    *,
    engine: Engine,
    exchange: Exchange,
    cache: Cache | None = None,
    fee: float = 0.001,
    slippage: float = 0.0,
    history: int | None = HISTORY_BARS,
    lock_timeout: float = 120.0,
) -> TickResult:
    """Run one tick of bot ``bot_id`` against ``exchange``; see the module docstring."""
    cache = cache or get_cache()
    with cache.lock(
        lock_name(engine, bot_id),
        timeout=lock_timeout,
        busy_message=f"bot {bot_id} is already running a tick",
    ):
        try:
            result = _tick(
                bot_id,
                engine=engine,
                exchange=exchange,
                fee=fee,
                slippage=slippage,
                history=history,
            )
        except WorkbenchError as error:
            _record_failure(engine, bot_id, error)
            raise
        return result


def _record_failure(engine: Engine, bot_id: int, error: Exception) -> None:
    with session_scope(engine) as session:
        state = session.scalar(sa.select(BotState).where(BotState.bot_config_id == bot_id))
        if state is not None:
            state.status_message = f"tick failed: {error}"[:2000]
            state.last_execution = datetime.now(UTC)


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
    fee: float,
    slippage: float,
    history: int | None,
) -> TickResult:
    with Session(engine, expire_on_commit=False) as session:
        bot, state = _load(session, bot_id)
        rules = RuleParams.from_config(bot, fee=fee, slippage=slippage)
        params = rules.to_array()
        data: dict[str, Any] = dict(state.state_data or {})
        engine_state = (
            np.array(data["engine"], dtype=float) if "engine" in data else e.new_state(params)
        )

        candles = _closed_candles(exchange, bot, history)
        last_ms = int(candles.index[-1].value // 1_000_000)
        bar_time = candles.index[-1].to_pydatetime()

        intent = data.pop("intent", None)
        if intent is not None:
            order = exchange.find_order(bot.symbol, intent["client_order_id"])
            if order is None and intent["bar"] == last_ms:
                order = _place(exchange, bot, intent)  # never sent: send it now, same id
            if order is not None and order.status == "closed":
                _apply_fill(session, bot, exchange.id, engine_state, params, intent, order)
                result = TickResult(
                    bot_id, _decision(intent["side"]), intent["reason"], bar_time, order
                )
                return _commit(session, state, data, engine_state, result)
            # Not filled and the market has moved on: the stale decision is dropped.

        if data.get("last_bar") == last_ms:
            result = TickResult(bot_id, "wait", "no new closed bar", bar_time)
            return _commit(session, state, data, engine_state, result)

        strategy = get_strategy(bot.strategy)
        signals = strategy.signals(candles, **strategy.params_from_config(bot))
        if "last_bar" not in data:  # the first tick opens its first bar
            e.begin_bar(engine_state, params, last_ms, float(candles["open"].iloc[-1]))
        held = engine_state[e.S_QTY]
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
        if closed == e.R_LIQUIDATION:
            _record_liquidation(session, bot, exchange.id, held, last_ms)
        pending = engine_state[e.S_PENDING]
        reason = e.REASONS[int(engine_state[e.S_PENDING_REASON])]
        engine_state[e.S_PENDING] = e.NONE
        price = float(exchange.fetch_ticker(bot.symbol).last)
        e.begin_bar(engine_state, params, last_ms + timeframe_ms(bot.timeframe), price)
        data["last_bar"] = last_ms
        indicators = {k: float(v) for k, v in signals.indicators.iloc[-1].items()}
        if pending == e.NONE:
            why = "liquidated" if closed == e.R_LIQUIDATION else _hold_reason(engine_state, params)
            result = TickResult(bot_id, "hold", why, bar_time, None, indicators)
            return _commit(session, state, data, engine_state, result)

        side = "buy" if pending == e.ENTER else "sell"
        intent = {
            "client_order_id": client_order_id(bot.id, last_ms, side),
            "side": side,
            "bar": last_ms,
            "reason": reason,
        }
        if side == "buy":
            notional = e.entry_budget(engine_state, params, price) * params[e.P_LEVERAGE]
            intent["cost"] = repr(float(notional))
        else:
            intent["amount"] = repr(float(engine_state[e.S_QTY]))
        # Write-ahead: the decision and its client order id are committed before sending.
        _commit(session, state, {**data, "intent": intent}, engine_state, None)

        order = _place(exchange, bot, intent)
        _apply_fill(session, bot, exchange.id, engine_state, params, intent, order)
        result = TickResult(bot_id, _decision(side), reason, bar_time, order, indicators)
        return _commit(session, state, data, engine_state, result)


def _decision(side: str) -> str:
    return "enter" if side == "buy" else "exit"


def _closed_candles(exchange: Exchange, bot: BotConfig, history: int | None) -> pd.DataFrame:
    step = timeframe_ms(bot.timeframe)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    rows = [
        r
        for r in exchange.fetch_ohlcv(bot.symbol, bot.timeframe, None, history)
        if r[0] + step <= now_ms
    ]  # a live exchange also sends the bar still open
    if not rows:
        raise NotFoundError(f"no closed {bot.symbol} {bot.timeframe} candles yet")
    return frame_from_ohlcv(rows)


RISK_HOLDS = {
    "halted for the day: max daily loss reached": "daily_loss",
    "daily target reached: no new trades today": "daily_target",
    "max trades per day reached": "max_daily_trades",
    "liquidated": "liquidation",
}
RISK_EXITS = {"stop_loss", "take_profit", "trailing_stop", "daily_loss", "liquidation"}


def _hold_reason(state: np.ndarray, params: np.ndarray) -> str:
    if state[e.S_DAY_HALTED]:
        return "halted for the day: max daily loss reached"
    if state[e.S_DAY_TARGET_HIT]:
        return "daily target reached: no new trades today"
    if state[e.S_DAY_TRADES] >= params[e.P_MAX_DAILY_TRADES]:
        return "max trades per day reached"
    return "in position, no exit signal" if state[e.S_QTY] > 0 else "no entry signal"


def _record_event(session: Session, bot_id: int, data: dict[str, Any], result: TickResult) -> None:
    """Log orders, and a risk rule the first tick it holds the bot back (not every tick)."""
    if result.bar_time is None or result.decision == "wait":
        return
    if result.decision in ("enter", "exit"):
        rule = result.reason if result.reason in RISK_EXITS else None
    else:
        rule = RISK_HOLDS.get(result.reason)
        if rule is None or data.get("last_risk") == rule:
            data["last_risk"] = rule
            return
    data["last_risk"] = rule
    session.add(
        BotEvent(
            bot_id=bot_id,
            bar_time=result.bar_time,
            decision=result.decision,
            reason=result.reason[:200],
            risk_rule=rule,
        )
    )


def _place(exchange: Exchange, bot: BotConfig, intent: dict[str, Any]) -> Order:
    if intent["side"] == "buy":
        return exchange.create_order(
            bot.symbol,
            "buy",
            "market",
            cost=Decimal(intent["cost"]),
            client_order_id=intent["client_order_id"],
        )
    return exchange.create_order(
        bot.symbol,
        "sell",
        "market",
        Decimal(intent["amount"]),
        client_order_id=intent["client_order_id"],
    )


def _apply_fill(
    session: Session,
    bot: BotConfig,
    venue: str,
    state: np.ndarray,
    params: np.ndarray,
    intent: dict[str, Any],
    order: Order,
) -> None:
    """Bring the engine state and the trades table in line with a filled order."""
    price = float(order.price or 0)
    fee = float(order.fee)
    if order.fee_currency and order.fee_currency != bot.symbol.split("/")[1].split(":")[0]:
        fee *= price  # fee charged in the base asset: its quote value
    pnl: float | None = None
    if intent["side"] == "buy":
        e.apply_entry(state, params, price, float(order.filled), fee)
    else:
        pnl = e.apply_exit(state, params, price, fee)
    exists = session.scalar(
        sa.select(Trade.id).where(
            Trade.exchange == venue, Trade.client_order_id == order.client_order_id
        )
    )
    if exists is None:
        session.add(
            Trade(
                bot_config_id=bot.id,
                user_id=bot.user_id,
                exchange=venue,
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
                pnl=None if pnl is None else Decimal(repr(round(pnl, 10))),
                realized_pnl=None if pnl is None else Decimal(repr(round(pnl, 10))),
                timestamp=order.timestamp or datetime.now(UTC),
            )
        )
        session.flush()


def _record_liquidation(
    session: Session, bot: BotConfig, venue: str, quantity: float, bar_ms: int
) -> None:
    session.add(
        Trade(
            bot_config_id=bot.id,
            user_id=bot.user_id,
            exchange=venue,
            exchange_order_id=f"liquidation-{bot.id}-{bar_ms}",
            client_order_id=f"liquidation-{bot.id}-{bar_ms}",
            symbol=bot.symbol,
            side=Side.SELL,
            order_type="liquidation",
            price=Decimal(0),
            quantity_filled=Decimal(repr(quantity)),
            quote_quantity_filled=Decimal(0),
            timestamp=datetime.fromtimestamp(bar_ms / 1000, tz=UTC),
        )
    )


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
