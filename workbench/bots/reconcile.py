"""Exchange truth on every tick: what the database believes against what the exchange says.

Before a tick decides anything, :func:`check` compares the bot's records (the quantity it
holds, the order it wrote ahead, the trades it recorded) with the exchange's (a futures
position or a spot account's base balance, and the recent orders carrying the bot's client
ids ``wb{bot_id}-...``).

Explained, recorded as a bot event and corrected by the tick itself:

- the pending order filled and the tick never saw it (a missed fill): its settlement
  records the fill with its real quantity, in this tick;
- the exchange cancelled the pending order: nothing filled, the settlement sends it again
  (an exit, or an entry of the newest bar) or drops it;
- a futures position the exchange liquidated after the bot's last trade: the tick's engine
  records the liquidation on this bar.

Unexplained, the bot **halts**: the exchange holds more than the records (an order of
ours we have no record of filled), or less (sold outside the bot), an open order carries
our client id but was never sent by us, or a pending entry the exchange proved it never
received cannot be paid from the account's free quote balance. The evidence is stored on the
bot's state and in a bot event, an alert is queued, and every later tick holds without
asking the exchange until :func:`resolve` (``workbench bot resolve ID --adopt|--close``)
adopts the exchange's view or closes the difference at market.

What the database believes is the tick's typed state (``bots/state.py``); ``resolve``
changes it only through :func:`set_held_quantity` and :func:`drop_pending`. Every halt is
kept as ``bots/halts.py`` says; resolving a gap halt lets the next tick start at the
newest bar (the missed ones are skipped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workbench.bots.fills import record_trade
from workbench.bots.halts import halt_bot
from workbench.bots.state import Intent, TickState
from workbench.db.models import BotConfig, BotEvent, BotState, Side, Trade
from workbench.errors import ConflictError, NotFoundError
from workbench.market.exchange import Exchange, Order
from workbench.market.names import base_currency, split_symbol
from workbench.types import Decision

if TYPE_CHECKING:
    from workbench.bots.runner import TickResult

# Quantities within this much (absolute plus relative to the larger) agree: the records
# keep floats, exchanges round to their steps.
ABS_TOLERANCE = Decimal("1e-9")
REL_TOLERANCE = Decimal("1e-6")
FINAL = ("closed", "canceled", "rejected", "expired")


def client_prefix(bot_id: int) -> str:
    """The start of every client order id bot ``bot_id`` sends (``wb3-`` never matches
    ``wb31-``)."""
    return f"wb{bot_id}-"


# --- what the database believes (the tick's typed state, bots/state.py) --------------------


def belief(row: BotState) -> TickState:
    """The bot's stored runtime state."""
    return TickState.load(row.state_data, bot_id=row.bot_config_id)


def held_quantity(row: BotState) -> Decimal:
    """The base quantity the bot's records hold."""
    return Decimal(repr(float(belief(row).engine.get("qty", 0.0))))


def drop_pending(row: BotState) -> None:
    """Forget the order written ahead (its decision will not be carried out)."""
    state = belief(row)
    state.intent = None
    row.state_data = state.dump()


def set_held_quantity(row: BotState, bot: BotConfig, quantity: Decimal, price: Decimal) -> None:
    """Make the records hold ``quantity``, the change valued at ``price`` with no fee (a
    new position enters at ``price``; a smaller one keeps its entry price)."""
    from workbench.rules import RuleParams
    from workbench.rules import engine as e

    params = RuleParams.from_config(bot).to_array()
    state = belief(row)
    s = state.engine_array(params)
    new, old, px = float(quantity), float(s[e.S_QTY]), float(price)
    leverage, futures = float(params[e.P_LEVERAGE]), params[e.P_FUTURES] > 0.0
    if new > old:
        added = (new - old) * px / leverage
        s[e.S_CASH] -= added
        s[e.S_MARGIN] += added
        s[e.S_ENTRY_PRICE] = (old * s[e.S_ENTRY_PRICE] + (new - old) * px) / new
        s[e.S_PEAK] = max(s[e.S_PEAK], px)
    elif new < old:
        part = (old - new) / old
        released = s[e.S_MARGIN] * part
        gain = (old - new) * (px - s[e.S_ENTRY_PRICE])
        s[e.S_CASH] += max(released + gain, 0.0) if futures else (old - new) * px
        s[e.S_MARGIN] -= released
        s[e.S_ENTRY_FEE] *= 1.0 - part
    s[e.S_QTY] = new
    if new <= 0.0:
        for slot in (e.S_QTY, e.S_ENTRY_PRICE, e.S_MARGIN, e.S_ENTRY_FEE, e.S_PEAK):
            s[slot] = 0.0
    if futures:
        from workbench.market.margin import liquidation_price

        s[e.S_LIQ_PRICE] = (
            liquidation_price(s[e.S_ENTRY_PRICE], leverage, float(params[e.P_MAINT_MARGIN]))
            if new > 0.0
            else 0.0
        )
    row.state_data = state.with_engine(s).dump()


