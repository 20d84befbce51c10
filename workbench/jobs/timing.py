"""How often a run proves it is alive, and how long before a silent run is called lost.

- A running run's process renews its heartbeat every ``heartbeat_seconds()`` (default
  10 s); a running run whose heartbeat is older than ``running_expiry()`` (3 heartbeats,
  default 30 s) has lost its process.
- A queued run must be started within ``queued_expiry()`` (default 600 s): its execute
  process died before starting it, or its Celery message was lost (a Redis restart).

The scheduler's reaper ends expired runs at each tick, so a lost run is ended at most
expiry + one scheduler poll after its last sign of life. Both figures can be set in the
environment (seconds): ``WORKBENCH_JOB_HEARTBEAT_SECONDS``, ``WORKBENCH_JOB_QUEUE_EXPIRY_SECONDS``.
"""

from __future__ import annotations

import os
from datetime import timedelta

from workbench.errors import ConfigError

HEARTBEAT_ENV = "WORKBENCH_JOB_HEARTBEAT_SECONDS"
QUEUE_EXPIRY_ENV = "WORKBENCH_JOB_QUEUE_EXPIRY_SECONDS"
DEFAULT_HEARTBEAT = 10.0
DEFAULT_QUEUE_EXPIRY = 600.0
MISSED_HEARTBEATS = 3


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0.1 <= value <= 86_400:
        raise ConfigError(f"{name}={raw!r} must be a number of seconds from 0.1 to 86400")
    return value


def heartbeat_seconds() -> float:
    return _seconds(HEARTBEAT_ENV, DEFAULT_HEARTBEAT)


def running_expiry() -> timedelta:
    return timedelta(seconds=heartbeat_seconds() * MISSED_HEARTBEATS)


def queued_expiry() -> timedelta:
    return timedelta(seconds=_seconds(QUEUE_EXPIRY_ENV, DEFAULT_QUEUE_EXPIRY))
