"""A bot's strategy code: checked when the bot is activated, guarded at every tick.

- ``activate``: runs the look-ahead check on the bot's stored market (or synthetic
  candles when too few are stored), refuses a strategy that looks ahead, and records the
  code fingerprint and the history its signals need (``strategy_warmup``).
- ``refuse_changed_code``: a tick whose strategy code differs from the activated code
  records a bot event and refuses to trade (``workbench bot activate ID`` accepts it).
- ``history_bars``: how many bars a live tick reads: at least the strategy's warm-up.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workbench.db.engine import session_scope
from workbench.db.models import BotConfig, BotEvent, BotState
from workbench.errors import RejectedError, ValidationError
from workbench.types import RiskRule

CHECK_BARS = 6000  # newest stored bars the activation check runs on
MIN_STORED = 500  # fewer stored bars: check on synthetic candles instead
SAFETY = 1.25  # read a quarter more than the measured warm-up


class StrategyChangedError(RejectedError):
    """The strategy's code changed since the bot was activated."""


def activate(session: Session, bot: BotConfig) -> str:
    """Check ``bot``'s strategy and record its fingerprint and warm-up; a ValidationError
    on ``strategy`` when it looks ahead. Returns the check's summary."""
    from workbench.market.candles import read_candles
    from workbench.market.sample import sample_candles
    from workbench.strategies import get_strategy
    from workbench.strategies.check import check_strategy

    strategy = get_strategy(bot.strategy)
    params = strategy.params_from_config(bot)
    candles = read_candles(
        engine=session.get_bind(),  # type: ignore[arg-type]
        exchange=bot.exchange,
        symbol=bot.symbol,
        timeframe=bot.timeframe,
    ).tail(CHECK_BARS)
    if len(candles) < MIN_STORED:
        candles = sample_candles(CHECK_BARS, timeframe=bot.timeframe)
    report = check_strategy(strategy, candles, params)
    if not report.passed:
        assert report.look_ahead is not None
        raise ValidationError(
            {
                "strategy": f"{strategy.name} looks ahead at {report.look_ahead.sentence()}; "
                f"the bot cannot be activated (see `workbench strategy check {strategy.name}`)"
            },
            entity=f"bot {bot.id or bot.name} activation",
        )
    bot.strategy_fingerprint = report.fingerprint
    bot.strategy_warmup = max(report.warmup, report.declared_warmup)
    return report.summary()


def history_bars(bot: BotConfig, history: int | None) -> int | None:
    """Bars a tick reads: ``history`` (None: all), but never less than the warm-up."""
    if history is None:
        return None
    warm = bot.strategy_warmup
    if warm is None:
        from workbench.strategies import get_strategy

        strategy = get_strategy(bot.strategy)
        warm = strategy.warmup(strategy.params_from_config(bot))
    return max(history, int((warm + 1) * SAFETY) + 1)


def refuse_changed_code(engine: Engine, bot_id: int) -> None:
    """Raise StrategyChangedError (after recording a bot event) when the bot was activated
    with other strategy code than it has now."""
    from workbench.strategies import get_strategy

    with session_scope(engine) as session:
        bot = session.get(BotConfig, bot_id)
        if bot is None or not bot.is_active or bot.strategy_fingerprint is None:
            return
        now = get_strategy(bot.strategy).fingerprint
        if now == bot.strategy_fingerprint:
            return
        reason = (
            f"strategy {bot.strategy} code changed since activation "
            f"({bot.strategy_fingerprint} -> {now}); not trading until "
            f"`workbench bot activate {bot.id}` accepts it"
        )
        session.add(
            BotEvent(
                bot_id=bot.id,
                bar_time=datetime.now(UTC),
                decision="refused",
                reason=reason[:200],
                risk_rule=RiskRule.CODE_CHANGED,
            )
        )
        state = session.scalar(sa.select(BotState).where(BotState.bot_config_id == bot.id))
        if state is not None:
            state.status_message = reason
    raise StrategyChangedError(reason)
