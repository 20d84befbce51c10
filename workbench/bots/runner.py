"""One tick of one bot: the unit the scheduled live-bot notebook runs.

A tick takes the bot's tick lock (held by the database itself, see ``tick_lock``), loads
its config and its typed state (``bots.state.TickState``), reads the closed bars, and goes
through four steps, each a function of this module:

1. ``reconcile`` the bot's belief against the exchange: the order an earlier tick wrote
   ahead is settled first (found: recorded; proven absent: sent again or dropped).
2. ``decide``    the rule engine (the backtest's) runs over every closed bar since the
   last one decided: the bars missed while no tick ran (stops, liquidation, signals) and
   the newest, on which it acts once. A gap of more than ``catch_up_bars`` halts the bot.
3. ``place``     at most one order with a deterministic client order id (bot, bar, side),
   followed to its fill: an order the exchange leaves open is asked again by the next tick
   and cancelled at the next bar; a partial fill is recorded with its real quantity.
4. ``record``    the state, the events and alerts, and the outcome in one commit.

Time comes from an injected ``Clock`` (the wall clock live, the replayed prices' clock in
a replay), bars from a ``BarFeed`` (the exchange live; precomputed in a replay).

Crash safety: the order's client id is written to the bot's state *before* it is sent, with
the time of the send. A tick that finds such an intent asks the exchange for that client id
(and the account's trades since the send) first: a fill it finds is recorded, never placed
again. An intent the exchange does not show is *unknown* until the exchange's acceptance
window has passed since the send (``Exchange.order_window_ms``); until then the tick stops
with OrderUnknownError and nothing is sent. Once its absence is proven, an exit is sent
again (it stays due, in a later bar too, and the event log says so); an entry is sent again
while its bar is the newest and dropped, with an event, once the market has moved on.
Any failure of a tick leaves the state as it was and says why in ``status_message``;
``BotState.is_running`` is true exactly while a tick runs (or after one died mid-way).
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Literal, cast

import numpy as np
import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from workbench.bots import drift, strategy_guard
from workbench.bots import reconcile as exchange_truth
from workbench.bots.bars import BarFeed, Bars, BarSignals, ExchangeFeed
from workbench.bots.clock import SYSTEM_CLOCK, Clock, iso_ms, now_ms
from workbench.bots.fills import record_trade, sell_amount
from workbench.bots.funding import fund_before_entry
from workbench.bots.halts import halt_bot, halted_message
from workbench.bots.state import Halt, Intent, TickState
from workbench.bots.tick_lock import HeldTickLock, tick_lock
from workbench.db.engine import session_scope
from workbench.db.models import BotConfig, BotEvent, BotState, Side, Trade
from workbench.errors import NotFoundError, WorkbenchError
from workbench.market.exchange import Exchange, Order, OrderUnknownError
from workbench.market.names import base_currency, quote_currency
from workbench.market.timeframes import timeframe_ms
from workbench.rules import RuleParams
from workbench.rules import engine as e
from workbench.strategies import get_strategy
from workbench.types import DEFAULT_FEE, Decision, RiskRule

log = logging.getLogger(__name__)
HISTORY_BARS = 1000  # closed bars a live tick reads (EMAs are seeded from the first one)
CATCH_UP_BARS = 100  # missed bars a tick catches up on; a longer gap halts the bot


@dataclass(frozen=True)
class CatchUp:
    """Closed bars a tick ran through the engine because no tick ran at their close."""

    bars: int
    first: datetime  # open time of the first missed bar
    last: datetime  # open time of the last missed bar
    seen: tuple[str, ...] = ()  # what the engine found on them

    def summary(self) -> str:
        seen = "; ".join(self.seen) if self.seen else "nothing to act on"
        return (
            f"caught up on {self.bars} missed bar(s) {self.first.isoformat()} to "
            f"{self.last.isoformat()}: {seen}"
        )


@dataclass
class TickResult:
    bot_id: int
    decision: Decision
    reason: str
    bar_time: datetime | None = None
    order: Order | None = None
    indicators: dict[str, float] = field(default_factory=dict)
    note: str = ""  # what else happened (an exit sent late, a dropped entry, a partial fill)
    # A futures position the exchange liquidated at this bar's close (fill and its PnL).
    liquidation: Order | None = None
    liquidation_pnl: float | None = None
    caught_up: CatchUp | None = None
    risk_rule: RiskRule | None = None  # the rule that closed the position or held the bot

    def summary(self) -> str:
        bar = self.bar_time.isoformat() if self.bar_time else "-"
        order = f", order {self.order.id} ({self.order.status})" if self.order else ""
        note = f"; {self.note}" if self.note else ""
        caught = f"; {self.caught_up.summary()}" if self.caught_up else ""
        return f"bot {self.bot_id} @ {bar}: {self.decision} ({self.reason}){order}{note}{caught}"


def client_order_id(bot_id: int, bar_ms: int, side: str) -> str:
    """Deterministic per (bot, bar, side): the same decision always carries the same id."""
    return f"wb{bot_id}-{bar_ms}-{side}"


@dataclass
class Tick:
    """One tick's working set, handed from step to step. ``state`` and ``book`` (the
    engine's state array) change as the steps go; ``record`` stores them."""

    session: Session
    row: BotState
    bot: BotConfig
    exchange: Exchange
    clock: Clock
    lock: HeldTickLock
    params: np.ndarray
    state: TickState
    book: np.ndarray
    run: Run | None = None  # the run of ticks this one belongs to (a replay's), if any


