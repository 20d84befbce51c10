"""Rule parameters from a bot config (or free values) as the engine's float array."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from workbench.errors import ValidationError
from workbench.rules import engine as e
from workbench.types import DEFAULT_FEE, BotConfigLike

DEFAULT_MAINT_MARGIN = 0.004  # Binance USDT-M lowest tier
MAX_FEE = 0.1  # 10 % per fill: anything above is a typo (percent given as a fraction)
MAX_SLIPPAGE = 0.1
# The smallest position an entry opens, as a fraction of the starting capital (0.10 of
# 1,000): an account below it (wiped out by liquidations) trades no dust.
MIN_NOTIONAL_OF_CAPITAL = 1e-4


def _frac(perc: Decimal | float | None) -> float:
    return 0.0 if perc is None else float(perc) / 100.0


def _override(config: BotConfigLike, custom: str, field: str) -> Decimal | float | None:
    """``custom_X`` when the config sets it, else the field (the seed's overrides)."""
    value = getattr(config, custom, None)
    return getattr(config, field) if value is None else value


@dataclass(frozen=True)
class RuleParams:
    """Everything the engine needs besides candles and signals (fractions, not percents)."""

    initial_capital: float = 1000.0
    fee: float = DEFAULT_FEE
    slippage: float = 0.0
    stop_loss: float = 0.0
    take_profit: float = 0.0
    trailing_stop: float = 0.0
    size_perc: float = 1.0
    size_fixed: float = 0.0
    leverage: float = 1.0
    futures: bool = False
    maint_margin: float = DEFAULT_MAINT_MARGIN
    daily_target: float = 0.0
    max_daily_loss: float = 0.0
    max_daily_trades: int = 1_000_000
    min_notional: float | None = None  # quote; None: MIN_NOTIONAL_OF_CAPITAL of the capital

    def __post_init__(self) -> None:
        errors = {}
        for name, value, high in (
            ("fees", self.fee, MAX_FEE),
            ("slippage", self.slippage, MAX_SLIPPAGE),
        ):
            if not 0.0 <= value <= high:
                errors[name] = (
                    f"must be a fraction between 0 and {high} per fill (0.001 = 0.1 %), got {value}"
                )
        if errors:
            raise ValidationError(errors, entity="rules")

    @classmethod
    def from_config(
        cls, config: BotConfigLike, *, fee: float = DEFAULT_FEE, slippage: float = 0.0
    ) -> RuleParams:
        """From any object with bot-config fields (an ORM row or a schema).
        ``custom_stop_loss``/``custom_take_profit``/``custom_trailing_stop`` override the
        risk fields when set (a custom trailing stop is on whatever trailing_stop_active)."""
        custom_trailing = getattr(config, "custom_trailing_stop", None)
        if custom_trailing is not None:
            trailing = _frac(custom_trailing)
        else:
            trailing = _frac(config.trailing_stop_perc) if config.trailing_stop_active else 0.0
        return cls(
            initial_capital=float(config.initial_capital),
            fee=fee,
            slippage=slippage,
            stop_loss=_frac(_override(config, "custom_stop_loss", "stop_loss_perc")),
            take_profit=_frac(_override(config, "custom_take_profit", "take_profit_perc")),
            trailing_stop=trailing,
            size_perc=_frac(config.position_size_perc),
            size_fixed=float(config.position_size_fixed or 0),
            leverage=float(config.leverage),
            futures=str(config.position_type) == "futures",
            daily_target=_frac(config.daily_target_perc),
            max_daily_loss=_frac(config.max_daily_loss_perc),
            max_daily_trades=int(config.max_daily_trades),
        )

    def to_array(self) -> np.ndarray:
        p = np.zeros(e.N_PARAMS)
        p[e.P_FEE], p[e.P_SLIPPAGE] = self.fee, self.slippage
        p[e.P_STOP_LOSS], p[e.P_TAKE_PROFIT] = self.stop_loss, self.take_profit
        p[e.P_TRAILING] = self.trailing_stop
        p[e.P_SIZE_PERC], p[e.P_SIZE_FIXED] = self.size_perc, self.size_fixed
        p[e.P_LEVERAGE], p[e.P_FUTURES] = self.leverage, float(self.futures)
        p[e.P_MAINT_MARGIN] = self.maint_margin
        p[e.P_DAILY_TARGET], p[e.P_MAX_DAILY_LOSS] = self.daily_target, self.max_daily_loss
        p[e.P_MAX_DAILY_TRADES] = self.max_daily_trades
        p[e.P_INITIAL_CAPITAL] = self.initial_capital
        p[e.P_MIN_NOTIONAL] = self.smallest_order
        return p

    @property
    def smallest_order(self) -> float:
        """The smallest position (quote notional) an entry opens."""
        if self.min_notional is not None:
            return self.min_notional
        return self.initial_capital * MIN_NOTIONAL_OF_CAPITAL

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
