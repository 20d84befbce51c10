"""Live vs backtest, compared: each bar a bot's tick or its shadow backtest decided, sorted
into agreeing bars and divergences with their cause.

Causes (``CAUSES``):

- ``candles``: the candles the tick read differ from the stored ones for the same bars
  (the bar itself, or an earlier bar of the window it read);
- ``fill``: the live fill is worse than the backtest's by more than the configured slippage;
- ``fees``: the live fee differs from the configured rate;
- ``missed_tick``: no live tick decided a bar on which the backtest acted;
- ``halt``: the bot was halted (daily loss, liquidation, a halt) where the backtest was not,
  or the other way round.

A different decision with no cause of its own follows from the last divergence before it
(the bot and its backtest hold different positions since) and gets its cause; with none
before it, it is ``unexplained``. Nothing here imports the rule engine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workbench.db.models import BotConfig, BotDrift

CAUSES = ("candles", "fill", "fees", "missed_tick", "halt", "unexplained")
PRICE_COLUMNS = ("open", "high", "low", "close")
FEE_TOLERANCE = 1e-3  # relative: a fee rounded by the exchange still matches its rate
PRICE_TOLERANCE = 1e-6  # relative: rounding of stored prices, not slippage
CONTEXT = timedelta(days=7)  # earlier bars read to explain a report's divergences


@dataclass(slots=True)
class DriftRow:
    """The values of one ``bot_drift`` row (``BotDrift`` says what each column holds), as a
    tick records it or as read back: plain values, written and read with plain statements."""

    bot_id: int
    bar_time: datetime
    backtest_decision: str
    backtest_reason: str
    fee_rate: Decimal
    slippage: Decimal
    open: float
    high: float
    low: float
    close: float
    window_start: datetime
    window_bars: int
    window_hash: str
    shadow_state: list[float]
    live_decision: str | None = None
    live_reason: str | None = None
    live_price: Decimal | None = None
    live_cost: Decimal | None = None
    live_fee: Decimal | None = None
    backtest_price: Decimal | None = None
    backtest_fee: Decimal | None = None

    def values(self, names: Iterable[str] | None = None) -> dict[str, object]:
        return {name: getattr(self, name) for name in names or DRIFT_COLUMNS}


DRIFT_COLUMNS = tuple(f.name for f in fields(DriftRow))


def select_drift() -> sa.Select[tuple[object, ...]]:
    """The ``bot_drift`` columns a ``DriftRow`` holds (``drift_rows`` reads them)."""
    table = cast(sa.Table, BotDrift.__table__)
    return sa.select(*(table.c[name] for name in DRIFT_COLUMNS))


def drift_rows(session: Session, query: sa.Select[tuple[object, ...]]) -> list[DriftRow]:
    return [DriftRow(**row) for row in session.execute(query).mappings()]


@dataclass(frozen=True)
class Divergence:
    bot_id: int
    bar_time: datetime
    cause: str
    live: str
    backtest: str
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "bar_time": self.bar_time.isoformat()}


@dataclass
class DriftReport:
    bot_id: int
    bars: int = 0  # bars compared
    agreeing: int = 0
    candles_unchecked: int = 0  # bars whose window read is not (all) stored
    divergences: list[Divergence] = field(default_factory=list)

    @property
    def diverging(self) -> int:
        return len({d.bar_time for d in self.divergences})

    def by_cause(self) -> dict[str, int]:
        counts = dict.fromkeys(CAUSES, 0)
        for d in self.divergences:
            counts[d.cause] += 1
        return counts

    def summary(self) -> str:
        causes = ", ".join(f"{c} {n}" for c, n in self.by_cause().items() if n)
        return (
            f"bot {self.bot_id}: {self.bars} bars compared, {self.agreeing} agree, "
            f"{self.diverging} diverge" + (f" ({causes})" if causes else "")
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "bot_id": self.bot_id,
            "bars": self.bars,
            "agreeing": self.agreeing,
            "diverging": self.diverging,
            "by_cause": self.by_cause(),
            "candles_unchecked": self.candles_unchecked,
            "divergences": [d.to_dict() for d in self.divergences],
        }

    def frame(self) -> pd.DataFrame:
        columns = ["bot_id", "bar_time", "cause", "live", "backtest", "detail"]
        return pd.DataFrame([asdict(d) for d in self.divergences], columns=columns)


def window_hash(times: np.ndarray, values: np.ndarray) -> str:
    """A fingerprint of closed bars: open times (ms) and OHLC, exactly as read (the arrays'
    bytes, hashed in place)."""
    digest = hashlib.sha256(np.ascontiguousarray(times, dtype=np.int64).data)
    digest.update(np.ascontiguousarray(values, dtype=np.float64).data)
    return digest.hexdigest()


def candle_arrays(candles: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(open times in ms, OHLC rows) of a candle frame."""
    times = candles.index.as_unit("ms").asi8.astype(np.int64)
    return times, np.column_stack([candles[c].to_numpy(dtype=np.float64) for c in PRICE_COLUMNS])


