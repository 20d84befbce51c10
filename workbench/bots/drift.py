"""Live vs backtest, watched: each live tick records what the backtest would have decided.

The backtest runs beside the bot as its *shadow*: the strategy's signals on the bars the
tick read (from its own feed), through the same rule engine the backtest loop runs
(``rules.simulate``: begin the bar, fill the pending order at its open, close it),
carried from bar to bar in its own state with its own fills, as a backtest started at the
bot's first bar would be. A tick
steps the shadow over every closed bar since its last one: a bar the shadow steps without
a live decision is a bar no tick decided. Each bar becomes a ``BotDrift`` row, written in
the tick's own commit; ``drift_compare`` classifies the differences and alerts.

Cost per tick: the feed's signals on the bars read (a live feed computes them again, a
replay's are precomputed) and a few engine calls per new bar; the engine is the one the
tick already loaded. A tick that halts the bot records "halt" as its decision; the ticks of
a bot already halted read no bars and record nothing (the tick after the resolve steps
over those bars).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, NamedTuple, cast

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.bots.drift_compare import (
    DriftRow,
    alert_divergences,
    classify,
    drift_rows,
    select_drift,
    window_hash,
)
from workbench.db.models import BotConfig, BotDrift
from workbench.market.names import base_currency, quote_currency

if TYPE_CHECKING:
    from workbench.bots.bars import BarFeed, Bars
    from workbench.bots.runner import TickResult

log = logging.getLogger(__name__)
_CLIENT_BAR = re.compile(r"^wb\d+-(\d+)-")  # runner.client_order_id: wb{bot}-{bar ms}-{side}
DECIDED = ("enter", "exit", "hold", "halt")


class Watch(NamedTuple):
    """What a tick read and ran under: all the shadow needs besides the tick's result."""

    bot: BotConfig
    bars: Bars
    feed: BarFeed  # gives the strategy's signals on ``bars``
    params: np.ndarray  # the rule engine's parameters the tick ran under


class Kept:
    """The drift rows of one bot as the ticks of one session write them (a replay's): the
    newest is read once, then kept, not read back on every tick, and new rows are inserted
    together by ``write``, which the session calls before each commit."""

    def __init__(self) -> None:
        self._newest: DriftRow | None = None
        self._read = False
        self._unwritten: list[DriftRow] = []

    def newest(self, session: Session, bot_id: int) -> DriftRow | None:
        if not self._read:
            self._newest, self._read = _newest(session, bot_id), True
        return self._newest

    def at(self, session: Session, bot_id: int, bar_time: datetime) -> DriftRow | None:
        """The row of ``bar_time``: an unwritten one, else the stored one."""
        for row in self._unwritten:
            if row.bar_time == bar_time:
                return row
        return _row_at(session, bot_id, bar_time)

    def add(self, rows: list[DriftRow]) -> None:
        self._unwritten += rows
        self._newest, self._read = rows[-1], True

    def unwritten(self, row: DriftRow) -> bool:
        return any(r is row for r in self._unwritten)

    def write(self, session: Session) -> None:
        if self._unwritten:
            session.connection().execute(_insert(), [r.values() for r in self._unwritten])
            self._unwritten = []


class _Found(NamedTuple):
    """What a tick's drift comes to, all computed before anything is written."""

    new: list[DriftRow]  # rows to insert
    changed: list[tuple[DriftRow, tuple[str, ...]]]  # stored rows, with the columns changed
    compared: list[DriftRow]  # the rows to compare (changed and new)


NOTHING = _Found([], [], [])
LIVE_COLUMNS = ("live_decision", "live_reason", "live_price", "live_cost", "live_fee")
FILL_COLUMNS = ("backtest_price", "backtest_fee")


