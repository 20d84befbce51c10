"""Retry only what is temporary: one policy, exponential backoff, bounded attempts and time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from workbench.errors import TemporaryError

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Retry TemporaryError: wait first_wait, 2x, 4x ... (at most max_wait) between tries;
    give up after ``attempts`` tries or ``max_delay`` seconds and re-raise the last error."""

    attempts: int = 4
    first_wait: float = 0.5
    max_wait: float = 8.0
    max_delay: float = 30.0

    def retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception_type(TemporaryError),
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.max_delay),
            wait=wait_exponential(multiplier=self.first_wait, max=self.max_wait),
            before_sleep=_log_retry,
            reraise=True,
        )

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` under this policy."""
        return self.retrying()(fn)

    def wait_before(self, attempt: int) -> float:
        """Seconds to wait before try number ``attempt`` (2, 3, ...)."""
        return min(self.max_wait, self.first_wait * 2 ** (attempt - 2))


NO_RETRY = RetryPolicy(attempts=1)


def _log_retry(state: RetryCallState) -> None:
    """One INFO line per retry (the final failure is the caller's to report, once)."""
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.info("try %d failed (%s); trying again in %.1f s", state.attempt_number, error, wait)
