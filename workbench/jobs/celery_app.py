"""The Celery app for job runs: broker and result backend are ``WORKBENCH_REDIS_URL``.

Workers start with ``workbench worker`` (or ``celery -A workbench.jobs.celery_app worker``).
The one task, ``workbench.jobs.execute_run``, runs a queued ``job_runs`` row by id; the
row, not the task, records the outcome. Tasks are acknowledged late, so a worker lost
mid-run has its task redelivered, and the queued -> running claim in the row makes sure
the notebook still runs only once.
"""

from __future__ import annotations

import logging
import os
from functools import cache
from typing import Any

from celery import Celery

from workbench.errors import ConfigError, ConflictError
from workbench.settings import Settings, get_settings

log = logging.getLogger(__name__)

TASK_NAME = "workbench.jobs.execute_run"
DEFAULT_QUEUE = "workbench-jobs"


def make_app(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    if settings.redis_url is None:
        raise ConfigError(
            "WORKBENCH_REDIS_URL is not set; Celery workers and the celery executor use "
            "Redis as broker (e.g. redis://localhost:6379/0)"
        )
    url = settings.redis_url.get_secret_value()
    app = Celery("workbench", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        task_default_queue=DEFAULT_QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=86_400,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    app.task(name=TASK_NAME)(execute_run_task)
    return app


def execute_run_task(run_id: int) -> str:
    """Run the queued run ``run_id``; return its final status (or why it was not run)."""
    from workbench.jobs.runner import execute_run

    try:
        return execute_run(int(run_id)).status.value
    except ConflictError as e:  # delivered again after it started: it runs only once
        log.warning("%s", e)
        return f"not run: {e}"


def start_worker(
    *,
    concurrency: int = 1,
    queue: str = DEFAULT_QUEUE,
    loglevel: str = "INFO",
    settings: Settings | None = None,
) -> None:
    """Run a Celery worker in this process until it is stopped (SIGTERM: warm shutdown)."""
    app = make_app(settings)
    app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--queues={queue}",
            f"--loglevel={loglevel}",
            f"--hostname=workbench-{os.getpid()}@%h",  # several workers per machine
        ]
    )


@cache
def _default_app() -> Celery:
    return make_app()


def __getattr__(name: str) -> Any:
    """``app``: the app for the current settings (what ``celery -A`` looks for)."""
    if name == "app":
        return _default_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