@dataclass
class Run:
    """What the ticks of one session (``SessionTicker``) carry from tick to tick. Their
    ``record`` does not commit: the ticker commits every so many ticks (an order is still
    written ahead and committed before it is sent); until then the state row keeps the
    state, and ``drift`` the drift rows (see ``drift.Kept``)."""

    drift: drift.Kept = field(default_factory=drift.Kept)
    recorded: int = 0  # ticks recorded since the ticker's last commit


@dataclass(frozen=True)
class Reconciled:
    """The outcome of ``reconcile``: a result when the tick ends with it, else a note."""

    result: TickResult | None = None
    note: str = ""


@dataclass(frozen=True)
class Liquidation:
    fill: Order
    pnl: float
    newest_bar: bool  # on the newest closed bar (else on a missed one)


@dataclass(frozen=True)
class Plan:
    """What ``decide`` chose on the newest closed bar."""

    decision: Decision
    reason: str
    bar_time: datetime
    intent: Intent | None = None  # the order to place (enter / exit)
    indicators: dict[str, float] = field(default_factory=dict)
    liquidation: Liquidation | None = None
    caught_up: CatchUp | None = None
    halt: Halt | None = None  # the gap was too long: nothing decided, the bot halts
    risk_rule: RiskRule | None = None  # the rule behind the decision, if any
    said: str = ""  # the strategy's sentence on the newest bar


@dataclass(frozen=True)
class Placed:
    """The outcome of ``place``: the order as the exchange last reported it, and a note
    (open, partly filled, the rest sent)."""

    order: Order | None
    note: str = ""
    open: bool = False  # still open on the exchange: the next tick asks again


def run_tick(
    bot_id: int,
    *,
    engine: Engine,
    exchange: Exchange,
    fee: float = DEFAULT_FEE,
    slippage: float = 0.0,
    history: int | None = HISTORY_BARS,
    clock: Clock = SYSTEM_CLOCK,
    feed: BarFeed | None = None,
    catch_up_bars: int = CATCH_UP_BARS,
) -> TickResult:
    """Run one tick of bot ``bot_id`` against ``exchange``; see the module docstring.
    ``feed`` gives the closed bars and signals (default: fetched from ``exchange``,
    ``history`` bars of them).

    LockBusyError (temporary) when another process is ticking the bot on this database."""
    with tick_lock(engine, bot_id) as lock:
        _mark_running(engine, bot_id)
        try:
            return _tick(
                bot_id,
                engine=engine,
                exchange=exchange,
                lock=lock,
                fee=fee,
                slippage=slippage,
                history=history,
                clock=clock,
                feed=feed,
                catch_up_bars=catch_up_bars,
            )
        except Exception as error:  # any failure, ours or not, is said in the status
            _record_failure(engine, bot_id, error, clock)
            raise


def _mark_running(engine: Engine, bot_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(BotState).where(BotState.bot_config_id == bot_id).values(is_running=True)
        )


