"""The workbench's small shared vocabulary, low in the layers (nothing heavy imported here).

Each word has one definition, imported by everything above: the exchange interface, the
database rows, the schemas, the tick and the widgets.
"""

from __future__ import annotations

import enum

DEFAULT_FEE = 0.001  # per fill, as a fraction: 0.1 %, Binance spot taker


class Side(enum.StrEnum):
    """The side of an order or a trade."""

    BUY = "buy"
    SELL = "sell"


class MarketType(enum.StrEnum):
    """Spot or futures: a market's type, and the position type of a bot or a backtest."""

    SPOT = "spot"
    FUTURES = "futures"


class RiskRule(enum.StrEnum):
    """A rule that closed a position or held a bot back, carried as data (``BotEvent.
    risk_rule``, a tick's result) rather than read back out of a sentence."""

    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"
    DAILY_LOSS = "daily_loss"
    DAILY_TARGET = "daily_target"
    MAX_DAILY_TRADES = "max_daily_trades"
    LIQUIDATION = "liquidation"
    CODE_CHANGED = "code_changed"

    @property
    def halts(self) -> bool:
        """True for the rules that stop a bot trading (they are alerted)."""
        return self in (RiskRule.DAILY_LOSS, RiskRule.LIQUIDATION)

    @classmethod
    def of_exit(cls, reason: str) -> RiskRule | None:
        """The rule behind an exit reason of the engine (``rules.engine.REASONS``), or None
        for a strategy's own signal."""
        try:
            return cls(reason)
        except ValueError:
            return None
