"""The seed's (TradeBot) table and column names: user_id everywhere, trades.bot_config_id,
quantity_filled, quote_quantity_filled, commission_amount and timestamp, api_keys.key_name,
api_key_encrypted and secret_key_encrypted, users.hashed_password, backtests.start_date/end_date,
bot_states.bot_config_id. Renames only: every row stays. Constraint and index names follow the
naming convention; the trades CHECK is recreated with the new column names.

Revision ID: 0017_seed_names
Revises: 0016_notifications
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from alembic import op

revision: str = "0017_seed_names"
down_revision: str | None = "0016_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@dataclass(frozen=True)
class Index:
    name: str
    columns: list[str]
    unique: bool = False


@dataclass(frozen=True)
class ForeignKey:
    name: str
    column: str
    referred: str
    ondelete: str


@dataclass(frozen=True)
class Unique:
    name: str
    columns: list[str]


@dataclass(frozen=True)
class Check:
    name: str
    sql: str


@dataclass(frozen=True)
class Schema:
    """One table's names that involve renamed columns, in one vocabulary."""

    columns: list[str]
    indexes: list[Index] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    uniques: list[Unique] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)


OLD = {
    "users": Schema(["password_hash", "reset_token_hash", "reset_token_expires_at"]),
    "api_keys": Schema(
        ["owner_id", "label", "key_encrypted", "secret_encrypted"],
        indexes=[Index("ix_api_keys_owner_id", ["owner_id"])],
        foreign_keys=[ForeignKey("fk_api_keys_owner_id_users", "owner_id", "users", "CASCADE")],
        uniques=[Unique("uq_api_keys_owner_id_exchange_label", ["owner_id", "exchange", "label"])],
    ),
    "bot_configs": Schema(
        ["owner_id"],
        indexes=[Index("ix_bot_configs_owner_id", ["owner_id"])],
        foreign_keys=[ForeignKey("fk_bot_configs_owner_id_users", "owner_id", "users", "CASCADE")],
        uniques=[Unique("uq_bot_configs_owner_id_name", ["owner_id", "name"])],
    ),
    "bot_states": Schema(
        ["bot_id"],
        indexes=[Index("ix_bot_states_bot_id", ["bot_id"], unique=True)],
        foreign_keys=[
            ForeignKey("fk_bot_states_bot_id_bot_configs", "bot_id", "bot_configs", "CASCADE")
        ],
    ),
    "trades": Schema(
        ["bot_id", "owner_id", "quantity", "quote_quantity", "commission", "executed_at"],
        indexes=[
            Index("ix_trades_bot_id", ["bot_id"]),
            Index("ix_trades_owner_id", ["owner_id"]),
            Index("ix_trades_executed_at", ["executed_at"]),
            Index("ix_trades_bot_symbol_time", ["bot_id", "symbol", "executed_at"]),
            Index("ix_trades_symbol_time", ["symbol", "executed_at"]),
        ],
        foreign_keys=[
            ForeignKey("fk_trades_bot_id_bot_configs", "bot_id", "bot_configs", "RESTRICT"),
            ForeignKey("fk_trades_owner_id_users", "owner_id", "users", "RESTRICT"),
        ],
        checks=[
            Check("ck_trades_amounts_pos", "price >= 0 AND quantity >= 0 AND quote_quantity >= 0")
        ],
    ),
    "backtests": Schema(
        ["owner_id", "start", "end"],
        indexes=[Index("ix_backtests_owner_id", ["owner_id"])],
        foreign_keys=[ForeignKey("fk_backtests_owner_id_users", "owner_id", "users", "CASCADE")],
    ),
}