def record(*, session: Session, watch: Watch, result: TickResult, kept: Kept | None = None) -> None:
    """Record the backtest's decision beside the tick's ``result`` for the bar it decided,
    stepping the shadow over the bars since its last one, and queue an alert for each
    divergence found. Part of the tick's transaction (no savepoint of its own: on SQLite
    one would commit early). The rows are computed before anything is written, and a
    failure there is logged with its traceback, never the tick's (as a notifier's).
    ``kept``: the rows of the session's earlier ticks (see ``Kept``; default: read from the
    database, and the new rows written now)."""
    bot = watch.bot
    if result.decision not in DECIDED or result.bar_time is None or not len(watch.bars):
        return
    rows = kept if kept is not None else Kept()
    try:
        found = _record(session, watch, result, rows)
    except Exception:  # an observer's bug must not stop trading; logged in full
        log.exception("drift of bot %s at %s not recorded", bot.id, result.bar_time)
        return
    for row, names in found.changed:
        if not rows.unwritten(row):  # else inserted as it is now
            session.connection().execute(_update(names), {**_key(row), **row.values(names)})
    if found.new:
        rows.add(found.new)
    if kept is None:
        rows.write(session)
    alert_divergences(session=session, divergences=classify(found.compared))


def _decided_ms(result: TickResult) -> int:
    """The bar the live decision belongs to: an order's own bar (a late fill settles an
    earlier bar's order), else the tick's bar."""
    order = result.order or result.liquidation
    match = _CLIENT_BAR.match(order.client_order_id or "") if order is not None else None
    if match is not None:
        return int(match.group(1))
    assert result.bar_time is not None
    return _ms(result.bar_time)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _newest(session: Session, bot_id: int) -> DriftRow | None:
    query = select_drift().where(BotDrift.bot_id == bot_id)
    rows = drift_rows(session, query.order_by(BotDrift.bar_time.desc()).limit(1))
    return rows[0] if rows else None


def _row_at(session: Session, bot_id: int, bar_time: datetime) -> DriftRow | None:
    query = select_drift().where(BotDrift.bot_id == bot_id, BotDrift.bar_time == bar_time)
    rows = drift_rows(session, query)
    return rows[0] if rows else None


def _table() -> sa.Table:
    return cast(sa.Table, BotDrift.__table__)


@cache
def _insert() -> sa.Insert:
    return sa.insert(_table())


def _key(row: DriftRow) -> dict[str, object]:
    return {"key_bot_id": row.bot_id, "key_bar_time": row.bar_time}


@cache
def _update(names: tuple[str, ...]) -> sa.Update:
    """Set ``names`` of the row of a bot and bar (bound as ``_key`` says)."""
    table = _table()
    return (
        sa.update(table)
        .where(
            table.c.bot_id == sa.bindparam("key_bot_id"),
            table.c.bar_time == sa.bindparam("key_bar_time"),
        )
        .values({name: sa.bindparam(name) for name in names})
    )