def _record_failure(engine: Engine, bot_id: int, error: Exception, clock: Clock) -> None:
    what = str(error) if isinstance(error, WorkbenchError) else f"{type(error).__name__}: {error}"
    try:
        with session_scope(engine) as session:
            state = session.scalar(sa.select(BotState).where(BotState.bot_config_id == bot_id))
            if state is not None:
                state.status_message = f"tick failed: {what}"[:2000]
                state.last_execution = clock.now()
                state.is_running = False
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
        state = BotState(bot_config_id=bot_id, state_data={}, is_running=True)
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
    clock: Clock,
    feed: BarFeed | None,
    catch_up_bars: int,
) -> TickResult:
    strategy_guard.refuse_changed_code(engine, bot_id)  # activated code only
    with Session(engine, expire_on_commit=False) as session:
        bot, row = _load(session, bot_id)
        params = RuleParams.from_config(bot, fee=fee, slippage=slippage).to_array()
        if feed is None:
            feed = ExchangeFeed(exchange, bot, strategy_guard.history_bars(bot, history))
        return run_steps(
            session,
            bot,
            row,
            params,
            exchange=exchange,
            lock=lock,
            clock=clock,
            feed=feed,
            catch_up_bars=catch_up_bars,
        )


def run_steps(
    session: Session,
    bot: BotConfig,
    row: BotState,
    params: np.ndarray,
    *,
    exchange: Exchange,
    lock: HeldTickLock,
    clock: Clock,
    feed: BarFeed,
    catch_up_bars: int = CATCH_UP_BARS,
    check_exchange: bool = True,
    run: Run | None = None,
) -> TickResult:
    """The tick's steps (reconcile, decide, place, record) for a loaded bot, its state row
    and its rule parameters, under its tick lock. ``check_exchange=False`` skips comparing
    the records with the exchange's (a replay's own scratch account, which nothing else
    touches); ``run``: one of a run of ticks in one session, which commits them (see
    ``Run``)."""
    state = TickState.load(row.state_data, bot_id=bot.id)
    book = state.engine_array(params)
    tick = Tick(session, row, bot, exchange, clock, lock, params, state, book, run)
    if row.halt_reason is not None:  # until `workbench bot resolve`: no exchange call
        rule = str((row.halt_evidence or {}).get("rule", "halt"))
        message = halted_message(bot.id, rule, row.halt_reason)
        return record(tick, TickResult(bot.id, Decision.HALT, message))
    halted = check_exchange and exchange_truth.check(
        session=session, bot=bot, row=row, state=state, exchange=exchange, now=clock.now()
    )
    if halted:  # the exchange disagrees in a way the tick cannot explain
        return record(tick, halted)
    bars = feed.closed(clock.now())
    watch = drift.Watch(bot, bars, feed, params)  # what the backtest beside it needs
    reconciled = reconcile(tick, bars)
    if reconciled.result is not None:
        return record(tick, reconciled.result, watch)
    if tick.state.last_bar is not None and tick.state.last_bar >= bars.newest_ms:
        return record(tick, TickResult(bot.id, Decision.WAIT, "no new closed bar", bars.time(-1)))
    plan = decide(tick, bars, feed.signals(bars), catch_up_bars=catch_up_bars)
    if plan.halt is not None:
        return record(tick, _halt(tick, plan.halt, plan), watch)
    placed = place(tick, plan)
    note = "; ".join(n for n in (reconciled.note, placed.note, plan.said) if n)
    liquidation = plan.liquidation
    result = TickResult(
        bot.id,
        plan.decision,
        plan.reason,
        plan.bar_time,
        placed.order,
        plan.indicators,
        note,
        liquidation=liquidation.fill if liquidation else None,
        liquidation_pnl=liquidation.pnl if liquidation else None,
        caught_up=plan.caught_up,
        risk_rule=plan.risk_rule,
    )
    return record(tick, result, watch)


COMMIT_TICKS = 500  # a SessionTicker commits at least this often


