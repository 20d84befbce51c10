"""Input for bot configurations: one validation path for create, set, the form and the API.

The schema knows the strategies (built-ins, strategy files, this process's definitions)
and checks a config's parameters with the strategy's declared ones; it knows timeframes,
exchange ids and market kinds (a futures bot needs a futures symbol like BTC/USDT:USDT).
Parameters of a strategy that are not seed columns (``ema_fast``...) are collected into
``strategy_params``. The update schema is the create schema with every field optional; an
update is applied by merging it over the stored row and validating the result.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, create_model, field_validator, model_validator

from workbench.errors import ValidationError
from workbench.schemas.base import Schema, cross_field_error
from workbench.types import MarketType

Perc = Annotated[Decimal, Field(ge=0, le=100, max_digits=18, decimal_places=8)]
Money = Annotated[Decimal, Field(gt=0, max_digits=28, decimal_places=10)]
Period = Annotated[int, Field(ge=1, le=10_000)]
RsiLevel = Annotated[int, Field(ge=1, le=99)]

SYMBOL_HINT = "must be like BTC/USDT (spot) or BTC/USDT:USDT (futures)"
VENUES = {"synthetic"}  # stored-candle markets that are not ccxt exchanges
MAX_TIMEFRAME_MS = 31 * 86_400_000


def has_control_characters(text: str) -> bool:
    """Newlines, tabs, ANSI escapes and other control or format characters."""
    return any(unicodedata.category(c) in ("Cc", "Cf") for c in text)


@lru_cache(maxsize=256)
def is_exchange_id(name: str) -> bool:
    """A ccxt exchange id (checked against ccxt's modules without importing ccxt)."""
    if name in VENUES:
        return True
    spec = importlib.util.find_spec("ccxt")
    if spec is None or not spec.submodule_search_locations:
        return False
    return any((Path(p) / f"{name}.py").is_file() for p in spec.submodule_search_locations)


class BotConfigCreate(Schema):
    name: str = Field(min_length=1, max_length=100)
    exchange: str = Field(default="binance", min_length=1, max_length=64)
    symbol: str = Field(max_length=64)
    timeframe: str = "5m"
    strategy: str = Field(default="ema_cross", min_length=1, max_length=64)
    strategy_params: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = False
    dry_run: bool = True
    api_key_id: int | None = None
    position_type: MarketType = MarketType.SPOT

    initial_capital: Money = Decimal(1000)
    daily_target_perc: Annotated[Decimal, Field(ge=0, le=1000)] | None = None
    max_daily_loss_perc: Perc | None = None
    position_size_perc: Annotated[Decimal, Field(ge=Decimal("0.01"), le=100)] | None = None
    position_size_fixed: Money | None = None
    stop_loss_perc: Perc | None = None
    take_profit_perc: Annotated[Decimal, Field(ge=0, le=1000)] | None = None
    trailing_stop_perc: Perc | None = None
    trailing_stop_active: bool = False
    max_daily_trades: Annotated[int, Field(ge=1, le=10_000)] = 10
    check_interval_seconds: Annotated[int, Field(ge=1, le=86_400)] = 60
    # Overrides of the risk fields above (percent); None: use the field.
    custom_stop_loss: Perc | None = None
    custom_take_profit: Annotated[Decimal, Field(ge=0, le=1000)] | None = None
    custom_trailing_stop: Perc | None = None

    # The seed's columns for the built-in strategies (bounds: the strategies' declarations).
    ema_fast: Period = 12
    ema_slow: Period = 26
    ema_period: Period = 200
    rsi_period: Annotated[int, Field(ge=2, le=10_000)] = 14
    rsi_oversold: RsiLevel = 30
    rsi_overbought: RsiLevel = 70
    custom_ema_fast: Period | None = None
    custom_ema_slow: Period | None = None
    custom_ema_period: Period | None = None
    custom_rsi_period: Annotated[int, Field(ge=2, le=10_000)] | None = None
    custom_rsi_oversold: RsiLevel | None = None
    custom_rsi_overbought: RsiLevel | None = None

    leverage: Annotated[int, Field(ge=1, le=125)] = 1
    transfer_amount: Annotated[Decimal, Field(ge=0)] | None = None
    auto_transfer_funds: bool = False

    @field_validator("name")
    @classmethod
    def _printable_name(cls, v: str) -> str:
        if has_control_characters(v):
            raise ValueError("must not contain control characters (newlines, tabs, escapes)")
        return v

    @field_validator("exchange")
    @classmethod
    def _exchange(cls, v: str) -> str:
        v = v.lower()
        if not is_exchange_id(v):
            raise ValueError(
                f"{v!r} is not an exchange id; use a ccxt id like binance, kraken or bybit "
                "(the paper exchange is chosen by dry_run, not here)"
            )
        return v

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, v: str) -> str:
        base, slash, rest = v.upper().partition("/")
        quote, colon, settle = rest.partition(":")
        parts = [base, quote] + ([settle] if colon else [])
        if not slash or not all(p.isalnum() and p.isascii() for p in parts):
            raise ValueError(SYMBOL_HINT)
        return v.upper()

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, v: str) -> str:
        from workbench.market.timeframes import timeframe_ms

        try:
            length = timeframe_ms(v)
        except ValidationError:
            raise ValueError(
                f"{v!r} is not a timeframe; use e.g. 1m, 5m, 15m, 1h, 4h, 1d"
            ) from None
        if length > MAX_TIMEFRAME_MS:
            raise ValueError("must be at most 31d")
        return v

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        sized = "position_size_perc" in data or data.get("position_size_fixed") is not None
        if not sized:
            data = {**data, "position_size_perc": Decimal(100)}
        return _collect_strategy_params(data, set(cls.model_fields))

    @model_validator(mode="after")
    def _cross_field_rules(self) -> BotConfigCreate:
        errors: dict[str, str] = {}
        errors.update(self._strategy_errors())
        if (self.position_size_perc is None) == (self.position_size_fixed is None):
            errors["position_size_perc"] = (
                "give exactly one of position_size_perc or position_size_fixed"
            )
        if self.position_type is MarketType.SPOT and self.leverage != 1:
            errors["leverage"] = "must be 1 for spot; use position_type=futures for leverage"
        futures_symbol = ":" in self.symbol
        if self.position_type is MarketType.FUTURES and not futures_symbol:
            errors["symbol"] = (
                f"{self.symbol} is a spot market; a futures bot needs a futures symbol "
                f"like {self.symbol}:{self.symbol.split('/')[1]}"
            )
        if self.position_type is MarketType.SPOT and futures_symbol:
            errors["position_type"] = (
                f"{self.symbol} is a futures market; use position_type=futures"
            )
        if errors:
            raise cross_field_error(errors)
        return self

    def _strategy_errors(self) -> dict[str, str]:
        """The strategy exists, and its parameters (seed columns for the built-ins, then
        ``strategy_params``) pass its declaration; the built-ins' rules also hold for the
        seed columns (the database CHECKs them for every bot)."""
        from workbench.strategies import STRATEGIES, get_strategy

        errors: dict[str, str] = {}
        for builtin in STRATEGIES.values():
            seed = {k: getattr(self, k) for k in builtin.param_names}
            errors.update(_errors(builtin.validate, seed))
            custom = {k: getattr(self, f"custom_{k}") for k in builtin.param_names}
            if any(v is not None for v in custom.values()):
                merged = {k: seed[k] if custom[k] is None else custom[k] for k in seed}
                found = _errors(builtin.validate, merged)
                errors.update({f"custom_{k}": v for k, v in found.items()})
        try:
            chosen = get_strategy(self.strategy)
        except ValidationError as e:
            return {**errors, **e.errors}
        found = _errors(lambda p: chosen.validate(p, text=True), self.strategy_params)
        if found:
            return {**errors, **found}
        typed = chosen.validate(self.strategy_params, text=True)
        object.__setattr__(self, "strategy_params", {k: typed[k] for k in self.strategy_params})
        return {**errors, **_errors(chosen.params_from_config, self)}


