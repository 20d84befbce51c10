"""Job runs: heartbeat and expiry, skipped and cancelled statuses, retries per schedule.

Active runs already in the table get an expiry an hour from the upgrade (a process of
the previous version may still be running them); every row is kept. The downgrade turns
``skipped``/``cancelled`` rows into ``failed`` (their error says which they were); it
refuses while retries (attempt > 1) exist, which the old one-run-per-slot key cannot hold.

Revision ID: 0014_job_heartbeats
Revises: 0013_trade_order_key
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0014_job_heartbeats"
down_revision: str | None = "0013_trade_order_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ("queued", "running", "succeeded", "failed", "timed_out")
NEW_STATUSES = (*OLD_STATUSES, "skipped", "cancelled")


def _status(values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name="run_status", native_enum=False, create_constraint=True, length=16)


def _set_status_check(values: Sequence[str], old: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":  # the batch copy below rebuilds the CHECK
        with op.batch_alter_table("job_runs", recreate="always") as batch_op:
            batch_op.alter_column(
                "status",
                type_=_status(values),
                existing_type=_status(old),
                existing_nullable=False,
                existing_server_default="queued",
            )
        return
    op.drop_constraint(op.f("ck_job_runs_run_status"), "job_runs", type_="check")
    listed = ", ".join(f"'{v}'" for v in values)
    op.create_check_constraint(op.f("ck_job_runs_run_status"), "job_runs", f"status IN ({listed})")


def upgrade() -> None:
    with op.batch_alter_table("job_schedules") as batch_op:
        batch_op.add_column(
            sa.Column("max_retries", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("retry_delay_seconds", sa.Integer(), server_default="60", nullable=False)
        )
    with op.batch_alter_table("job_runs") as batch_op:
        batch_op.add_column(sa.Column("attempt", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(
            sa.Column("retryable", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint("uq_job_runs_schedule_id_slot", type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_job_runs_schedule_id_slot_attempt"), ["schedule_id", "slot", "attempt"]
        )
        batch_op.create_index(batch_op.f("ix_job_runs_expires_at"), ["expires_at"], unique=False)
    _set_status_check(NEW_STATUSES, OLD_STATUSES)
    runs = sa.table("job_runs", sa.column("status"), sa.column("expires_at", sa.DateTime()))
    expiry = datetime.now(UTC) + timedelta(hours=1)
    if op.get_bind().dialect.name == "sqlite":
        expiry = expiry.replace(tzinfo=None)  # stored naive, in UTC
    op.execute(
        runs.update().where(runs.c.status.in_(("queued", "running"))).values(expires_at=expiry)
    )


def downgrade() -> None:
    bind = op.get_bind()
    retried = bind.execute(sa.text("SELECT count(*) FROM job_runs WHERE attempt > 1")).scalar_one()
    if retried:
        raise RuntimeError(
            f"{retried} job runs are retries of a slot, which the older schema cannot hold "
            "(one run per slot); delete them first: DELETE FROM job_runs WHERE attempt > 1"
        )
    runs = sa.table("job_runs", sa.column("status"), sa.column("error", sa.Text()))
    for status in ("skipped", "cancelled"):
        op.execute(
            runs.update()
            .where(runs.c.status == status)
            .values(
                status="failed",
                error=sa.func.coalesce(runs.c.error, "") + f" [{status}]",
            )
        )
    _set_status_check(OLD_STATUSES, NEW_STATUSES)
    with op.batch_alter_table("job_runs") as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_runs_expires_at"))
        batch_op.drop_constraint(op.f("uq_job_runs_schedule_id_slot_attempt"), type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_job_runs_schedule_id_slot"), ["schedule_id", "slot"]
        )
        batch_op.drop_column("expires_at")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("retryable")
        batch_op.drop_column("attempt")
    with op.batch_alter_table("job_schedules") as batch_op:
        batch_op.drop_column("retry_delay_seconds")
        batch_op.drop_column("max_retries")
