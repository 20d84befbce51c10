"""A bot's runtime state between ticks: a typed, versioned model kept as JSON in
``BotState.state_data``.

Version 1 (written by every tick)::

    {"version": 1, "last_bar": 1700000000000,
     "engine": {"cash": 9.97, "qty": 0.12, ...},        # the rule engine's slots, by name
     "intent": {"client_order_id": "wb3-...-buy", "side": "buy", ...},   # written ahead
     "last_risk": "daily_loss"}

The engine's slots are stored by name: a slot the engine gained since (or a stored state
that lacks one) takes the engine's fresh value, so adding a slot breaks no stored bot.
Version 0 (no "version": the positional float list of the first engine) is converted on
read; no migration rewrites stored rows, the next tick stores version 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from workbench.errors import OperationalError

if TYPE_CHECKING:
    import numpy as np

STATE_VERSION = 1

# The engine's slots in version 0, in their positions (rules/engine.py's S_* of that time).
V0_ENGINE_SLOTS = (
    "cash",
    "qty",
    "entry_price",
    "margin",
    "peak",
    "liq_price",
    "day",
    "day_start_equity",
    "day_trades",
    "day_halted",
    "day_target_hit",
    "pending",
    "pending_reason",
    "entry_fee",
)


class Intent(BaseModel):
    """An order decided and written ahead of its send, until the exchange's answer settles it.

    ``fate``: "sending" (written, the send may or may not have reached the exchange),
    "unknown" (sent, no answer: looked up before anything else is sent), "open" (the
    exchange holds it, not fully filled: asked again each tick, cancelled at the next bar).
    """

    model_config = ConfigDict(extra="forbid")

    client_order_id: str
    side: Literal["buy", "sell"]
    bar: int  # open time (ms) of the bar whose close decided it
    reason: str
    cost: Decimal | None = None  # quote a buy spends
    amount: Decimal | None = None  # base quantity a sell sells
    written_ms: int | None = None  # when it was committed, just before the send
    fate: Literal["sending", "unknown", "open"] | None = None
    order_id: str | None = None  # the exchange's id, once an answer named it


class Halt(BaseModel):
    """Why a tick halts the bot (kept as ``bots/halts.py`` says, until resolved)."""

    model_config = ConfigDict(extra="forbid")

    rule: str  # e.g. "tick_gap"
    reason: str
    since: datetime
    bar: int | None = None  # the newest closed bar when it halted


class TickState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1  # STATE_VERSION
    last_bar: int | None = None  # open time (ms) of the last bar decided on
    engine: dict[str, float] = Field(default_factory=dict)
    intent: Intent | None = None
    last_risk: str | None = None  # the risk rule that held the bot back last (logged once)

    @classmethod
    def load(cls, data: Mapping[str, Any] | None, *, bot_id: int | None = None) -> TickState:
        """The state stored in ``BotState.state_data`` (any version; empty: a fresh bot)."""
        raw = dict(data or {})
        version = raw.get("version", 0)
        try:
            if version == 0:
                return cls.model_validate(_from_v0(raw))
            if version == STATE_VERSION:
                return cls.model_validate(raw)
        except (PydanticError, TypeError, ValueError) as e:
            raise OperationalError(
                f"bot {bot_id}'s stored state (bot_states.state_data) is not a valid version "
                f"{version} state: {str(e).splitlines()[0]}; restore it from a backup"
            ) from None
        raise OperationalError(
            f"bot {bot_id}'s stored state (bot_states.state_data) has version {version!r}; "
            f"this workbench reads versions 0 to {STATE_VERSION}: upgrade the workbench"
        )

    def dump(self) -> dict[str, Any]:
        """JSON for ``BotState.state_data``."""
        return self.model_dump(mode="json", exclude_none=True)

    # --- the engine's slots ----------------------------------------------------------------

    def engine_array(self, params: np.ndarray) -> np.ndarray:
        """The engine's state array: stored slots by name, any other from a fresh state."""
        from workbench.rules import engine as e

        book = e.new_state(params)
        for name, index in engine_slots().items():
            if name in self.engine:
                book[index] = self.engine[name]
        return book

    def with_engine(self, book: np.ndarray) -> TickState:
        values = book.tolist()
        return self.model_copy(
            update={"engine": {name: values[i] for name, i in engine_slots().items()}}
        )


def engine_slots() -> dict[str, int]:
    """The rule engine's state slots by name (``S_QTY`` -> "qty"), from rules/engine.py."""
    global _SLOTS
    if _SLOTS is None:
        from workbench.rules import engine as e

        _SLOTS = {
            name[2:].lower(): value
            for name, value in vars(e).items()
            if name.startswith("S_") and isinstance(value, int)
        }
    return _SLOTS


_SLOTS: dict[str, int] | None = None


def _from_v0(raw: dict[str, Any]) -> dict[str, Any]:
    engine = raw.pop("engine", None) or []
    if len(engine) > len(V0_ENGINE_SLOTS):
        raise ValueError(f"engine has {len(engine)} slots, version 0 had {len(V0_ENGINE_SLOTS)}")
    return {
        **raw,
        "version": STATE_VERSION,
        "engine": dict(zip(V0_ENGINE_SLOTS, map(float, engine), strict=False)),
    }


def held_quantity(data: Mapping[str, Any] | None) -> float:
    """The base quantity a stored state holds (0.0 when flat or never ticked)."""
    return float(TickState.load(data).engine.get("qty", 0.0))
