"""The exchange a bot trades on: paper (dry run) or the real one through ccxt (live)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workbench.accounts import credentials
from workbench.bots.clock import SYSTEM_CLOCK, Clock
from workbench.bots.configs import get_bot
from workbench.bots.runner import TickResult, run_tick
from workbench.db import session_scope
from workbench.db.models import ApiKey, BotConfig, BotState
from workbench.errors import ConfigError, ConflictError, ValidationError
from workbench.market.candles import read_candles
from workbench.market.exchange import Exchange
from workbench.market.names import quote_currency
from workbench.market.paper import PaperExchange
from workbench.market.prices import LivePrices, PriceSource, ReplayPrices
from workbench.market.sample import SYNTHETIC_EXCHANGE
from workbench.market.timeframes import timeframe_ms
from workbench.notify import deliver_after
from workbench.timeutil import from_ms, to_ms
from workbench.types import MarketType


def offline_prices(engine: Engine, bot: BotConfig, as_of: datetime | None = None) -> ReplayPrices:
    """Stored candles with the clock at ``as_of`` (a replayed moment), or just after the
    newest stored bar (offline dry runs)."""
    candles = read_candles(
        engine=engine, exchange=bot.exchange, symbol=bot.symbol, timeframe=bot.timeframe
    )
    if not len(candles):
        raise ValidationError(
            {
                "as_of" if as_of is not None else "candles": f"no stored {bot.symbol} "
                f"{bot.timeframe} candles from {bot.exchange} to tick on; fetch them with "
                "`workbench data fetch` first"
            },
            entity="tick",
        )
    if as_of is not None:
        start = as_of
    else:
        last_ms = int(candles.index[-1].value // 1_000_000)
        start = from_ms(last_ms + timeframe_ms(bot.timeframe))
    return ReplayPrices(
        engine=engine,
        exchange=bot.exchange,
        timeframe=bot.timeframe,
        symbols=[bot.symbol],
        start=start,
    )


def exchange_for_bot(
    *,
    session: Session,
    engine: Engine,
    bot: BotConfig,
    paper: bool = False,
    as_of: datetime | None = None,
) -> Exchange:
    """Paper trading for a dry-run bot, or any bot when ``paper`` (live public prices, or
    stored ones for the synthetic market or at ``as_of`` when given); the real exchange
    with the bot's decrypted API key for a live bot."""
    if bot.dry_run or paper:
        prices: PriceSource = (
            offline_prices(engine, bot, as_of)
            if bot.exchange == SYNTHETIC_EXCHANGE or as_of is not None
            else LivePrices(_ccxt_exchange(bot.exchange))
        )
        capital = {quote_currency(bot.symbol): Decimal(bot.initial_capital)}
        futures = ":" in bot.symbol
        # A bot that funds its futures wallet itself (auto_transfer_funds) starts with its
        # capital in the spot wallet, as an exchange account would.
        funds_itself = futures and bot.auto_transfer_funds
        book = PaperExchange(
            engine=engine,
            prices=prices,
            account=f"bot-{bot.id}",
            initial_balances={} if funds_itself else capital,
            wallet=MarketType.FUTURES if futures else MarketType.SPOT,
            second_wallet_balances=capital if funds_itself else None,
        )
        if futures:
            book.set_leverage(bot.symbol, bot.leverage)
        return book
    if bot.api_key_id is None:
        raise ConfigError(
            f"bot {bot.id} trades live but has no API key; add one with "
            f"`workbench keys add` and `workbench bot set {bot.id} api_key_id=ID`"
        )
    key = session.get(ApiKey, bot.api_key_id)
    sandbox = key is not None and key.sandbox
    return _ccxt_exchange(
        bot.exchange,
        credentials=credentials(session=session, api_key_id=bot.api_key_id),
        sandbox=sandbox,
        account=f"{'sandbox' if sandbox else 'live'}:key-{bot.api_key_id}",
    )


def _ccxt_exchange(exchange: str, **options: Any) -> Exchange:
    """The exchange through ccxt, imported only here: a tick on stored bars never loads it."""
    from workbench.market.ccxt_adapter import CcxtExchange

    return CcxtExchange(exchange, **options)


def _check_as_of(session: Session, bot: BotConfig, as_of: datetime) -> None:
    state = session.scalar(sa.select(BotState).where(BotState.bot_config_id == bot.id))
    last_bar = (state.state_data or {}).get("last_bar") if state is not None else None
    if last_bar is None:
        return
    last_tick_ms = int(last_bar) + timeframe_ms(bot.timeframe)
    if to_ms(as_of) < last_tick_ms:
        last_tick = from_ms(last_tick_ms).isoformat()
        raise ValidationError(
            {
                "as_of": f"{as_of.isoformat()} is before bot {bot.id}'s last tick "
                f"({last_tick}); its paper account and state are past that moment. Replay "
                f"the past with `workbench bot replay {bot.id}` instead"
            },
            entity="tick",
        )


def tick_bot(
    bot_id: int,
    *,
    engine: Engine,
    paper: bool = False,
    as_of: datetime | None = None,
    inactive: bool = False,
) -> TickResult:
    """One tick as the live-bot job runs it, on the bot's own venue: paper for a dry-run
    bot, the exchange for a live one. ``paper`` (and ``as_of``, which runs the tick at a
    moment of the stored candles, never before the bot's last tick) are refused for a live
    bot, so paper and live state never mix. Only active bots tick, unless ``inactive`` says
    the tick is deliberate."""
    with session_scope(engine) as session:
        bot = get_bot(session=session, bot_id=bot_id)
        if not bot.is_active and not inactive:
            raise ConflictError(
                f"bot {bot.id} ({bot.name}) is not active, so it does not tick; activate it "
                f"with `workbench bot set {bot.id} is_active=true`, or tick it on purpose "
                "(`--inactive`, `inactive=True`)"
            )
        if (paper or as_of is not None) and not bot.dry_run:
            raise ConflictError(
                f"bot {bot.id} ({bot.name}) trades live: its position is the exchange's, so it "
                "is never ticked on paper; to try it on paper, create a dry-run copy of it"
            )
        if as_of is not None:
            _check_as_of(session, bot, as_of)
        exchange = exchange_for_bot(session=session, engine=engine, bot=bot, as_of=as_of)
    # A paper account on stored prices lives at their moment: the tick's clock follows it.
    prices = exchange.prices if isinstance(exchange, PaperExchange) else None
    clock: Clock = prices if isinstance(prices, ReplayPrices) else SYSTEM_CLOCK
    result = run_tick(bot_id, engine=engine, exchange=exchange, clock=clock)
    deliver_after(engine)  # the tick's fill or halt alerts
    return result