# --- the comparison ------------------------------------------------------------------------


@dataclass
class Comparison:
    """The bot's records against the exchange, for one symbol."""

    ours: Decimal  # what the records hold, a pending order's fill included
    theirs: Decimal  # what the exchange holds for the bot
    pending_fill: Decimal  # the signed base quantity of the pending order's fill (if any)
    pending: Intent | None
    unknown_fills: list[Order] = field(default_factory=list)  # ours by id, not recorded
    unknown_open: list[Order] = field(default_factory=list)  # open, ours by id, never sent
    notes: list[str] = field(default_factory=list)  # explained: said in events
    base: str = ""
    # A pending entry the exchange never received and the account cannot pay: (free, asset).
    short_quote: tuple[Decimal, str] | None = None

    @property
    def difference(self) -> Decimal:
        """Exchange minus records, zero when they agree within the tolerance."""
        gap = self.theirs - self.ours
        allowed = ABS_TOLERANCE + REL_TOLERANCE * max(abs(self.ours), abs(self.theirs))
        return Decimal(0) if abs(gap) <= allowed else gap

    def findings(self) -> list[str]:
        """What cannot be explained, one sentence each (empty when all agrees)."""
        out = []
        gap = self.difference
        if gap:
            word = "more" if gap > 0 else "less"
            out.append(
                f"the exchange holds {word} than the bot's records: "
                f"{_num(self.theirs)} {self.base} against {_num(self.ours)}"
                + (
                    f" (filled orders never recorded: {_ids(self.unknown_fills)})"
                    if gap > 0 and self.unknown_fills
                    else ""
                )
            )
        if self.short_quote is not None and self.pending is not None:
            free, asset = self.short_quote
            out.append(
                f"the account has {_num(free)} {asset} free; the pending entry "
                f"{self.pending.client_order_id} needs {_num(self.pending.cost)}"
            )
        if self.unknown_open:
            out.append(
                f"open orders with the bot's client id it never sent: {_ids(self.unknown_open)}"
            )
        return out

    def evidence(self) -> dict[str, Any]:
        return {
            "ours": str(self.ours),
            "exchange": str(self.theirs),
            "asset": self.base,
            "pending": self.pending.client_order_id if self.pending else None,
            "unknown_fills": [_order_json(o) for o in self.unknown_fills],
            "unknown_open": [_order_json(o) for o in self.unknown_open],
            "findings": self.findings(),
        }


def _num(value: Decimal | None) -> str:
    return "-" if value is None else format(value.normalize(), "f")


def _ids(orders: list[Order]) -> str:
    return ", ".join(str(o.client_order_id) for o in orders)


def _order_json(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "client_order_id": order.client_order_id,
        "side": order.side,
        "status": order.status,
        "filled": str(order.filled),
        "price": None if order.price is None else str(order.price),
    }


def _received(order: Order, base: str) -> Decimal:
    """The signed base quantity an order moved (a buy's fee in the base asset deducted)."""
    if order.side == "sell":
        return -order.filled
    return order.filled - (order.fee if order.fee_currency == base else Decimal(0))


def _recorded(session: Session, exchange: Exchange, client_ids: list[str]) -> set[str]:
    if not client_ids:
        return set()
    return set(
        session.scalars(
            sa.select(Trade.client_order_id).where(
                Trade.exchange == exchange.id,
                Trade.account == exchange.account,
                Trade.client_order_id.in_(client_ids),
            )
        )
    )


