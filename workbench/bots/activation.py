"""An active bot is a scheduled bot: its live-bot job runs while it is active, never after.

Activating a bot creates (or re-enables) one schedule of ``notebooks/jobs/live_bot.ipynb``
with its ``bot_id``, every ``check_interval_seconds``, aligned to its bar closes: the
first tick of a bar runs ``TICK_DELAY_SECONDS`` after the bar closes (the exchange has
the closed bar by then). Deactivating disables every live-bot schedule of the bot, so the
scheduler starts no more ticks of it; deleting the bot removes them.

A schedule belongs to a bot when its notebook is the live-bot notebook and its
``bot_id`` parameter is the bot's id, whoever made it (``schedule add`` or activation).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.db.models import BotConfig, JobSchedule
from workbench.errors import ValidationError
from workbench.market.timeframes import timeframe_ms

LIVE_BOT_NOTEBOOK = "live_bot.ipynb"
TICK_DELAY_SECONDS = 5  # after a bar's close, so the exchange has published it
MINUTE, HOUR, DAY = 60, 3_600, 86_400


def bar_cron(timeframe: str, interval_seconds: int) -> str:
    """A cron expression (seconds first) running every ``interval_seconds``, a few
    seconds after each close of a ``timeframe`` bar. ValidationError (naming
    check_interval_seconds) when no such schedule exists."""
    bar = timeframe_ms(timeframe) // 1000
    every = interval_seconds
    if not (bar % every == 0 or every % bar == 0) or not _expressible(every):
        raise ValidationError(
            {
                "check_interval_seconds": f"{every} s cannot run aligned to the closes of "
                f"{timeframe} bars; use a divisor or a multiple of the bar ({bar} s) that "
                "divides a minute, an hour or a day, e.g. 60, 300, 900 or 3600"
            },
            entity="bot",
        )
    delay = min(TICK_DELAY_SECONDS, every - 1)
    if every < MINUTE:
        seconds = ",".join(str(s) for s in range(delay, MINUTE, every))
        return f"{seconds} * * * * *"
    if every < HOUR:
        return f"{delay} {_step(every // MINUTE)} * * * *"
    if every < DAY:
        return f"{delay} 0 {_step(every // HOUR)} * * *"
    return f"{delay} 0 0 * * *"


def _expressible(every: int) -> bool:
    """Periods a cron expression repeats exactly: divisors of a minute, an hour or a day."""
    if every < MINUTE:
        return MINUTE % every == 0
    if every < HOUR:
        return every % MINUTE == 0 and HOUR % every == 0
    return every % HOUR == 0 and DAY % every == 0


def _step(n: int) -> str:
    return "*" if n == 1 else f"*/{n}"


def bot_schedules(*, session: Session, bot_id: int) -> list[JobSchedule]:
    """The live-bot schedules of ``bot_id``, oldest first."""
    rows = session.scalars(select(JobSchedule).order_by(JobSchedule.id))
    return [
        s
        for s in rows
        if Path(s.notebook).name == LIVE_BOT_NOTEBOOK
        and (s.parameters or {}).get("bot_id") == bot_id
    ]


def schedule_bot(*, session: Session, bot: BotConfig) -> JobSchedule:
    """Create or re-enable the bot's live-bot schedule, on its current timeframe and
    interval (idempotent: one schedule however often it is called)."""
    from workbench.jobs.notebooks import notebooks_folder
    from workbench.jobs.schedules import add_schedule, update_schedule

    cron = bar_cron(bot.timeframe, bot.check_interval_seconds)
    existing = bot_schedules(session=session, bot_id=bot.id)
    if existing:
        first = existing[0]
        if first.enabled and first.cron == cron and first.timezone == "UTC":
            return first
        return update_schedule(
            session=session, schedule_id=first.id, cron=cron, timezone="UTC", enabled=True
        )
    name = f"live-bot-{bot.id}"
    taken = session.scalar(select(JobSchedule.id).where(JobSchedule.name == name))
    return add_schedule(
        session=session,
        notebook=notebooks_folder() / "jobs" / LIVE_BOT_NOTEBOOK,
        cron=cron,
        name=None if taken is not None else name,
        parameters={"bot_id": bot.id},
    )


def unschedule_bot(*, session: Session, bot_id: int, remove: bool = False) -> list[int]:
    """Disable (or, with ``remove``, delete) every live-bot schedule of ``bot_id``;
    returns the ids of those that were enabled (or removed)."""
    ids = []
    for schedule in bot_schedules(session=session, bot_id=bot_id):
        if remove:
            ids.append(schedule.id)
            session.delete(schedule)
        elif schedule.enabled:
            ids.append(schedule.id)
            schedule.enabled = False
    session.flush()
    return ids
