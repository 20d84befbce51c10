"""Bot configurations (every field of the TradeBot config) and their running state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db.base import Base, Timestamps, str_enum
from workbench.types import MarketType


def _perc(column: str, low: str = "0", high: str = "100") -> CheckConstraint:
    return CheckConstraint(
        f"{column} IS NULL OR ({column} >= {low} AND {column} <= {high})", name=f"{column}_range"
    )


class BotConfig(Timestamps, Base):
    __tablename__ = "bot_configs"
    __table_args__ = (
        UniqueConstraint("user_id", "name"),
        CheckConstraint("ema_fast > 0 AND ema_fast < ema_slow", name="ema_fast_lt_slow"),
        CheckConstraint(
            "custom_ema_fast IS NULL OR custom_ema_slow IS NULL "
            "OR (custom_ema_fast > 0 AND custom_ema_fast < custom_ema_slow)",
            name="custom_ema_fast_lt_slow",
        ),
        CheckConstraint(
            "rsi_oversold > 0 AND rsi_oversold < rsi_overbought AND rsi_overbought < 100",
            name="rsi_ordered",
        ),
        CheckConstraint(
            "custom_rsi_oversold IS NULL OR custom_rsi_overbought IS NULL OR "
            "(custom_rsi_oversold > 0 AND custom_rsi_oversold < custom_rsi_overbought "
            "AND custom_rsi_overbought < 100)",
            name="custom_rsi_ordered",
        ),
        CheckConstraint("rsi_period >= 2 AND ema_period >= 1", name="periods_positive"),
        CheckConstraint(
            "(position_size_perc IS NULL) <> (position_size_fixed IS NULL)",
            name="position_size_one_way",
        ),
        _perc("position_size_perc", low="0.01"),
        CheckConstraint(
            "position_size_fixed IS NULL OR position_size_fixed > 0", name="position_size_fixed_pos"
        ),
        _perc("daily_target_perc", high="1000"),
        _perc("max_daily_loss_perc"),
        _perc("stop_loss_perc"),
        _perc("take_profit_perc", high="1000"),
        _perc("trailing_stop_perc"),
        _perc("custom_stop_loss"),
        _perc("custom_take_profit", high="1000"),
        _perc("custom_trailing_stop"),
        CheckConstraint("initial_capital > 0", name="initial_capital_pos"),
        CheckConstraint("max_daily_trades >= 1", name="max_daily_trades_pos"),
        CheckConstraint("check_interval_seconds >= 1", name="check_interval_pos"),
        CheckConstraint("transfer_amount IS NULL OR transfer_amount >= 0", name="transfer_pos"),
        CheckConstraint(
            "leverage >= 1 AND leverage <= 125 AND (position_type = 'futures' OR leverage = 1)",
            name="leverage_range",
        ),
        # A bot's id is in its client order ids and paper account: never hand it out twice.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    exchange: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(8))
    is_active: Mapped[bool] = mapped_column(default=False, server_default="0")
    dry_run: Mapped[bool] = mapped_column(default=True, server_default="1")
    strategy: Mapped[str] = mapped_column(String(64))
    position_type: Mapped[MarketType] = mapped_column(
        str_enum(MarketType, "position_type"),
        default=MarketType.SPOT,
        server_default=MarketType.SPOT.value,
    )

    initial_capital: Mapped[Decimal]
    daily_target_perc: Mapped[Decimal | None]
    max_daily_loss_perc: Mapped[Decimal | None]
    position_size_perc: Mapped[Decimal | None]
    position_size_fixed: Mapped[Decimal | None]
    stop_loss_perc: Mapped[Decimal | None]
    take_profit_perc: Mapped[Decimal | None]
    trailing_stop_perc: Mapped[Decimal | None]
    trailing_stop_active: Mapped[bool] = mapped_column(default=False, server_default="0")
    max_daily_trades: Mapped[int] = mapped_column(default=10, server_default="10")
    check_interval_seconds: Mapped[int] = mapped_column(default=60, server_default="60")

    ema_fast: Mapped[int] = mapped_column(default=12, server_default="12")
    ema_slow: Mapped[int] = mapped_column(default=26, server_default="26")
    ema_period: Mapped[int] = mapped_column(default=200, server_default="200")
    rsi_period: Mapped[int] = mapped_column(default=14, server_default="14")
    rsi_oversold: Mapped[int] = mapped_column(default=30, server_default="30")
    rsi_overbought: Mapped[int] = mapped_column(default=70, server_default="70")
    # Per-bot overrides of the strategy parameters above; NULL means "use the default".
    custom_ema_fast: Mapped[int | None]
    custom_ema_slow: Mapped[int | None]
    custom_ema_period: Mapped[int | None]
    custom_rsi_period: Mapped[int | None]
    custom_rsi_oversold: Mapped[int | None]
    custom_rsi_overbought: Mapped[int | None]
    # Any strategy's parameters by name, validated by its declared parameters (the
    # built-ins' seed columns above keep their meaning; these are taken over them).
    strategy_params: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # Set when the bot is activated: the code it was checked with, and the history (bars)
    # its signals need before they stop depending on where the history starts.
    strategy_fingerprint: Mapped[str | None] = mapped_column(String(64))
    strategy_warmup: Mapped[int | None]
    # Per-bot overrides of the risk fields (percent); NULL means "use the field".
    custom_stop_loss: Mapped[Decimal | None]
    custom_take_profit: Mapped[Decimal | None]
    custom_trailing_stop: Mapped[Decimal | None]

    leverage: Mapped[int] = mapped_column(default=1, server_default="1")
    transfer_amount: Mapped[Decimal | None]
    auto_transfer_funds: Mapped[bool] = mapped_column(default=False, server_default="0")


class BotState(Timestamps, Base):
    __tablename__ = "bot_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    bot_config_id: Mapped[int] = mapped_column(
        ForeignKey("bot_configs.id", ondelete="CASCADE"), unique=True, index=True
    )
    is_running: Mapped[bool] = mapped_column(default=False, server_default="0")
    last_execution: Mapped[datetime | None]
    status_message: Mapped[str | None] = mapped_column(String(2000))
    state_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Set when reconciliation found what it cannot explain: the bot trades no more until
    # `workbench bot resolve` (see workbench.bots.reconcile); the evidence says what differed.
    halt_reason: Mapped[str | None] = mapped_column(String(500))
    halt_evidence: Mapped[dict[str, Any] | None]
    halted_at: Mapped[datetime | None]


class BotEvent(Base):
    """What a tick decided and why: every order, and each risk rule that changed course
    (stops, daily loss halt, daily target, trade limit, liquidation). Written in the tick's
    own commit, so an event exists exactly when its decision does."""

    __tablename__ = "bot_events"
    __table_args__ = (Index("ix_bot_events_bot_time", "bot_id", "bar_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bot_configs.id", ondelete="CASCADE"))
    bar_time: Mapped[datetime]
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    risk_rule: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
