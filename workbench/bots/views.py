"""Read model of bots: each bot with its state, as the notebook API and tables show it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.db.models import BotConfig, BotState


@dataclass(frozen=True)
class BotView:
    """A bot, its market and strategy, and what its last tick said."""

    id: int
    name: str
    exchange: str
    symbol: str
    timeframe: str
    strategy: str
    is_active: bool
    dry_run: bool
    last_execution: datetime | None
    status_message: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_bots(*, session: Session) -> list[BotView]:
    """Every bot with its state, by id."""
    query = (
        sa.select(
            BotConfig.id,
            BotConfig.name,
            BotConfig.exchange,
            BotConfig.symbol,
            BotConfig.timeframe,
            BotConfig.strategy,
            BotConfig.is_active,
            BotConfig.dry_run,
            BotState.last_execution,
            BotState.status_message,
        )
        .outerjoin(BotState, BotState.bot_config_id == BotConfig.id)
        .order_by(BotConfig.id)
    )
    return [BotView(**row._asdict()) for row in session.execute(query)]
