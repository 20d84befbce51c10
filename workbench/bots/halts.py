"""A halted bot: it trades no more until someone looks (``workbench bot resolve ID``).

One store for every halt, whatever stopped the bot (``reconcile``: the exchange disagrees
with the records; ``tick_gap``: more bars were missed than a tick catches up on): the
``bot_states`` columns ``halt_reason``, ``halt_evidence`` (with the rule) and ``halted_at``,
plus a bot event and an alert, all in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from workbench.db.models import BotEvent, BotState
from workbench.types import Decision


def halted_message(bot_id: int, rule: str, reason: str) -> str:
    return (
        f"halted ({rule}): {reason}; `workbench bot resolve {bot_id}` shows the evidence, with "
        "--adopt it takes the exchange's position, with --close it closes the difference"
    )


def halt_bot(
    session: Session,
    row: BotState,
    *,
    rule: str,
    reason: str,
    evidence: dict[str, Any],
    now: datetime,
    bar_time: datetime | None = None,
) -> str:
    """Halt the bot of ``row`` for ``reason`` (found by ``rule``); returns the message its
    ticks say until it is resolved."""
    from workbench.notify import AlertKind, queue_alert

    bot_id = row.bot_config_id
    row.halt_reason = reason[:500]
    row.halt_evidence = {"rule": rule, **evidence, "at": now.isoformat()}
    row.halted_at = now
    session.add(
        BotEvent(
            bot_id=bot_id,
            bar_time=bar_time or now,
            decision=Decision.HALT,
            reason=reason[:200],
            risk_rule=rule,
        )
    )
    message = halted_message(bot_id, rule, reason)
    queue_alert(
        session=session,
        kind=AlertKind.HALT,
        dedupe_key=f"halt:{bot_id}:{rule}:{(bar_time or now).isoformat()}",
        title=f"bot {bot_id} halted: {rule}",
        body=message,
        now=now,
    )
    return message