def bot_drift(
    *,
    engine: Engine,
    bot_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> DriftReport:
    """Compare bot ``bot_id``'s live decisions with its backtest's; the divergences of bars
    in [start, end) (all by default), classified with the week before ``start`` as context
    (a difference there explains later ones); candles are checked in [start, end) only."""
    from workbench.market.candles import read_candles

    with Session(engine) as session:
        bot = session.get(BotConfig, bot_id)
        if bot is None:
            from workbench.errors import NotFoundError

            raise NotFoundError(f"no bot with id {bot_id}; see `workbench bot list`")
        query = select_drift().where(BotDrift.bot_id == bot_id)
        if end is not None:
            query = query.where(BotDrift.bar_time < end)
        if start is not None:
            query = query.where(BotDrift.bar_time >= start - CONTEXT)
        rows = drift_rows(session, query.order_by(BotDrift.bar_time))
        market = (bot.exchange, bot.symbol, bot.timeframe)
    report = DriftReport(bot_id)
    compared = [r for r in rows if _in(r, start, end)]
    if not compared:
        return report
    stored = read_candles(
        engine=engine,
        exchange=market[0],
        symbol=market[1],
        timeframe=market[2],
        start=min(r.window_start for r in rows[-len(compared) - 1 :]),  # and the bar before
        end=compared[-1].bar_time + timedelta(milliseconds=1),
    )
    check = StoredCandles(stored)
    found = classify(rows, check, checked_from=compared[0].bar_time)
    report.candles_unchecked = sum(1 for r in compared if not check.covers(r))
    report.divergences = [d for d in found if _in_time(d.bar_time, start, end)]
    report.bars = len(compared)
    report.agreeing = report.bars - report.diverging
    return report


def _in(row: DriftRow, start: datetime | None, end: datetime | None) -> bool:
    return _in_time(row.bar_time, start, end)


def _in_time(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or moment >= start) and (end is None or moment < end)


class StoredCandles:
    """The stored bars of one series, to check what each tick read against."""

    def __init__(self, stored: pd.DataFrame) -> None:
        self.times, self.values = candle_arrays(stored)

    def _span(self, row: DriftRow) -> tuple[int, int] | None:
        first = _ms(row.window_start)
        lo = int(np.searchsorted(self.times, first, side="left"))
        hi = int(np.searchsorted(self.times, _ms(row.bar_time), side="right"))
        if hi - lo != row.window_bars or lo >= len(self.times) or self.times[lo] != first:
            return None
        return lo, hi

    def covers(self, row: DriftRow) -> bool:
        return self._span(row) is not None

    def bar_difference(self, row: DriftRow) -> str | None:
        """What differs between the decided bar as read and as stored, or None."""
        span = self._span(row)
        if span is None:
            return None
        stored = self.values[span[1] - 1]
        read = [row.open, row.high, row.low, row.close]
        changed = [
            f"{name} {was!r} read, {now!r} stored"
            for name, was, now in zip(PRICE_COLUMNS, read, stored.tolist(), strict=True)
            if was != now
        ]
        return ", ".join(changed) or None

    def window_differs(self, row: DriftRow) -> bool:
        span = self._span(row)
        if span is None:
            return False
        lo, hi = span
        return window_hash(self.times[lo:hi], self.values[lo:hi]) != row.window_hash


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def classify(
    rows: Sequence[DriftRow],
    stored: StoredCandles | None = None,
    *,
    checked_from: datetime | None = None,
) -> list[Divergence]:
    """The divergences of ``rows`` (one bot's, oldest first); candles are checked against
    ``stored`` when given, for bars from ``checked_from`` on."""
    found: list[Divergence] = []
    root: Divergence | None = None  # the last divergence with a cause of its own
    checked = [i for i, r in enumerate(rows) if checked_from is None or r.bar_time >= checked_from]
    # A window already different at the bar before the first one checked is no news.
    before = checked[0] - 1 if checked else -1
    window_ok = stored is None or before < 0 or not stored.window_differs(rows[before])
    for row in rows:
        causes: list[tuple[str, str]] = []
        if stored is not None and (checked_from is None or row.bar_time >= checked_from):
            bar = stored.bar_difference(row)
            if bar is not None:
                causes.append(("candles", f"this bar differs: {bar}"))
            # A window that differs only before this bar is said once, where it starts.
            differs = stored.window_differs(row)
            if differs and bar is None and window_ok:
                causes.append(("candles", "an earlier bar of the window read differs"))
            window_ok = not differs
        causes += _own_causes(row)
        for cause, detail in causes:
            own = cause != "decision"
            if not own and root is None:
                cause = "unexplained"
            elif not own and root is not None:
                cause = root.cause
                detail = f"{detail}; follows the {root.cause} at {root.bar_time.isoformat()}"
            divergence = Divergence(
                row.bot_id, row.bar_time, cause, _live(row), _shadow(row), detail
            )
            found.append(divergence)
            if own:
                root = divergence
    return found


def _own_causes(row: DriftRow) -> list[tuple[str, str]]:
    """Causes readable from the row alone; "decision" for a different decision without one."""
    causes: list[tuple[str, str]] = []
    shadow, live = row.backtest_decision, row.live_decision
    if live is None:
        if shadow in ("enter", "exit"):
            causes.append(
                ("missed_tick", f"no live tick decided this bar; the backtest would {shadow}")
            )
        return causes
    if live != shadow:
        halted = [r for r in (row.live_reason or "", row.backtest_reason) if _is_halt(r)]
        halted += [f"halted: {row.live_reason}"] if live == "halt" and not halted else []
        if halted:
            causes.append(("halt", f"{live} live, {shadow} in the backtest: {halted[0]}"))
        else:
            causes.append(("decision", f"{live} live, {shadow} in the backtest"))
    if row.live_fee is not None and row.live_cost is not None:
        expected = row.live_cost * row.fee_rate
        if abs(row.live_fee - expected) > abs(expected) * Decimal(repr(FEE_TOLERANCE)):
            rate = row.live_fee / row.live_cost if row.live_cost else Decimal(0)
            causes.append(
                (
                    "fees",
                    f"fee {_num(row.live_fee)} is {_pct(rate)} of {_num(row.live_cost)}; "
                    f"configured {_pct(row.fee_rate)}",
                )
            )
    if live == shadow and row.live_price is not None and row.backtest_price is not None:
        worse = _worse_by(live, row.live_price, row.backtest_price)
        if worse > PRICE_TOLERANCE:
            causes.append(
                (
                    "fill",
                    f"filled at {_num(row.live_price)}, the backtest at "
                    f"{_num(row.backtest_price)} (slippage {_pct(row.slippage)} included): "
                    f"{worse:.4%} worse",
                )
            )
    return causes


def _worse_by(side: str, live: Decimal, backtest: Decimal) -> float:
    """How much worse (a fraction) the live fill is than the backtest's; <= 0: not worse."""
    if backtest <= 0:
        return 0.0
    ratio = float(live / backtest) - 1.0
    return ratio if side == "enter" else -ratio


def _is_halt(reason: str) -> bool:
    return "halt" in reason or reason in ("daily_loss", "liquidation", "liquidated")


def _live(row: DriftRow) -> str:
    if row.live_decision is None:
        return "-"
    price = f" at {_num(row.live_price)}" if row.live_price is not None else ""
    return f"{row.live_decision} ({row.live_reason}){price}"


def _shadow(row: DriftRow) -> str:
    price = f" at {_num(row.backtest_price)}" if row.backtest_price is not None else ""
    return f"{row.backtest_decision} ({row.backtest_reason}){price}"


def _num(value: Decimal | None) -> str:
    return "-" if value is None else f"{float(value):.10g}"


def _pct(value: Decimal) -> str:
    return f"{float(value):.4%}"


def alert_divergences(*, session: Session, divergences: Iterable[Divergence]) -> int:
    """Queue one alert per bot and bar that diverged (a repeat is a no-op); returns how
    many are new. A tick that halted the bot is not alerted again here: its halt was.
    Part of the caller's transaction."""
    from workbench.notify import AlertKind, queue_alert

    by_bar: dict[tuple[int, datetime], list[Divergence]] = {}
    for d in divergences:
        if d.live.startswith("halt ("):
            continue
        by_bar.setdefault((d.bot_id, d.bar_time), []).append(d)
    new = 0
    for (bot_id, bar_time), found in by_bar.items():
        bar = bar_time.isoformat()
        causes = ", ".join(sorted({d.cause for d in found}))
        new += queue_alert(
            session=session,
            kind=AlertKind.DIVERGENCE,
            dedupe_key=f"divergence:{bot_id}:{bar}",
            title=f"bot {bot_id} diverged from its backtest at {bar}: {causes}",
            body="\n".join(
                f"{d.cause}: {d.detail} (live {d.live}; backtest {d.backtest})" for d in found
            ),
        )
    return new


def alert_frame(*, engine: Engine, frame: pd.DataFrame) -> int:
    """Queue the alerts of a table of divergences (a daily report's ``drift``) that were
    not queued yet, e.g. candles found different only now; returns how many are new."""
    from workbench.db.engine import session_scope

    found = [
        Divergence(
            int(r.bot_id),
            pd.Timestamp(r.bar_time).to_pydatetime(),
            str(r.cause),
            str(r.live),
            str(r.backtest),
            str(r.detail),
        )
        for r in frame.itertuples()
    ]
    with session_scope(engine) as session:
        return alert_divergences(session=session, divergences=found)


def divergences_of(
    *, engine: Engine, bot_ids: Iterable[int], start: datetime, end: datetime
) -> pd.DataFrame:
    """The divergences of bars in [start, end) of each bot, one row each (for reports)."""
    frames = [
        bot_drift(engine=engine, bot_id=bot_id, start=start, end=end).frame() for bot_id in bot_ids
    ]
    columns = ["bot_id", "bar_time", "cause", "live", "backtest", "detail"]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