class SessionTicker:
    """Ticks one bot again and again under one tick lock and in one database session: what
    a replay runs. The steps are ``run_tick``'s; the bot's config is read once (it cannot
    change meanwhile) and ``is_running`` is not flagged on every tick.

    The ticks are committed together, every ``commit_ticks`` ticks and on a clean exit
    (and, as in every tick, an order's intent before the order is sent): each commit holds
    whole ticks and the state row as of the last one, so a failure (a tick's, or anything
    else's before the exit) leaves the database as it was at the last commit. The session
    uses ``connection``; an exchange that writes to the same database (the replay's paper
    exchange) must use it too: its writes then join the ticks' transaction (on SQLite a
    second connection would wait for the ticks' commit to write)."""

    def __init__(
        self,
        bot_id: int,
        *,
        connection: Connection,
        exchange: Exchange,
        clock: Clock,
        feed: BarFeed,
        fee: float = DEFAULT_FEE,
        slippage: float = 0.0,
        catch_up_bars: int = CATCH_UP_BARS,
        commit_ticks: int = COMMIT_TICKS,
    ) -> None:
        self.bot_id, self.connection, self.exchange = bot_id, connection, exchange
        self.clock, self.feed, self.catch_up_bars = clock, feed, catch_up_bars
        self.fee, self.slippage, self.commit_ticks = fee, slippage, commit_ticks
        self.run = Run()
        self._stack = ExitStack()

    def __enter__(self) -> SessionTicker:
        with self._stack as stack:
            self.lock = stack.enter_context(tick_lock(self.connection.engine, self.bot_id))
            session = Session(self.connection, expire_on_commit=False)
            self.session = stack.enter_context(session)
            self.bot, self.row = _load(self.session, self.bot_id)
            rules = RuleParams.from_config(self.bot, fee=self.fee, slippage=self.slippage)
            self.params = rules.to_array()
            self._stack = stack.pop_all()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        with self._stack:
            if exc_type is None:
                self.commit()

    def commit(self) -> None:
        """Commit the ticks recorded since the last commit, with the state row as of the last."""
        if self.run.recorded:
            _write_state(self.session, self.row)
        _commit(self.session, self.run)
        self.run.recorded = 0

    def tick(self) -> TickResult:
        try:
            result = run_steps(
                self.session,
                self.bot,
                self.row,
                self.params,
                exchange=self.exchange,
                lock=self.lock,
                clock=self.clock,
                feed=self.feed,
                catch_up_bars=self.catch_up_bars,
                check_exchange=False,  # the replay's scratch account: nothing else trades it
                run=self.run,
            )
        except BaseException:  # an interrupted tick too: back to the last commit
            self.session.rollback()
            self.run = Run()
            raise
        if self.run.recorded >= self.commit_ticks:
            self.commit()
        return result


# --- 1. reconcile ---------------------------------------------------------------------------


def reconcile(tick: Tick, bars: Bars) -> Reconciled:
    """The bot's belief against the exchange's truth, before anything is decided (first
    ``reconcile.check``: positions and orders, in ``run_steps``, before any bar is read), the order
    an earlier tick wrote ahead is settled (recorded when filled; followed while open;
    sent again or dropped once proven absent). Ends the tick when that order was its work."""
    intent = tick.state.intent
    if intent is None:
        return Reconciled()
    tick.state.intent = None
    last_ms, bar_time, bot = bars.newest_ms, bars.time(-1), tick.bot
    decided = iso_ms(intent.bar)
    if intent.fate is None:  # due and never sent (the rest of a partly filled exit)
        placed = _execute(tick, intent, last_ms)
        late = f"decided at {decided}, sent now" if intent.bar != last_ms else ""
        return Reconciled(_settled_result(tick, intent, placed, bar_time, late, fresh=True))
    order = _settle_intent(tick, intent)
    if order is None and intent.side == "buy" and intent.bar != last_ms:
        note = f"entry of {decided} never reached the exchange; dropped"
        _add_event(tick.session, bot.id, bar_time, "drop", note)
        return Reconciled(note=note)
    late = f"decided at {decided}, filled late" if intent.bar != last_ms else ""
    if order is None:  # proven absent: send it again, same id, written ahead
        if intent.bar != last_ms:
            late = f"decided at {decided}, not delivered then; still due, sent now"
        placed = _execute(tick, intent, last_ms)
        return Reconciled(_settled_result(tick, intent, placed, bar_time, late, fresh=True))
    placed = _follow(tick, intent, order, last_ms)
    return Reconciled(_settled_result(tick, intent, placed, bar_time, late, fresh=False))


def _settled_result(
    tick: Tick, intent: Intent, placed: Placed, bar_time: datetime, late: str, *, fresh: bool
) -> TickResult:
    note = "; ".join(n for n in (late, placed.note) if n)
    if placed.open and not fresh:  # was open, still open: nothing new happened
        return TickResult(tick.bot.id, Decision.WAIT, placed.note, bar_time, placed.order)
    return TickResult(
        tick.bot.id, _decision(intent.side), intent.reason, bar_time, placed.order, note=note
    )


ENDED_UNFILLED = ("canceled", "rejected", "expired")


def _settle_intent(tick: Tick, intent: Intent) -> Order | None:
    """The order of a written-ahead intent as the exchange reports it, or None once the
    exchange has proven it absent or ended it unfilled (cancelled, rejected, expired: as if
    never sent); OrderUnknownError while its fate is still open."""
    bot, client_id = tick.bot, intent.client_order_id
    written_ms = intent.written_ms or 0
    since_ms = written_ms - 1_000 if written_ms else None
    order = tick.exchange.find_order(bot.symbol, client_id, since_ms=since_ms)
    if order is not None:
        return None if order.status in ENDED_UNFILLED and order.filled <= 0 else order
    due_ms = written_ms + tick.exchange.order_window_ms
    if now_ms(tick.clock) < due_ms:
        raise OrderUnknownError(
            f"order {client_id} of bot {bot.id} was sent at {iso_ms(written_ms)} and the "
            "exchange does not show it yet; it may still arrive, so it is not sent again "
            f"before {iso_ms(due_ms)}",
            client_order_id=client_id,
        )
    return None