def _record(session: Session, watch: Watch, result: TickResult, kept: Kept) -> _Found:
    from workbench.rules import engine as e

    bot, bars, params = watch.bot, watch.bars, watch.params
    decided_ms = _decided_ms(result)
    times = np.asarray(bars.times, dtype=np.int64)
    values = bars.ohlc
    end = int(np.searchsorted(times, decided_ms, side="right"))
    if end == 0 or times[end - 1] != decided_ms:
        log.warning("bot %s decided bar %s, which it did not read", bot.id, _time(decided_ms))
        return NOTHING
    last = kept.newest(session, bot.id)
    if last is not None and _ms(last.bar_time) >= decided_ms:  # stepped already
        row = kept.at(session, bot.id, _time(decided_ms))
        if row is None or row.live_decision is not None:
            return NOTHING
        _set_live(row, bot, result)
        return _Found([], [(row, LIVE_COLUMNS)], [row])

    first, state = end - 1, e.new_state(params)  # a new shadow starts at the decided bar
    if last is not None:
        following = int(np.searchsorted(times, _ms(last.bar_time), side="right"))
        seen = following > 0 and times[following - 1] == _ms(last.bar_time)
        if seen and len(last.shadow_state) == len(state):
            first, state = following, np.array(last.shadow_state, dtype=float)
        else:
            log.warning(
                "bot %s: the backtest beside it starts again at %s (its last bar %s is not "
                "among the bars read, or the engine's state changed)",
                bot.id,
                _time(decided_ms),
                last.bar_time,
            )
            last = None
    signals = watch.feed.signals(bars)
    entries, exits = signals.entries, signals.exits
    base, quote = base_currency(bot.symbol), quote_currency(bot.symbol)
    fee_rate, slippage = _dec(params[e.P_FEE]), _dec(params[e.P_SLIPPAGE])

    new: list[DriftRow] = []
    last_fill: tuple[Decimal, Decimal] | None = None  # the last row's fill, known now
    previous = last
    for t in range(first, end):
        o, h, lo, c = values[t].tolist()
        e.begin_bar(state, params, int(times[t]), o)
        side, price, qty, fee = e.fill_pending(state, params, o)
        if side == e.ENTER:
            e.apply_entry(state, params, price, qty, fee)
        elif side == e.EXIT:
            e.apply_exit(state, params, price, fee)
        if side != e.NONE and previous is last:  # the previous bar's order filled now
            last_fill = _dec(price), _dec(fee)
        elif side != e.NONE and previous is not None:
            previous.backtest_price, previous.backtest_fee = _dec(price), _dec(fee)
        liquidated = e.on_close(state, params, h, lo, c, entries[t], exits[t]) == e.R_LIQUIDATION
        pending = float(state[e.S_PENDING])
        if pending == e.NONE:
            decision = "hold"
            reason = "liquidated" if liquidated else _hold_reason(state, params)
        else:
            decision = "enter" if pending == e.ENTER else "exit"
            reason = e.REASONS[int(state[e.S_PENDING_REASON])]
        row = DriftRow(
            bot_id=bot.id,
            bar_time=_time(int(times[t])),
            backtest_decision=decision,
            backtest_reason=reason,
            fee_rate=fee_rate,
            slippage=slippage,
            open=o,
            high=h,
            low=lo,
            close=c,
            window_start=_time(int(times[0])),
            window_bars=t + 1,
            window_hash=window_hash(times[: t + 1], values[: t + 1]),
            shadow_state=state.tolist(),
        )
        if t == end - 1:
            _set_live(row, bot, result, base=base, quote=quote)
        new.append(row)
        previous = row
    if last is None:
        return _Found(new, [], new)
    changed: list[tuple[DriftRow, tuple[str, ...]]] = []
    if last_fill is not None:  # the last row's fill, known now
        last.backtest_price, last.backtest_fee = last_fill
        changed.append((last, FILL_COLUMNS))
    return _Found(new, changed, [last, *new])


def _hold_reason(state: np.ndarray, params: np.ndarray) -> str:
    """Why the backtest holds, in the tick's words."""
    from workbench.rules import engine as e

    if state[e.S_DAY_HALTED]:
        return "halted for the day: max daily loss reached"
    if state[e.S_DAY_TARGET_HIT]:
        return "daily target reached: no new trades today"
    if state[e.S_DAY_TRADES] >= params[e.P_MAX_DAILY_TRADES]:
        return "max trades per day reached"
    return "in position, no exit signal" if state[e.S_QTY] > 0 else "no entry signal"


def _set_live(
    row: DriftRow,
    bot: BotConfig,
    result: TickResult,
    *,
    base: str | None = None,
    quote: str | None = None,
) -> None:
    base = base or base_currency(bot.symbol)
    quote = quote or quote_currency(bot.symbol)
    row.live_decision = str(result.decision)
    row.live_reason = result.reason[:200]
    order = result.order
    if order is None or order.price is None:
        return
    row.live_price, row.live_cost = order.price, order.cost
    if order.fee_currency == base:  # charged in the base asset: its value in quote
        row.live_fee = order.fee * order.price
    elif order.fee_currency in (None, quote):
        row.live_fee = order.fee


def _dec(value: float) -> Decimal:
    return Decimal(repr(round(float(value), 12)))