NEW = {
    "users": Schema(
        # reset_token holds the token's SHA-256 hash, as reset_token_hash did.
        ["hashed_password", "reset_token", "reset_token_expires"]
    ),
    "api_keys": Schema(
        ["user_id", "key_name", "api_key_encrypted", "secret_key_encrypted"],
        indexes=[Index("ix_api_keys_user_id", ["user_id"])],
        foreign_keys=[ForeignKey("fk_api_keys_user_id_users", "user_id", "users", "CASCADE")],
        uniques=[
            Unique("uq_api_keys_user_id_exchange_key_name", ["user_id", "exchange", "key_name"])
        ],
    ),
    "bot_configs": Schema(
        ["user_id"],
        indexes=[Index("ix_bot_configs_user_id", ["user_id"])],
        foreign_keys=[ForeignKey("fk_bot_configs_user_id_users", "user_id", "users", "CASCADE")],
        uniques=[Unique("uq_bot_configs_user_id_name", ["user_id", "name"])],
    ),
    "bot_states": Schema(
        ["bot_config_id"],
        indexes=[Index("ix_bot_states_bot_config_id", ["bot_config_id"], unique=True)],
        foreign_keys=[
            ForeignKey(
                "fk_bot_states_bot_config_id_bot_configs", "bot_config_id", "bot_configs", "CASCADE"
            )
        ],
    ),
    "trades": Schema(
        [
            "bot_config_id",
            "user_id",
            "quantity_filled",
            "quote_quantity_filled",
            "commission_amount",
            "timestamp",
        ],
        indexes=[
            Index("ix_trades_bot_config_id", ["bot_config_id"]),
            Index("ix_trades_user_id", ["user_id"]),
            Index("ix_trades_timestamp", ["timestamp"]),
            Index("ix_trades_bot_symbol_time", ["bot_config_id", "symbol", "timestamp"]),
            Index("ix_trades_symbol_time", ["symbol", "timestamp"]),
        ],
        foreign_keys=[
            ForeignKey(
                "fk_trades_bot_config_id_bot_configs", "bot_config_id", "bot_configs", "RESTRICT"
            ),
            ForeignKey("fk_trades_user_id_users", "user_id", "users", "RESTRICT"),
        ],
        checks=[
            Check(
                "ck_trades_amounts_pos",
                "price >= 0 AND quantity_filled >= 0 AND quote_quantity_filled >= 0",
            )
        ],
    ),
    "backtests": Schema(
        ["user_id", "start_date", "end_date"],
        indexes=[Index("ix_backtests_user_id", ["user_id"])],
        foreign_keys=[ForeignKey("fk_backtests_user_id_users", "user_id", "users", "CASCADE")],
    ),
}


def _rename_postgresql(table: str, before: Schema, after: Schema) -> None:
    """In place: PostgreSQL keeps indexes, keys and CHECKs on renamed columns (a CHECK's
    expression follows the column), so only the names that spell a column change."""
    for old, new in zip(before.columns, after.columns, strict=True):
        op.alter_column(table, old, new_column_name=new)
    for old_index, new_index in zip(before.indexes, after.indexes, strict=True):
        if old_index.name != new_index.name:
            op.execute(f'ALTER INDEX "{old_index.name}" RENAME TO "{new_index.name}"')
    pairs: list[tuple[ForeignKey | Unique, ForeignKey | Unique]] = [
        *zip(before.foreign_keys, after.foreign_keys, strict=True),
        *zip(before.uniques, after.uniques, strict=True),
    ]
    for old_key, new_key in pairs:
        op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{old_key.name}" TO "{new_key.name}"')


def _rename_sqlite(table: str, before: Schema, after: Schema) -> None:
    """SQLite (batch mode): the table is copied under the new names; every index, key and
    CHECK that mentions a renamed column is dropped and made again with the new ones."""
    # bot_configs keeps AUTOINCREMENT ids (0009: a bot id is never handed out twice).
    table_kwargs = {"sqlite_autoincrement": True} if table == "bot_configs" else {}
    with op.batch_alter_table(table, recreate="always", table_kwargs=table_kwargs) as batch:
        for index in before.indexes:
            batch.drop_index(op.f(index.name))
        for key in before.foreign_keys:
            batch.drop_constraint(op.f(key.name), type_="foreignkey")
        for unique in before.uniques:
            batch.drop_constraint(op.f(unique.name), type_="unique")
        for check in before.checks:
            batch.drop_constraint(op.f(check.name), type_="check")
        for old, new in zip(before.columns, after.columns, strict=True):
            batch.alter_column(old, new_column_name=new)
        # Until the batch is done it knows a renamed column by its old name (key); a
        # constraint given the new name would be dropped without a word.
        key_of = dict(zip(after.columns, before.columns, strict=True))
        for key in after.foreign_keys:
            batch.create_foreign_key(
                op.f(key.name), key.referred, [key_of[key.column]], ["id"], ondelete=key.ondelete
            )
        for unique in after.uniques:
            columns = [key_of.get(c, c) for c in unique.columns]
            batch.create_unique_constraint(op.f(unique.name), columns)
        for check in after.checks:
            batch.create_check_constraint(op.f(check.name), check.sql)
    # Outside the batch: it names the copied columns by their old keys until it is done.
    for index in after.indexes:
        op.create_index(op.f(index.name), table, index.columns, unique=index.unique)


def _rename(before: dict[str, Schema], after: dict[str, Schema]) -> None:
    rename = _rename_sqlite if op.get_bind().dialect.name == "sqlite" else _rename_postgresql
    for table in before:
        rename(table, before[table], after[table])


def upgrade() -> None:
    _rename(OLD, NEW)


def downgrade() -> None:
    _rename(NEW, OLD)
