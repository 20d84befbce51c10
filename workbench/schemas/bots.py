"""Input for bot configurations: the same rules the database enforces, with field names.

The update schema is the create schema with every field optional; an update is applied
by merging it over the stored row and validating the result with ``BotConfigCreate``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, create_model, model_validator

from workbench.db.models.bots import PositionType
from workbench.schemas.base import Schema, cross_field_error

Perc = Annotated[Decimal, Field(ge=0, le=100, max_digits=18, decimal_places=8)]
Money = Annotated[Decimal, Field(gt=0, max_digits=28, decimal_places=10)]
Period = Annotated[int, Field(ge=1, le=10_000)]
RsiLevel = Annotated[int, Field(ge=1, le=99)]

TIMEFRAME = r"^[1-9][0-9]*[mhdwM]$"
SYMBOL = r"^[A-Z0-9]+/[A-Z0-9]+(:[A-Z0-9]+)?$"


class BotConfigCreate(Schema):
    name: str = Field(min_length=1, max_length=100)
    exchange: str = Field(default="paper", min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    symbol: str = Field(max_length=64, pattern=SYMBOL)
    timeframe: str = Field(default="5m", pattern=TIMEFRAME)
    strategy: str = Field(default="ema_cross", min_length=1, max_length=64)
    is_active: bool = False
    dry_run: bool = True
    api_key_id: int | None = None
    position_type: PositionType = PositionType.SPOT

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

    @model_validator(mode="before")
    @classmethod
    def _default_position_size(cls, data: Any) -> Any:
        sized = isinstance(data, dict) and (
            "position_size_perc" in data or data.get("position_size_fixed") is not None
        )
        if isinstance(data, dict) and not sized:
            data = {**data, "position_size_perc": Decimal(100)}
        return data

    @model_validator(mode="after")
    def _cross_field_rules(self) -> BotConfigCreate:
        errors: list[tuple[str, str]] = []
        if self.ema_fast >= self.ema_slow:
            errors.append(("ema_fast", f"must be less than ema_slow ({self.ema_slow})"))
        fast = self.custom_ema_fast or self.ema_fast
        slow = self.custom_ema_slow or self.ema_slow
        if (self.custom_ema_fast or self.custom_ema_slow) and fast >= slow:
            errors.append(("custom_ema_fast", f"must be less than the slow EMA ({slow})"))
        if self.rsi_oversold >= self.rsi_overbought:
            errors.append(
                ("rsi_oversold", f"must be less than rsi_overbought ({self.rsi_overbought})")
            )
        low = self.custom_rsi_oversold or self.rsi_oversold
        high = self.custom_rsi_overbought or self.rsi_overbought
        if (self.custom_rsi_oversold or self.custom_rsi_overbought) and low >= high:
            errors.append(
                ("custom_rsi_oversold", f"must be less than the overbought level ({high})")
            )
        if (self.position_size_perc is None) == (self.position_size_fixed is None):
            errors.append(
                (
                    "position_size_perc",
                    "give exactly one of position_size_perc or position_size_fixed",
                )
            )
        if self.position_type is PositionType.SPOT and self.leverage != 1:
            errors.append(
                ("leverage", "must be 1 for spot; use position_type=futures for leverage")
            )
        if errors:
            raise cross_field_error(dict(errors))
        return self


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
