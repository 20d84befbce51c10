"""``python -m workbench.jobs.execute RUN_ID``: run one queued job run (LocalExecutor's child).

Exit status 0 when the run succeeded, 1 when it failed, timed out or was cancelled, 2 when
it could not be started (not queued any more, missing notebook). SIGTERM ends the run as
failed; SIGKILL takes its notebook along (its kernel dies with it) and the
scheduler's reaper ends the run once its heartbeat expires.
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

from workbench.db.models.jobs import RunStatus
from workbench.errors import RejectedError
from workbench.jobs.runner import execute_run


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m workbench.jobs.execute RUN_ID", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    try:
        run = execute_run(int(argv[1]))
    except RejectedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0 if run.status == RunStatus.SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
