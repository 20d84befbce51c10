"""The exchange a bot trades on: paper (dry run) or the real one through ccxt (live)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workbench.accounts import credentials
from workbench.db.models import BotConfig
from workbench.errors import ConfigError
from workbench.market.candles import read_candles
from workbench.market.ccxt_adapter import CcxtExchange
from workbench.market.exchange import Exchange
from workbench.market.paper import PaperExchange
from workbench.market.prices import LivePrices, PriceSource, ReplayPrices
from workbench.market.sample import SYNTHETIC_EXCHANGE
from workbench.market.timeframes import timeframe_ms


def offline_prices(engine: Engine, bot: BotConfig) -> ReplayPrices:
    """Stored candles with the clock just after the newest stored bar (offline dry runs)."""
    candles = read_candles(
        engine=engine, exchange=bot.exchange, symbol=bot.symbol, timeframe=bot.timeframe
    )
    last_ms = int(candles.index[-1].value // 1_000_000) if len(candles) else 0
    start = datetime.fromtimestamp((last_ms + timeframe_ms(bot.timeframe)) / 1000, tz=UTC)
    return ReplayPrices(
        engine=engine,
        exchange=bot.exchange,
        timeframe=bot.timeframe,
        symbols=[bot.symbol],
        start=start,
    )


def exchange_for_bot(*, session: Session, engine: Engine, bot: BotConfig) -> Exchange:
    """Paper trading for a dry-run bot (live public prices, or stored ones for the synthetic
    market); the real exchange with the bot's decrypted API key for a live bot."""
    if bot.dry_run:
        prices: PriceSource = (
            offline_prices(engine, bot)
            if bot.exchange == SYNTHETIC_EXCHANGE
            else LivePrices(CcxtExchange(bot.exchange))
        )
        quote = bot.symbol.split("/")[1].split(":")[0]
        paper = PaperExchange(
            engine=engine,
            prices=prices,
            account=f"bot-{bot.id}",
            initial_balances={quote: Decimal(bot.initial_capital)},
        )
        if ":" in bot.symbol:
            paper.set_leverage(bot.symbol, bot.leverage)
        return paper
    if bot.api_key_id is None:
        raise ConfigError(
            f"bot {bot.id} trades live but has no API key; add one with "
            "`workbench keys add` and `workbench bot set {bot.id} api_key_id=ID`"
        )
    return CcxtExchange(
        bot.exchange, credentials=credentials(session=session, api_key_id=bot.api_key_id)
    )
