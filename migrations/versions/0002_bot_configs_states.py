"""Bot configurations and their running state.

Revision ID: 0002_bot_configs_states
Revises: 0001_users_api_keys
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_bot_configs_states"
down_revision: str | None = "0001_users_api_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bot_configs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("exchange", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("dry_run", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column(
            "position_type",
            sa.Enum(
                "spot",
                "futures",
                name="position_type",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="spot",
            nullable=False,
        ),
        sa.Column("initial_capital", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("daily_target_perc", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("max_daily_loss_perc", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("position_size_perc", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("position_size_fixed", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("stop_loss_perc", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("take_profit_perc", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("trailing_stop_perc", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("trailing_stop_active", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("max_daily_trades", sa.Integer(), server_default="10", nullable=False),
        sa.Column("check_interval_seconds", sa.Integer(), server_default="60", nullable=False),
        sa.Column("ema_fast", sa.Integer(), server_default="12", nullable=False),
        sa.Column("ema_slow", sa.Integer(), server_default="26", nullable=False),
        sa.Column("ema_period", sa.Integer(), server_default="200", nullable=False),
        sa.Column("rsi_period", sa.Integer(), server_default="14", nullable=False),
        sa.Column("rsi_oversold", sa.Integer(), server_default="30", nullable=False),
        sa.Column("rsi_overbought", sa.Integer(), server_default="70", nullable=False),
        sa.Column("custom_ema_fast", sa.Integer(), nullable=True),
        sa.Column("custom_ema_slow", sa.Integer(), nullable=True),
        sa.Column("custom_ema_period", sa.Integer(), nullable=True),
        sa.Column("custom_rsi_period", sa.Integer(), nullable=True),
        sa.Column("custom_rsi_oversold", sa.Integer(), nullable=True),
        sa.Column("custom_rsi_overbought", sa.Integer(), nullable=True),
        sa.Column("transfer_amount", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("auto_transfer_funds", sa.Boolean(), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "(position_size_perc IS NULL) <> (position_size_fixed IS NULL)",
            name=op.f("ck_bot_configs_position_size_one_way"),
        ),
        sa.CheckConstraint(
            "check_interval_seconds >= 1", name=op.f("ck_bot_configs_check_interval_pos")
        ),
        sa.CheckConstraint(
            "custom_ema_fast IS NULL OR custom_ema_slow IS NULL OR (custom_ema_fast > 0 AND custom_ema_fast < custom_ema_slow)",
            name=op.f("ck_bot_configs_custom_ema_fast_lt_slow"),
        ),
        sa.CheckConstraint(
            "custom_rsi_oversold IS NULL OR custom_rsi_overbought IS NULL OR (custom_rsi_oversold > 0 AND custom_rsi_oversold < custom_rsi_overbought AND custom_rsi_overbought < 100)",
            name=op.f("ck_bot_configs_custom_rsi_ordered"),
        ),
        sa.CheckConstraint(
            "daily_target_perc IS NULL OR (daily_target_perc >= 0 AND daily_target_perc <= 1000)",
            name=op.f("ck_bot_configs_daily_target_perc_range"),
        ),
        sa.CheckConstraint(
            "ema_fast > 0 AND ema_fast < ema_slow", name=op.f("ck_bot_configs_ema_fast_lt_slow")
        ),
        sa.CheckConstraint("initial_capital > 0", name=op.f("ck_bot_configs_initial_capital_pos")),
        sa.CheckConstraint(
            "max_daily_loss_perc IS NULL OR (max_daily_loss_perc >= 0 AND max_daily_loss_perc <= 100)",
            name=op.f("ck_bot_configs_max_daily_loss_perc_range"),
        ),
        sa.CheckConstraint(
            "max_daily_trades >= 1", name=op.f("ck_bot_configs_max_daily_trades_pos")
        ),
        sa.CheckConstraint(
            "position_size_fixed IS NULL OR position_size_fixed > 0",
            name=op.f("ck_bot_configs_position_size_fixed_pos"),
        ),
        sa.CheckConstraint(
            "position_size_perc IS NULL OR (position_size_perc >= 0.01 AND position_size_perc <= 100)",
            name=op.f("ck_bot_configs_position_size_perc_range"),
        ),
        sa.CheckConstraint(
            "rsi_oversold > 0 AND rsi_oversold < rsi_overbought AND rsi_overbought < 100",
            name=op.f("ck_bot_configs_rsi_ordered"),
        ),
        sa.CheckConstraint(
            "rsi_period >= 2 AND ema_period >= 1", name=op.f("ck_bot_configs_periods_positive")
        ),
        sa.CheckConstraint(
            "stop_loss_perc IS NULL OR (stop_loss_perc >= 0 AND stop_loss_perc <= 100)",
            name=op.f("ck_bot_configs_stop_loss_perc_range"),
        ),
        sa.CheckConstraint(
            "take_profit_perc IS NULL OR (take_profit_perc >= 0 AND take_profit_perc <= 1000)",
            name=op.f("ck_bot_configs_take_profit_perc_range"),
        ),
        sa.CheckConstraint(
            "trailing_stop_perc IS NULL OR (trailing_stop_perc >= 0 AND trailing_stop_perc <= 100)",
            name=op.f("ck_bot_configs_trailing_stop_perc_range"),
        ),
        sa.CheckConstraint(
            "transfer_amount IS NULL OR transfer_amount >= 0",
            name=op.f("ck_bot_configs_transfer_pos"),
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_bot_configs_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_bot_configs_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_configs")),
        sa.UniqueConstraint("owner_id", "name", name=op.f("uq_bot_configs_owner_id_name")),
    )
    with op.batch_alter_table("bot_configs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_configs_api_key_id"), ["api_key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot_configs_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "bot_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("is_running", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("last_execution", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_message", sa.String(length=2000), nullable=True),
        sa.Column("state_data", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bot_configs.id"],
            name=op.f("fk_bot_states_bot_id_bot_configs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_states")),
    )
    with op.batch_alter_table("bot_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_states_bot_id"), ["bot_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("bot_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_states_bot_id"))

    op.drop_table("bot_states")
    with op.batch_alter_table("bot_configs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_configs_owner_id"))
        batch_op.drop_index(batch_op.f("ix_bot_configs_api_key_id"))

    op.drop_table("bot_configs")