# --- 2. decide ------------------------------------------------------------------------------


def decide(tick: Tick, bars: Bars, signals: BarSignals, *, catch_up_bars: int) -> Plan:
    """The rule engine over every closed bar since the last one decided (the missed ones
    first: stops, liquidation and signals; an exit found on them stays due, an entry is not
    taken late), then the newest, on which the bot acts once."""
    book, params, bot = tick.book, tick.params, tick.bot
    newest = len(bars) - 1
    last_bar = tick.state.last_bar
    if last_bar is None:  # the first tick opens its first bar
        first = newest
        e.begin_bar(book, params, bars.newest_ms, float(bars.open[newest]))
    else:
        first = int(np.searchsorted(bars.times, last_bar, "right"))
        missed = newest - first
        if first == 0 or int(bars.times[first - 1]) != last_bar or missed > catch_up_bars:
            return _gap_halt(tick, bars, last_bar, catch_up_bars)
    seen: list[str] = []
    due_exit: int | None = None
    liquidation: Liquidation | None = None
    pending, reason = e.NONE, e.R_NONE
    for i in range(first, newest + 1):
        liq_price, held = float(book[e.S_LIQ_PRICE]), float(book[e.S_QTY])
        liq_pnl = -float(book[e.S_MARGIN] + book[e.S_ENTRY_FEE])
        closed = e.on_close(
            book,
            params,
            float(bars.high[i]),
            float(bars.low[i]),
            float(bars.close[i]),
            bool(signals.entries[i]),
            bool(signals.exits[i]),
        )
        if closed == e.R_LIQUIDATION:
            fill = _record_liquidation(tick, held, liq_price, liq_pnl, bars.time(i))
            liquidation = Liquidation(fill, liq_pnl, newest_bar=i == newest)
            if i < newest:
                seen.append(f"liquidated at {bars.time(i).isoformat()}")
        pending, reason = float(book[e.S_PENDING]), int(book[e.S_PENDING_REASON])
        book[e.S_PENDING] = e.NONE
        if i == newest:
            break
        at = bars.time(i).isoformat()
        if pending == e.EXIT and due_exit is None:
            due_exit = reason
            seen.append(f"{e.REASONS[reason]} at {at}: exit due")
        elif pending == e.ENTER:
            seen.append(f"entry signal at {at} not taken late")
        e.begin_bar(book, params, int(bars.times[i + 1]), float(bars.open[i + 1]))
    if due_exit is not None and book[e.S_QTY] > 0 and pending != e.EXIT:
        pending, reason = e.EXIT, due_exit
    caught_up = (
        CatchUp(newest - first, bars.time(first), bars.time(newest - 1), tuple(seen))
        if newest > first
        else None
    )
    price = float(tick.exchange.fetch_ticker(bot.symbol).last)
    e.begin_bar(book, params, bars.newest_ms + _bar_ms(bot.timeframe), price)
    tick.state.last_bar = bars.newest_ms
    bar_time, indicators = bars.time(newest), signals.indicators_at(newest)
    said = _strategy_says(bot, bars, signals)
    if pending == e.NONE:
        rule, why = _held_by(book, params, liquidated=liquidation is not None)
        return Plan(
            Decision.HOLD, why, bar_time, None, indicators, liquidation, caught_up, None, rule, said
        )
    side: Literal["buy", "sell"] = "buy" if pending == e.ENTER else "sell"
    why = e.REASONS[reason]
    cid = client_order_id(bot.id, bars.newest_ms, side)
    if side == "buy":
        notional = e.entry_budget(book, params, price) * params[e.P_LEVERAGE]
        if notional <= 0.0:  # as the backtest: no order below the smallest
            why = "account below the smallest order: nothing opens (wiped out)"
            return Plan(
                Decision.HOLD, why, bar_time, None, indicators, liquidation, caught_up, said=said
            )
        intent = Intent(
            client_order_id=cid,
            side=side,
            bar=bars.newest_ms,
            reason=why,
            cost=Decimal(repr(float(notional))),
        )
    else:
        amount = sell_amount(tick.exchange, bot, float(book[e.S_QTY]))
        intent = Intent(
            client_order_id=cid, side=side, bar=bars.newest_ms, reason=why, amount=amount
        )
    rule = RiskRule.of_exit(why)  # the engine's exit reason names its rule
    return Plan(
        _decision(side), why, bar_time, intent, indicators, liquidation, caught_up, None, rule, said
    )