def compare(
    *, session: Session, bot: BotConfig, state: TickState, exchange: Exchange, now_ms: int
) -> Comparison:
    """The bot's records against the exchange's orders and holdings (no change made)."""
    base = base_currency(bot.symbol)
    prefix = client_prefix(bot.id)
    pending = state.intent
    orders = exchange.fetch_orders(bot.symbol)
    mine = [o for o in orders if o.client_order_id and o.client_order_id.startswith(prefix)]
    recorded = _recorded(session, exchange, [str(o.client_order_id) for o in mine])
    notes: list[str] = []
    pending_fill = Decimal(0)
    unknown_fills: list[Order] = []
    unknown_open: list[Order] = []
    for order in mine:
        cid = str(order.client_order_id)
        if cid in recorded:
            continue
        if pending is not None and cid == pending.client_order_id:
            pending_fill = _received(order, base) if order.filled > 0 else Decimal(0)
            if order.status == "closed" and order.filled > 0:
                notes.append(
                    f"missed fill: {cid} filled {_num(order.filled)} {base} at "
                    f"{_num(order.price)} on the exchange; recorded now"
                )
            elif order.status in FINAL:
                notes.append(
                    f"{cid} was {order.status} by the exchange with {_num(order.filled)} {base} "
                    "filled; the tick sends it again or drops it"
                )
            continue
        if order.filled > 0:
            unknown_fills.append(order)
        if order.status == "open":
            unknown_open.append(order)
    ours = Decimal(repr(float(state.engine.get("qty", 0.0)))) + pending_fill
    short_quote = None
    seen = recorded | {str(o.client_order_id) for o in mine}
    if (
        pending is not None
        and pending.cost is not None
        and pending.client_order_id not in seen
        and now_ms >= (pending.written_ms or 0) + exchange.order_window_ms  # proven absent
    ):
        symbol = split_symbol(bot.symbol)
        asset = symbol.settle or symbol.quote
        balance = exchange.fetch_balance().get(asset)
        free = balance.free if balance is not None else Decimal(0)
        if free < pending.cost:
            short_quote = (free, asset)
    held = exchange.fetch_holding(bot.symbol)
    if ":" in bot.symbol:  # futures: the exchange's position is the bot's
        theirs = held
        liquidated = _liquidation_since_last_trade(session, bot, exchange, orders)
        if theirs < ours and liquidated is not None:
            notes.append(
                f"the exchange liquidated {_num(liquidated.filled)} {bot.symbol} at "
                f"{_num(liquidated.price)} ({liquidated.client_order_id}); the tick records it"
            )
            theirs = ours
    else:  # spot: the account may hold more of the asset than the bot; never less
        theirs = min(ours + sum((_received(o, base) for o in unknown_fills), Decimal(0)), held)
    return Comparison(
        ours=ours,
        theirs=theirs,
        pending_fill=pending_fill,
        pending=pending,
        unknown_fills=unknown_fills,
        unknown_open=unknown_open,
        notes=notes,
        base=base,
        short_quote=short_quote,
    )


LIQUIDATION_IDS = ("liquidation-", "autoclose-")  # the paper exchange's, Binance's


def _liquidation_since_last_trade(
    session: Session, bot: BotConfig, exchange: Exchange, orders: list[Order]
) -> Order | None:
    """The exchange's liquidation of the position after the bot's last recorded trade: the
    tick's engine records it on this bar (it is not a mismatch)."""
    last = session.scalar(
        sa.select(sa.func.max(Trade.timestamp)).where(
            Trade.bot_config_id == bot.id,
            Trade.exchange == exchange.id,
            Trade.account == exchange.account,
        )
    )
    for order in reversed(orders):
        if (
            str(order.client_order_id).startswith(LIQUIDATION_IDS)
            and order.filled > 0
            and (last is None or (order.timestamp is not None and order.timestamp >= last))
        ):
            return order
    return None


# --- the tick's hook -----------------------------------------------------------------------


def check(
    *,
    session: Session,
    bot: BotConfig,
    row: BotState,
    state: TickState,
    exchange: Exchange,
    now: datetime,
) -> TickResult | None:
    """Reconcile at the start of a tick. None when the tick may go on (explained changes
    are events in ``session``, committed with the tick); a halting result when the exchange
    disagrees in a way the tick cannot explain (the halt is in ``session``, see ``halts``)."""
    from workbench.bots.runner import TickResult

    found = compare(
        session=session, bot=bot, state=state, exchange=exchange, now_ms=int(now.timestamp() * 1000)
    )
    for note in found.notes:
        session.add(BotEvent(bot_id=bot.id, bar_time=now, decision="reconcile", reason=note[:200]))
    findings = found.findings()
    if not findings:
        return None
    message = halt_bot(
        session,
        row,
        rule="reconcile",
        reason="; ".join(findings),
        evidence=found.evidence(),
        now=now,
    )
    return TickResult(bot.id, Decision.HALT, message)


# --- resolving a halt -------------------------------------------------------------------------

Mode = Literal["adopt", "close"]


