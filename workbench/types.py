"""The workbench's small shared vocabulary, low in the layers (nothing heavy imported here)."""

from __future__ import annotations

from enum import StrEnum

DEFAULT_FEE = 0.001  # per fill, as a fraction: 0.1 %, Binance spot taker


class Decision(StrEnum):
    """What a bot's tick did (TickResult.decision, BotEvent.decision)."""

    ENTER = "enter"  # an entry order was placed (or settled)
    EXIT = "exit"  # an exit order was placed (or settled)
    HOLD = "hold"  # a new bar closed, no order
    WAIT = "wait"  # no new closed bar (or an order still open on the exchange)
    HALT = "halt"  # the bot is halted: nothing is traded until it is resolved