def _gap_halt(tick: Tick, bars: Bars, last_bar: int, limit: int) -> Plan:
    missed = int((bars.newest_ms - last_bar) // _bar_ms(tick.bot.timeframe)) - 1
    reason = (
        f"{missed} {tick.bot.timeframe} bars closed since the last tick's bar "
        f"({iso_ms(last_bar)}), more than the {limit} a tick catches up on; check the "
        f"position on the exchange, then `workbench bot resolve {tick.bot.id}`"
    )
    halt = Halt(rule="tick_gap", reason=reason, since=tick.clock.now(), bar=bars.newest_ms)
    return Plan(Decision.HALT, reason, bars.time(-1), halt=halt)


def _halt(tick: Tick, halt: Halt, plan: Plan) -> TickResult:
    """The bot stops trading until resolved (see ``halts``)."""
    evidence = {"bar": iso_ms(halt.bar) if halt.bar else None, "last_bar": tick.state.last_bar}
    message = halt_bot(
        tick.session,
        tick.row,
        rule=halt.rule,
        reason=halt.reason,
        evidence=evidence,
        now=halt.since,
        bar_time=plan.bar_time,
    )
    return TickResult(tick.bot.id, Decision.HALT, message, plan.bar_time)


@cache
def _bar_ms(timeframe: str) -> int:
    return timeframe_ms(timeframe)


def _decision(side: str) -> Decision:
    return Decision.ENTER if side == "buy" else Decision.EXIT


def _held_by(
    state: np.ndarray, params: np.ndarray, *, liquidated: bool
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


def _strategy_says(bot: BotConfig, bars: Bars, signals: BarSignals) -> str:
    """The strategy's own sentence on the newest bar (``Strategy.explain``)."""
    strategy = get_strategy(bot.strategy)
    i = len(bars) - 1
    action = "exit" if signals.exits[i] else "enter" if signals.entries[i] else "hold"

    def values(at: int) -> dict[str, float]:
        if at < 0:
            return {name: float("nan") for name in (*signals.indicator_names, "close")}
        return {**signals.indicators_at(at), "close": float(bars.close[at])}

    why = strategy.explain(action, dict(signals.params), values(i), values(i - 1))
    return f"strategy says {action}: {why}"


# --- 3. place -------------------------------------------------------------------------------


def place(tick: Tick, plan: Plan) -> Placed:
    """Send the plan's order (written ahead, the lock proven held) and follow it to its
    fill; nothing when the plan holds."""
    intent = plan.intent
    if intent is None:
        return Placed(None)
    fund_before_entry(tick.session.get_bind(), tick.bot, tick.exchange, intent.side)
    return _execute(tick, intent, intent.bar)


def _execute(tick: Tick, intent: Intent, last_ms: int, *, rest_now: bool = True) -> Placed:
    return _follow(tick, intent, _send(tick, intent), last_ms, rest_now=rest_now)


def _follow(
    tick: Tick, intent: Intent, order: Order, last_ms: int, *, rest_now: bool = True
) -> Placed:
    """Bring the engine and the trades in line with ``order`` as the exchange reports it.
    Open within its bar: kept for the next tick to ask again; open at a later bar:
    cancelled. Ended partly filled: recorded with its real quantity, and an exit's rest is
    sent (now, or by the next tick when a rest ended partly filled too)."""
    cid = intent.client_order_id
    if order.status == "open":
        if intent.bar == last_ms:
            tick.state.intent = intent.model_copy(update={"fate": "open", "order_id": order.id})
            note = (
                f"order {cid} is open, {order.filled} of {order.amount} filled; asked again on "
                "the next tick, cancelled at the next bar"
            )
            return Placed(order, note, open=True)
        order = tick.exchange.cancel_order(tick.bot.symbol, order.id)
    tick.state.intent = None
    if order.status == "closed":
        _apply_fill(tick, intent, order)
        return Placed(order)
    note = f"order {cid} {order.status} with {order.filled} of {order.amount} filled"
    if order.filled > 0:
        _apply_fill(tick, intent, order)
    if intent.side == "buy" or tick.book[e.S_QTY] <= 0:
        return Placed(order if order.filled > 0 else None, note)
    rest = Intent(
        client_order_id=f"{cid}-rest",
        side="sell",
        bar=last_ms,
        reason=intent.reason,
        amount=sell_amount(tick.exchange, tick.bot, float(tick.book[e.S_QTY])),
    )
    if not rest_now:
        tick.state.intent = rest  # due, not sent: the next tick sends it
        return Placed(order, f"{note}; the rest is sent by the next tick")
    sent = _execute(tick, rest, last_ms, rest_now=False)
    rest_note = f"; the rest: {sent.note}" if sent.note else "; the rest sent"
    return Placed(sent.order or order, note + rest_note, sent.open)


def _send(tick: Tick, intent: Intent) -> Order:
    """Write ahead (the decision, its client order id and the send time are committed before
    sending), prove the lock still held, send. An order whose fate the exchange leaves open
    is kept as "unknown" for the next tick to look up."""
    sending = intent.model_copy(update={"written_ms": now_ms(tick.clock), "fate": "sending"})
    tick.state.intent = sending
    _store(tick, running=True)
    _commit(tick.session, tick.run)
    tick.lock.check()
    try:
        return _place(tick.exchange, tick.bot, sending)
    except OrderUnknownError:
        tick.state.intent = sending.model_copy(update={"fate": "unknown"})
        _store(tick, running=True)
        _commit(tick.session, tick.run)
        raise


def _place(exchange: Exchange, bot: BotConfig, intent: Intent) -> Order:
    if intent.side == "buy":
        return exchange.create_order(
            bot.symbol, Side.BUY, "market", cost=intent.cost, client_order_id=intent.client_order_id
        )
    return exchange.create_order(
        bot.symbol, Side.SELL, "market", intent.amount, client_order_id=intent.client_order_id
    )


def _apply_fill(tick: Tick, intent: Intent, order: Order) -> None:
    """Bring the engine state and the trades table in line with a filled order (its real
    quantity: a partly filled sell closes that part of the position)."""
    bot, exchange, book, params = tick.bot, tick.exchange, tick.book, tick.params
    price = float(order.price or 0)
    base, quote = base_currency(bot.symbol), quote_currency(bot.symbol)
    fee = float(order.fee)
    qty = float(order.filled)
    if order.fee_currency == base:  # charged in the base asset: less of it was received
        fee *= price
        if intent.side == "buy":
            qty -= float(order.fee)
    elif order.fee_currency not in (None, quote):
        log.warning("fee of %s paid in %s is not counted", order.id, order.fee_currency)
        fee = 0.0
    pnl: float | None = None
    if intent.side == "buy":
        e.apply_entry(book, params, price, qty, fee)
    elif order.status != "closed" and order.filled < order.amount:
        pnl = _apply_partial_exit(book, params, price, qty, fee)
    else:
        pnl = e.apply_exit(book, params, price, fee)
    money = None if pnl is None else _money(pnl)
    record_trade(tick.session, bot, exchange, order, now=tick.clock.now(), pnl=money)


def _apply_partial_exit(
    book: np.ndarray, params: np.ndarray, price: float, qty: float, fee: float
) -> float:
    """Close ``qty`` of the position at ``price`` (the engine closes whole positions only);
    returns that part's PnL after its fees."""
    held = float(book[e.S_QTY])
    if qty >= held:
        return float(e.apply_exit(book, params, price, fee))
    share = qty / held
    margin, entry_fee = book[e.S_MARGIN] * share, book[e.S_ENTRY_FEE] * share
    gross = qty * (price - book[e.S_ENTRY_PRICE])
    if params[e.P_FUTURES] > 0.0:
        book[e.S_CASH] += max(margin + gross, 0.0) - fee
    else:
        book[e.S_CASH] += qty * price - fee
    book[e.S_QTY] = held - qty
    book[e.S_MARGIN] -= margin
    book[e.S_ENTRY_FEE] -= entry_fee
    return float(gross - fee - entry_fee)


def _money(value: float) -> Decimal:
    return Decimal(repr(round(value, 10)))


def _record_liquidation(
    tick: Tick, quantity: float, price: float, pnl: float, bar_time: datetime
) -> Order:
    """The exchange closed the position at its liquidation price, taking the margin."""
    bot, exchange = tick.bot, tick.exchange
    bar_ms = int(bar_time.timestamp() * 1000)
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
    tick.session.add(
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


# --- 4. record ------------------------------------------------------------------------------


def record(tick: Tick, result: TickResult, watch: drift.Watch | None = None) -> TickResult:
    """Store the bot's state, its events and alerts and the outcome in one commit (a run's
    tick: in its run's next commit)."""
    _record_event(tick, result)
    run = tick.run
    if watch is not None:
        kept = run.drift if run is not None else None
        drift.record(session=tick.session, watch=watch, result=result, kept=kept)
    status = result.summary()[:2000]
    if run is None:
        _store(tick, running=False, status=status)
        tick.session.commit()
    else:  # the row keeps it; the run's commit writes it (``_write_state``)
        _keep(tick, _state_values(tick, running=False, status=status))
        run.recorded += 1
    return result


def _commit(session: Session, run: Run | None) -> None:
    """Commit, with what the run keeps unwritten (its ticks' drift rows)."""
    if run is not None:
        run.drift.write(session)
    session.commit()


def _store(tick: Tick, *, running: bool, status: str | None = None) -> None:
    """Write the state row in this transaction: one plain UPDATE, built once (the tick's
    most frequent statement), with the loaded row kept equal to it."""
    values = _state_values(tick, running=running, status=status)
    tick.session.connection().execute(_state_update(), {"row_id": tick.row.id, **values})
    _keep(tick, values)


def _state_values(tick: Tick, *, running: bool, status: str | None = None) -> dict[str, object]:
    return {
        "state_data": tick.state.with_engine(tick.book).dump(),
        "last_execution": tick.clock.now(),
        "is_running": running,
        "status_message": tick.row.status_message if status is None else status,
    }


def _keep(tick: Tick, values: dict[str, object]) -> None:
    """The loaded row takes ``values`` as written (no UPDATE of its own at the next flush)."""
    for name, value in values.items():
        set_committed_value(tick.row, name, value)


def _write_state(session: Session, row: BotState) -> None:
    """Write the values the loaded row keeps (``_keep``) in this transaction."""
    values = {name: getattr(row, name) for name in _STATE_COLUMNS}
    session.connection().execute(_state_update(), {"row_id": row.id, **values})


_STATE_COLUMNS = ("state_data", "last_execution", "is_running", "status_message")


@cache
def _state_update() -> sa.Update:
    table = cast(sa.Table, BotState.__table__)
    return (
        sa.update(table)
        .where(table.c.id == sa.bindparam("row_id"))
        .values({name: sa.bindparam(name) for name in _STATE_COLUMNS})
    )


def _add_event(session: Session, bot_id: int, bar_time: datetime, decision: str, why: str) -> None:
    session.add(BotEvent(bot_id=bot_id, bar_time=bar_time, decision=decision, reason=why[:200]))


def _record_event(tick: Tick, result: TickResult) -> None:
    """Log orders, a catch-up, a halt, and a risk rule the first tick it holds the bot back
    (not every tick)."""
    session, bot_id, state = tick.session, tick.bot.id, tick.state
    if result.bar_time is None or result.decision == Decision.WAIT:
        return
    if result.caught_up is not None:
        _add_event(session, bot_id, result.bar_time, "catch_up", result.caught_up.summary())
    if result.decision == Decision.HALT:
        return
    rule = result.risk_rule
    if result.decision not in (Decision.ENTER, Decision.EXIT) and (
        rule is None or state.last_risk == rule
    ):
        state.last_risk = rule
        return
    state.last_risk = rule
    _queue_alerts(session, bot_id, result, rule, tick.clock.now())
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


def _queue_alerts(
    session: Session, bot_id: int, result: TickResult, rule: RiskRule | None, now: datetime
) -> None:
    """Alerts for a fill and for a rule that halts the bot, in the tick's own commit."""
    from workbench.notify import AlertKind, queue_alert

    bar = result.bar_time.isoformat() if result.bar_time else "-"
    order = result.order
    if order is not None and result.decision in (Decision.ENTER, Decision.EXIT):
        queue_alert(
            session=session,
            kind=AlertKind.FILL,
            dedupe_key=f"fill:{bot_id}:{bar}:{result.decision}",
            title=f"bot {bot_id}: {result.decision} {order.symbol}",
            body=f"{order.side} {order.filled} {order.symbol} at {order.price} "
            f"({result.reason}), bar {bar}, order {order.id}",
            now=now,
        )
    if rule is not None and rule.halts:
        queue_alert(
            session=session,
            kind=AlertKind.HALT,
            dedupe_key=f"halt:{bot_id}:{bar}:{rule}",
            title=f"bot {bot_id} halted: {rule}",
            body=f"{result.reason} at bar {bar}",
            now=now,
        )