def resolve(*, engine: Engine, bot_id: int, exchange: Exchange, mode: Mode) -> str:
    """End a halt of bot ``bot_id`` (any rule, see ``halts``): ``adopt`` makes the records hold what
    the exchange holds; ``close`` cancels the open orders it never sent and sells what the
    exchange holds beyond the records at market (a deterministic client order id, recorded
    as a trade). Filled orders of the bot it had no record of are recorded as its trades
    either way. Returns what was done (also a bot event)."""
    from workbench.bots.tick_lock import tick_lock

    with tick_lock(engine, bot_id), Session(engine, expire_on_commit=False) as session:
        bot = session.get(BotConfig, bot_id)
        if bot is None:
            raise NotFoundError(f"no bot with id {bot_id}; see `workbench bot list`")
        state = session.scalar(
            sa.select(BotState).where(BotState.bot_config_id == bot_id).with_for_update()
        )
        if state is None or state.halt_reason is None or state.halted_at is None:
            raise ConflictError(f"bot {bot_id} is not halted; there is nothing to resolve")
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        found = compare(
            session=session, bot=bot, state=belief(state), exchange=exchange, now_ms=now_ms
        )
        gap = found.difference
        if mode == "adopt" and found.unknown_open:
            raise ConflictError(
                f"bot {bot_id} has open orders it never sent ({_ids(found.unknown_open)}); "
                "they cannot be adopted: cancel them with `--close`"
            )
        if mode == "close" and found.short_quote is not None:
            raise ConflictError(
                f"bot {bot_id}'s pending entry cannot be paid by the account: there is "
                "nothing to close; drop the entry with `--adopt`"
            )
        if mode == "close" and gap < 0:
            raise ConflictError(
                f"the exchange holds less {found.base} than bot {bot_id}'s records "
                f"({_num(found.theirs)} against {_num(found.ours)}): there is nothing to close; "
                "adopt the exchange's position with `--adopt`"
            )
        done: list[str] = []
        for order in found.unknown_fills:
            record_trade(session, bot, exchange, order, now=datetime.now(UTC))
        if found.unknown_fills:
            done.append(f"recorded {_ids(found.unknown_fills)} as the bot's trades")
        if mode == "adopt":
            if gap:
                price = exchange.fetch_ticker(bot.symbol).last
                set_held_quantity(state, bot, found.theirs - found.pending_fill, price)
            if found.short_quote is not None and found.pending is not None:
                drop_pending(state)
                done.append(f"dropped the pending entry {found.pending.client_order_id}")
            done.append(
                f"adopted the exchange's {_num(found.theirs)} {found.base} "
                f"(records: {_num(found.ours)})"
            )
        else:
            for order in found.unknown_open:
                exchange.cancel_order(bot.symbol, order.id)
            if found.unknown_open:
                done.append(f"cancelled {_ids(found.unknown_open)}")
            if gap > 0:
                halted_ms = int(state.halted_at.timestamp() * 1000)
                sold = _sell(exchange, bot, gap, f"{client_prefix(bot.id)}{halted_ms}-resolve-sell")
                record_trade(session, bot, exchange, sold, now=datetime.now(UTC))
                done.append(
                    f"sold {_num(sold.filled)} {found.base} at {_num(sold.price)} "
                    f"({sold.client_order_id})"
                )
        what = f"resolved ({mode}): " + "; ".join(done or ["the exchange agrees again"])
        session.add(
            BotEvent(
                bot_id=bot.id,
                bar_time=datetime.now(UTC),
                decision="resolve",
                reason=what[:200],
                risk_rule="reconcile",
            )
        )
        if (state.halt_evidence or {}).get("rule") == "tick_gap":
            resumed = belief(state)
            resumed.last_bar = None  # the missed bars are skipped: start at the newest one
            state.state_data = resumed.dump()
        state.halt_reason = state.halt_evidence = state.halted_at = None
        state.status_message = what[:2000]
        session.commit()
        return what


def halt_of(*, session: Session, bot_id: int) -> tuple[str, dict[str, Any]]:
    """Why bot ``bot_id`` is halted and the evidence; ConflictError when it is not."""
    if session.get(BotConfig, bot_id) is None:
        raise NotFoundError(f"no bot with id {bot_id}; see `workbench bot list`")
    row = session.execute(
        sa.select(BotState.halt_reason, BotState.halt_evidence).where(
            BotState.bot_config_id == bot_id
        )
    ).first()
    if row is None or row.halt_reason is None:
        raise ConflictError(f"bot {bot_id} is not halted; there is nothing to resolve")
    return row.halt_reason, dict(row.halt_evidence or {})


def _sell(exchange: Exchange, bot: BotConfig, amount: Decimal, client_id: str) -> Order:
    """A market sell of ``amount`` with ``client_id``, never sent twice for one halt."""
    found = exchange.find_order(bot.symbol, client_id)
    if found is not None and found.status == "closed":
        return found
    return exchange.create_order(bot.symbol, Side.SELL, "market", amount, client_order_id=client_id)
