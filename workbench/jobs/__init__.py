"""Notebook jobs: papermill runs recorded in ``job_runs``, cron schedules, the scheduler.

>>> import workbench.jobs as jobs
>>> run = jobs.run_notebook("notebooks/jobs/report.ipynb", {"days": 7}, timeout=600)
>>> run.status, run.output_path                                  # doctest: +SKIP
(<RunStatus.SUCCEEDED: 'succeeded'>, '.../runs/1-report/output.ipynb')

Runs go queued -> running -> succeeded | failed | timed_out | cancelled (a slot passed
over is a ``skipped`` run); each step is committed. Active runs carry a heartbeat and an
expiry (:mod:`~workbench.jobs.timing`); the scheduler's reaper ends lost ones, and
:func:`cancel_run` (``workbench jobs cancel ID``) stops one. Schedules
(:mod:`~workbench.jobs.schedules`) say when; :func:`tick` claims due slots (safely, with
several schedulers), retries temporary failures, and hands runs to an executor: a local
process per run (:class:`LocalExecutor`), a few processes keeping kernels warm between
runs (:class:`WarmExecutor`, :mod:`~workbench.jobs.warm`) or a Celery worker
(:class:`CeleryExecutor`). What the CLI, the widgets and the notebook API show of runs and
schedules is their read models (:mod:`~workbench.jobs.views`: :class:`RunView`,
:class:`ScheduleView`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# First: see its docstring (jsonschema's IRI checkers cost seconds per process).
from workbench.jobs import lean_imports  # noqa: F401

if TYPE_CHECKING:
    from workbench.db.models.jobs import JobRun, JobSchedule, MissedRuns, RunStatus
    from workbench.jobs.executors import CeleryExecutor, Executor, LocalExecutor, WarmExecutor
    from workbench.jobs.params import check_parameters, looks_secret, parse_pairs, parse_value
    from workbench.jobs.runner import execute_run, run_notebook
    from workbench.jobs.runs import cancel_run, get_run, list_runs
    from workbench.jobs.scheduler import (
        Claimed,
        Skipped,
        TickResult,
        reap_stale_runs,
        run_forever,
        tick,
    )
    from workbench.jobs.schedules import (
        MAX_CATCH_UP,
        add_schedule,
        due_slots,
        get_schedule,
        list_schedules,
        remove_schedule,
        set_enabled,
        update_schedule,
    )
    from workbench.jobs.schemas import ScheduleCreate, ScheduleUpdate
    from workbench.jobs.views import (
        RunView,
        ScheduleView,
        read_run,
        read_runs,
        read_schedule,
        read_schedules,
        run_fields,
        schedule_fields,
    )

# Where each public name lives; loaded on first use (PEP 562), so that a process needing
# one module of the package (the CLI starting a run's kernel) does not load them all.
_HOMES = {
    "workbench.db.models.jobs": (
        "JobRun",
        "JobSchedule",
        "MissedRuns",
        "RunStatus",
    ),
    "workbench.jobs.executors": (
        "CeleryExecutor",
        "Executor",
        "LocalExecutor",
        "WarmExecutor",
    ),
    "workbench.jobs.params": (
        "check_parameters",
        "looks_secret",
        "parse_pairs",
        "parse_value",
    ),
    "workbench.jobs.runner": (
        "execute_run",
        "run_notebook",
    ),
    "workbench.jobs.runs": (
        "cancel_run",
        "get_run",
        "list_runs",
    ),
    "workbench.jobs.scheduler": (
        "Claimed",
        "Skipped",
        "TickResult",
        "reap_stale_runs",
        "run_forever",
        "tick",
    ),
    "workbench.jobs.schedules": (
        "MAX_CATCH_UP",
        "add_schedule",
        "due_slots",
        "get_schedule",
        "list_schedules",
        "remove_schedule",
        "set_enabled",
        "update_schedule",
    ),
    "workbench.jobs.schemas": (
        "ScheduleCreate",
        "ScheduleUpdate",
    ),
    "workbench.jobs.views": (
        "RunView",
        "ScheduleView",
        "read_run",
        "read_runs",
        "read_schedule",
        "read_schedules",
        "run_fields",
        "schedule_fields",
    ),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> object:
    home = _HOME_OF.get(name)
    if home is None:
        raise AttributeError(f"module 'workbench.jobs' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME_OF})


__all__ = [
    "MAX_CATCH_UP",
    "CeleryExecutor",
    "Claimed",
    "Executor",
    "JobRun",
    "JobSchedule",
    "LocalExecutor",
    "MissedRuns",
    "RunStatus",
    "RunView",
    "ScheduleCreate",
    "ScheduleUpdate",
    "ScheduleView",
    "Skipped",
    "TickResult",
    "WarmExecutor",
    "add_schedule",
    "cancel_run",
    "check_parameters",
    "due_slots",
    "execute_run",
    "get_run",
    "get_schedule",
    "list_runs",
    "list_schedules",
    "looks_secret",
    "parse_pairs",
    "parse_value",
    "read_run",
    "read_runs",
    "read_schedule",
    "read_schedules",
    "reap_stale_runs",
    "remove_schedule",
    "run_fields",
    "run_forever",
    "run_notebook",
    "schedule_fields",
    "set_enabled",
    "tick",
    "update_schedule",
]
