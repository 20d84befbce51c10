"""Create, read, update and delete bot configurations, validated by the shared schema."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.db.models import BotConfig, BotState, Trade
from workbench.errors import ConflictError, NotFoundError
from workbench.schemas import BotConfigCreate, BotConfigUpdate, validate

FIELDS = tuple(BotConfigCreate.model_fields)


def create_bot(*, session: Session, user_id: int, **fields: Any) -> BotConfig:
    """Validate ``fields`` with BotConfigCreate and store the bot (with an empty state)."""
    data = validate(BotConfigCreate, fields)
    _check_unique_name(session=session, user_id=user_id, name=data.name)
    bot = BotConfig(user_id=user_id, **data.model_dump())
    session.add(bot)
    session.flush()
    session.add(BotState(bot_config_id=bot.id, state_data={}))
    session.flush()
    return bot


def get_bot(*, session: Session, bot_id: int) -> BotConfig:
    bot = session.get(BotConfig, bot_id)
    if bot is None:
        raise NotFoundError(f"no bot with id {bot_id}; see `workbench bot list`")
    return bot


def list_bots(*, session: Session, user_id: int | None = None) -> list[BotConfig]:
    query = select(BotConfig).order_by(BotConfig.id)
    if user_id is not None:
        query = query.where(BotConfig.user_id == user_id)
    return list(session.scalars(query))


def update_bot(*, session: Session, bot_id: int, **changes: Any) -> BotConfig:
    """Apply ``changes``; the merged config must pass every rule of BotConfigCreate."""
    bot = get_bot(session=session, bot_id=bot_id)
    update = validate(BotConfigUpdate, changes).model_dump(exclude_unset=True)
    merged = {name: getattr(bot, name) for name in FIELDS} | update
    data = validate(BotConfigCreate, merged)
    if data.name != bot.name:
        _check_unique_name(session=session, user_id=bot.user_id, name=data.name)
    for name, value in data.model_dump().items():
        setattr(bot, name, value)
    session.flush()
    return bot


def bot_fields(bot: BotConfig) -> dict[str, Any]:
    """The editable fields of ``bot`` as a dict (for forms and clones)."""
    return {name: getattr(bot, name) for name in FIELDS}


def trade_count(*, session: Session, bot_id: int) -> int:
    return session.scalar(select(func.count()).where(Trade.bot_config_id == bot_id)) or 0


def delete_bot(*, session: Session, bot_id: int, force: bool = False) -> int:
    """Delete a bot. With trades it is refused unless ``force``; forced, the trades are kept
    and detached from the bot (bot_id set to NULL), never deleted. Returns the trades kept."""
    bot = get_bot(session=session, bot_id=bot_id)
    trades = trade_count(session=session, bot_id=bot_id)
    if trades and not force:
        raise ConflictError(
            f"bot {bot_id} ({bot.name}) has {trades} trades; deleting it needs force=True "
            "(`--force`); the trades are kept, detached from the bot"
        )
    if trades:
        session.execute(
            Trade.__table__.update().where(Trade.bot_config_id == bot_id).values(bot_config_id=None)
        )
    session.delete(bot)
    session.flush()
    return trades


def _check_unique_name(*, session: Session, user_id: int, name: str) -> None:
    taken = select(BotConfig.id).where(BotConfig.user_id == user_id, BotConfig.name == name)
    if session.scalar(taken) is not None:
        raise ConflictError(f"a bot named {name!r} already exists; choose another name")