def _errors(check: Any, value: Any) -> dict[str, str]:
    try:
        check(value)
    except ValidationError as e:
        return e.errors
    return {}


def _collect_strategy_params(data: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    """Move keys that are not schema fields into ``strategy_params`` when they are
    parameters of the chosen strategy; say what a key is not, otherwise."""
    extra = [k for k in data if k not in fields]
    if not extra:
        return data
    from workbench.strategies import get_strategy

    try:
        names = get_strategy(data.get("strategy") or "ema_cross").param_names
    except ValidationError:
        names = ()
    unknown = {
        k: "is neither a bot config field nor a parameter of "
        f"{data.get('strategy') or 'ema_cross'}"
        + (f" (its parameters: {', '.join(names)})" if names else "")
        for k in extra
        if k not in names
    }
    if unknown:
        raise cross_field_error(unknown)
    params = dict(data.get("strategy_params") or {})
    params.update({k: data[k] for k in extra})
    return {**{k: v for k, v in data.items() if k not in extra}, "strategy_params": params}


def _optional(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in fields.items():
        annotation = (
            Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        )
        out[name] = (annotation | None, None)
    return out


BotConfigUpdate = create_model(  # every field optional, same per-field bounds
    "BotConfigUpdate", __base__=Schema, **_optional(BotConfigCreate.model_fields)
)
