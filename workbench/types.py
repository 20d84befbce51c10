"""The workbench's small shared vocabulary, low in the layers (nothing heavy imported here).

Each word has one definition, imported by everything above: the exchange interface, the
database rows, the schemas, the tick and the widgets.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

DEFAULT_FEE = 0.001  # per fill, as a fraction: 0.1 %, Binance spot taker


class BotConfigLike(Protocol):
    """A bot config as the backtest, the rules and the strategies read it: a stored bot
    (``BotConfig``) and a validated, unstored one (``BotConfigCreate``) both are one."""

    @property
    def exchange(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def timeframe(self) -> str: ...
    @property
    def strategy(self) -> str: ...
    @property
    def strategy_params(self) -> Mapping[str, Any]: ...
    @property
    def position_type(self) -> str: ...
    @property
    def initial_capital(self) -> Decimal: ...
    @property
    def position_size_perc(self) -> Decimal | None: ...
    @property
    def position_size_fixed(self) -> Decimal | None: ...
    @property
    def leverage(self) -> int: ...
    @property
    def stop_loss_perc(self) -> Decimal | None: ...
    @property
    def take_profit_perc(self) -> Decimal | None: ...
    @property
    def trailing_stop_perc(self) -> Decimal | None: ...
    @property
    def trailing_stop_active(self) -> bool: ...
    @property
    def custom_stop_loss(self) -> Decimal | None: ...
    @property
    def custom_take_profit(self) -> Decimal | None: ...
    @property
    def custom_trailing_stop(self) -> Decimal | None: ...
    @property
    def daily_target_perc(self) -> Decimal | None: ...
    @property
    def max_daily_loss_perc(self) -> Decimal | None: ...
    @property
    def max_daily_trades(self) -> int: ...


class Decision(StrEnum):
    """What a bot's tick did (TickResult.decision, BotEvent.decision)."""

    ENTER = "enter"  # an entry order was placed (or settled)
    EXIT = "exit"  # an exit order was placed (or settled)
    HOLD = "hold"  # a new bar closed, no order
    WAIT = "wait"  # no new closed bar (or an order still open on the exchange)
    HALT = "halt"  # the bot is halted: nothing is traded until it is resolved


class Side(StrEnum):
    """The side of an order or a trade."""

    BUY = "buy"
    SELL = "sell"


class MarketType(StrEnum):
    """Spot or futures: a market's type, and the position type of a bot or a backtest."""

    SPOT = "spot"
    FUTURES = "futures"


class RiskRule(StrEnum):
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


class RunStatus(StrEnum):
    """queued -> running -> succeeded | failed | timed_out | cancelled; a slot passed over
    because the schedule's previous run was still active is recorded as ``skipped``."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class MissedRuns(StrEnum):
    """What a schedule does with the slots it missed while nothing ran."""

    SKIP = "skip"  # start only the latest due slot
    RUN_ONCE = "run_once"  # run one catch-up for all missed slots
    RUN_ALL = "run_all"  # run every missed slot
