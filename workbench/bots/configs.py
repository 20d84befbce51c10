"""Create, read, update and delete bot configurations, validated by the shared schema.

Every path (CLI, form, notebook API) goes through ``create_bot``/``update_bot``: one
schema, one set of messages. Parameters of the bot's strategy may be given by name
(``window=30``); they are stored in ``strategy_params``. Activating a bot (``is_active``
true, or ``activate_bot``) runs the strategy's look-ahead check and records its code
fingerprint; an active bot's live-bot job is scheduled (``workbench.bots.activation``)
and deactivating it (``deactivate_bot``, or ``is_active`` false) disables that schedule at
once. While a bot holds a position, its market, position type, leverage and
capital cannot change, and deleting it needs ``abandon_position``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from workbench.bots import activation, strategy_guard
from workbench.bots import state as tick_state
from workbench.db.models import BotConfig, BotState, Trade
from workbench.errors import ConflictError, NotFoundError
from workbench.schemas import BotConfigCreate, BotConfigUpdate, validate

FIELDS = tuple(BotConfigCreate.model_fields)
# Fields a held position depends on: changing them would orphan it.
POSITION_FIELDS = ("exchange", "symbol", "position_type", "leverage", "initial_capital")


def create_bot(*, session: Session, user_id: int, **fields: Any) -> BotConfig:
    """Validate ``fields`` with BotConfigCreate and store the bot (with an empty state);
    an active bot's strategy is checked first (see ``activate_bot``)."""
    data = validate(BotConfigCreate, fields)
    _check_unique_name(session=session, user_id=user_id, name=data.name)
    bot = BotConfig(user_id=user_id, **data.model_dump())
    if bot.is_active:
        strategy_guard.activate(session, bot)
    session.add(bot)
    session.flush()
    session.add(BotState(bot_config_id=bot.id, state_data={}))
    session.flush()
    if bot.is_active:
        activation.schedule_bot(session=session, bot=bot)
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


def held_quantity(*, session: Session, bot_id: int) -> float:
    """The base quantity the bot holds now (0.0 when flat or never ticked)."""
    state = session.scalar(select(BotState).where(BotState.bot_config_id == bot_id))
    return tick_state.held_quantity(state.state_data) if state is not None else 0.0


def update_bot(*, session: Session, bot_id: int, **changes: Any) -> BotConfig:
    """Apply ``changes``; the merged config must pass every rule of BotConfigCreate.
    Names that are parameters of the (new) strategy go to ``strategy_params``."""
    bot = get_bot(session=session, bot_id=bot_id)
    changes = dict(changes)
    params = {k: changes.pop(k) for k in list(changes) if k not in FIELDS}
    update = validate(BotConfigUpdate, changes).model_dump(exclude_unset=True)
    merged = {name: getattr(bot, name) for name in FIELDS} | update
    if "strategy" in update and update["strategy"] != bot.strategy:
        merged["strategy_params"] = update.get("strategy_params") or {}
    merged["strategy_params"] = {**(merged.get("strategy_params") or {}), **params}
    data = validate(BotConfigCreate, merged)
    if data.name != bot.name:
        _check_unique_name(session=session, user_id=bot.user_id, name=data.name)
    new = data.model_dump()
    moved = [f for f in POSITION_FIELDS if new[f] != getattr(bot, f)]
    held = held_quantity(session=session, bot_id=bot_id) if moved else 0.0
    if held > 0:
        raise ConflictError(
            f"bot {bot_id} ({bot.name}) holds an open position of {held:g} {bot.symbol}; "
            f"{', '.join(moved)} cannot change until it is closed (let the bot exit it, "
            "or close it on the exchange and reset the bot)"
        )
    rule_before = _strategy_inputs(bot)
    was_active = bot.is_active
    timing_before = (bot.timeframe, bot.check_interval_seconds)
    for name, value in new.items():
        setattr(bot, name, value)
    # Activating, or changing an active bot's strategy or parameters: check it (again).
    if bot.is_active and (not was_active or _strategy_inputs(bot) != rule_before):
        strategy_guard.activate(session, bot)
    session.flush()
    timing = (bot.timeframe, bot.check_interval_seconds)
    if bot.is_active and (not was_active or timing != timing_before):
        activation.schedule_bot(session=session, bot=bot)
    elif was_active and not bot.is_active:
        activation.unschedule_bot(session=session, bot_id=bot.id)
    return bot


def _strategy_inputs(bot: BotConfig) -> tuple[Any, ...]:
    """What the bot's signals depend on: the strategy, its parameters, the market."""
    seed = tuple(getattr(bot, n) for n in FIELDS if n.startswith(("ema_", "rsi_", "custom_")))
    return (bot.strategy, dict(bot.strategy_params or {}), seed, bot.symbol, bot.timeframe)


def activate_bot(*, session: Session, bot_id: int) -> str:
    """Activate ``bot_id`` (again): check its strategy as it is now, record the code's
    fingerprint and warm-up, and let its ticks trade. Returns the check's summary."""
    bot = get_bot(session=session, bot_id=bot_id)
    summary = strategy_guard.activate(session, bot)
    bot.is_active = True
    session.flush()
    activation.schedule_bot(session=session, bot=bot)
    return summary


def deactivate_bot(*, session: Session, bot_id: int) -> list[int]:
    """Deactivate ``bot_id`` at once: its ticks are refused and its live-bot schedules are
    disabled (the scheduler starts no more of them). Returns the disabled schedules' ids."""
    bot = get_bot(session=session, bot_id=bot_id)
    bot.is_active = False
    session.flush()
    return activation.unschedule_bot(session=session, bot_id=bot_id)


def bot_fields(bot: BotConfig) -> dict[str, Any]:
    """The editable fields of ``bot`` as a dict (for forms and clones)."""
    return {name: getattr(bot, name) for name in FIELDS}


def trade_count(*, session: Session, bot_id: int) -> int:
    return session.scalar(select(func.count()).where(Trade.bot_config_id == bot_id)) or 0


def delete_bot(
    *, session: Session, bot_id: int, force: bool = False, abandon_position: bool = False
) -> int:
    """Delete a bot. With trades it is refused unless ``force``; forced, the trades are kept
    and detached from the bot (bot_id set to NULL), never deleted. A bot holding a position
    is refused unless ``abandon_position`` (the position stays on the exchange, unmanaged).
    Returns the trades kept."""
    bot = get_bot(session=session, bot_id=bot_id)
    held = held_quantity(session=session, bot_id=bot_id)
    if held > 0 and not abandon_position:
        raise ConflictError(
            f"bot {bot_id} ({bot.name}) holds an open position of {held:g} {bot.symbol}; "
            "close it first, or delete with abandon_position=True (`--abandon-position`): "
            "the position then stays on the exchange with no bot managing it"
        )
    trades = trade_count(session=session, bot_id=bot_id)
    if trades and not force:
        raise ConflictError(
            f"bot {bot_id} ({bot.name}) has {trades} trades; deleting it needs force=True "
            "(`--force`); the trades are kept, detached from the bot"
        )
    if trades:
        session.execute(
            update(Trade).where(Trade.bot_config_id == bot_id).values(bot_config_id=None)
        )
    activation.unschedule_bot(session=session, bot_id=bot_id, remove=True)
    session.delete(bot)
    session.flush()
    return trades


def _check_unique_name(*, session: Session, user_id: int, name: str) -> None:
    taken = select(BotConfig.id).where(BotConfig.user_id == user_id, BotConfig.name == name)
    if session.scalar(taken) is not None:
        raise ConflictError(f"a bot named {name!r} already exists; choose another name")
