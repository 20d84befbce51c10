"""Many bots: one scheduler keeps N bots on 1-minute bars ticking, each tick a recorded run.

    python bench/bench_many_bots.py [--bots 50] [--minutes 3] [--workers 2]
    python bench/bench_many_bots.py --minutes 15          # the full check of issue 12

Replays real 1-minute candles (/work/shared/data/UNITTEST_BTC-1m.csv, shifted so the
newest stored bar closes at the current minute) on the paper exchange: a feeder thread
stores the next bar just before each minute, and every bot (a dry-run EMA cross bot) has
a ``* * * * *`` schedule of notebooks/jobs/live_bot.ipynb. One scheduler
(:func:`workbench.jobs.run_forever`, polling every second) hands the runs to a
:class:`~workbench.jobs.executors.WarmExecutor` (``--workers`` processes, each with a
warm kernel). At the end it prints how late the runs started and finished after their
slot (percentiles, and the worst per minute: a growing backlog shows there), whether
every (bot, slot) ran exactly once, and, for comparison, what one cold run (a process
running papermill and a new kernel, as ``LocalExecutor`` does per run) costs: N of those
a minute is what a new kernel per tick would need.

The default is 3 minutes (a quick look); ``--minutes 15`` is the issue's check. The
database is SQLite in a throwaway home unless ``--database-url`` names another (an
empty PostgreSQL database, say).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

CANDLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "UNITTEST_BTC-1m.csv"
SYMBOL, TIMEFRAME = "UNITTEST/BTC", "1m"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=50)
    parser.add_argument("--minutes", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--candles", type=Path, default=CANDLES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-many-bots-") as tmp:
        os.environ["WORKBENCH_HOME"] = str(Path(tmp) / "home")
        os.environ.pop("WORKBENCH_DATABASE_URL", None)
        if args.database_url:
            os.environ["WORKBENCH_DATABASE_URL"] = args.database_url
        bench(args)


def bench(args: argparse.Namespace) -> None:
    import pandas as pd
    import sqlalchemy as sa

    import workbench as wb
    from workbench.db.engine import default_engine, session_scope
    from workbench.db.models.jobs import JobRun, RunStatus
    from workbench.jobs import add_schedule, run_forever, run_notebook
    from workbench.jobs.executors import WarmExecutor
    from workbench.jobs.notebooks import notebooks_folder
    from workbench.market.candles import upsert_candles
    from workbench.market.sample import SYNTHETIC_EXCHANGE

    wb.init()
    engine = default_engine()
    bars = pd.read_csv(args.candles)
    frame = bars.set_index(pd.to_datetime(bars.pop("timestamp"), unit="ms", utc=True))
    now = datetime.now(UTC)
    t0 = now.replace(second=0, microsecond=0)  # the first slot is t0 + 1 min
    future = args.minutes + 2
    # Shift the bars so the last stored one closes at t0 (opens a minute before); the next
    # ones (opening at t0, t0 + 1 min, ...) are replayed live, one before each slot.
    frame.index = frame.index + (t0 - timedelta(minutes=1) - frame.index[-future - 1])
    history, replay = frame.iloc[:-future], frame.iloc[-future:]
    market = {"exchange": SYNTHETIC_EXCHANGE, "symbol": SYMBOL, "timeframe": TIMEFRAME}
    upsert_candles(engine=engine, frame=history, **market)
    live_bot = notebooks_folder() / "jobs" / "live_bot.ipynb"
    bots = [
        wb.create_bot(name=f"bench-{i}", **market, is_active=True, dry_run=True)
        for i in range(args.bots)
    ]

    # One cold run first (a new kernel, papermill in this process), for the comparison.
    before = _cpu_seconds()
    started = time.monotonic()
    cold = run_notebook(live_bot, {"bot_id": bots[0]})
    cold_wall = time.monotonic() - started
    cold_cpu = _cpu_seconds() - before
    if cold.status != RunStatus.SUCCEEDED:
        raise SystemExit(f"the cold live-bot run failed: {cold.error}")

    now = datetime.now(UTC)
    with session_scope(engine) as session:
        schedules = [
            add_schedule(
                session=session,
                notebook=live_bot,
                cron="* * * * *",
                name=f"bench-bot-{bot}",
                parameters={"bot_id": bot},
                start=now,
            ).id
            for bot in bots
        ]
    first_slot = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    slots = [first_slot + timedelta(minutes=m) for m in range(args.minutes)]
    stop = threading.Event()
    feeder = threading.Thread(
        target=_feed, args=(engine, replay, market, slots, stop), name="feeder", daemon=True
    )
    executor = WarmExecutor(workers=args.workers, engine=engine)
    scheduler = threading.Thread(
        target=run_forever,
        kwargs={"poll_seconds": 1.0, "engine": engine, "executor": executor, "stop": stop},
        name="scheduler",
    )
    print(
        f"{args.bots} bots, 1-minute slots {slots[0]:%H:%M}..{slots[-1]:%H:%M} UTC, "
        f"{args.workers} warm workers, {engine.dialect.name}",
        flush=True,
    )
    feeder.start()
    scheduler.start()
    end = slots[-1] + timedelta(seconds=30)  # the last slot's runs get claimed by then
    while datetime.now(UTC) < end:
        time.sleep(1)
    stop.set()
    scheduler.join()
    drained = time.monotonic()
    executor.wait(timeout=600)
    drain_seconds = time.monotonic() - drained
    executor.close(timeout=120)

    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(
                JobRun.schedule_id,
                JobRun.slot,
                JobRun.status,
                JobRun.started_at,
                JobRun.finished_at,
            ).where(JobRun.schedule_id.in_(schedules))
        ).all()
    report(rows, schedules, slots, args, cold_wall, cold_cpu, drain_seconds)


def _feed(
    engine: object,
    replay: object,
    market: dict[str, str],
    slots: list[datetime],
    stop: threading.Event,
) -> None:
    """Store the bar that closes at each slot one second before it (the replayed market)."""
    from workbench.market.candles import upsert_candles

    frame = replay  # a DataFrame of the bars after the stored history
    for slot in slots:
        wait = (slot - timedelta(seconds=1) - datetime.now(UTC)).total_seconds()
        if stop.wait(max(0.0, wait)):
            return
        bar = frame.loc[[slot - timedelta(minutes=1)]]  # type: ignore[attr-defined]
        upsert_candles(engine=engine, frame=bar, **market)  # type: ignore[arg-type]


def report(
    rows: list[object],
    schedules: list[int],
    slots: list[datetime],
    args: argparse.Namespace,
    cold_wall: float,
    cold_cpu: float,
    drain_seconds: float,
) -> None:
    def aware(moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

    runs = [
        (s, aware(slot), getattr(status, "value", status), aware(a), aware(b))
        for s, slot, status, a, b in rows  # type: ignore[misc]
    ]
    wanted = {(s, slot) for s in schedules for slot in slots}
    counts = Counter((s, slot) for s, slot, *_ in runs)
    statuses = Counter(status for _, _, status, _, _ in runs)
    once = all(counts[key] == 1 for key in wanted) and set(counts) <= wanted
    start_lag = [(a - slot).total_seconds() for _, slot, _, a, _ in runs if a and slot]
    end_lag = [(b - slot).total_seconds() for _, slot, _, _, b in runs if b and slot]
    print(f"runs: {len(runs)} for {len(wanted)} (bot, slot) pairs; statuses {dict(statuses)}")
    print(f"every (bot, slot) ran exactly once: {once}")
    for name, lags in (("start", start_lag), ("finish", end_lag)):
        if lags:
            q = statistics.quantiles(lags, n=100, method="inclusive")
            print(
                f"{name} lag after the slot: p50 {q[49]:5.1f} s  p90 {q[89]:5.1f} s  "
                f"p99 {q[98]:5.1f} s  max {max(lags):5.1f} s"
            )
    worst = []
    for slot in slots:
        done = [(b - s).total_seconds() for _, s, _, _, b in runs if s == slot and b]
        worst.append(max(done) if done else float("nan"))
    print("worst finish lag per minute (a growing backlog would grow here):")
    print("  " + " ".join(f"{w:.0f}s" for w in worst))
    print(f"queue drained {drain_seconds:.1f} s after the scheduler stopped")
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores (the machine is shared)")
    need = args.bots * cold_cpu / 60
    print(
        f"for comparison, one cold run (papermill and a new kernel): {cold_wall:.1f} s "
        f"wall, {cold_cpu:.1f} CPU-s; {args.bots} a minute would need {need:.1f} cores "
        f"busy all the time (this machine has {os.cpu_count()})"
    )


def _cpu_seconds() -> float:
    """CPU time of this process and its ended children (the runs' kernels)."""
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    sys.exit(main())
