"""nbval runs every notebook here top to bottom in a real kernel (``pytest`` collects them
with ``--nbval-lax``): on a fresh home with the embedded defaults, as a new user would."""

from __future__ import annotations

import os
import tempfile

import pytest

# The job notebooks need their parameters (a bot id) and a ready database, so nbval cannot
# run them as they are; tests/jobs runs them with papermill, as the scheduler does.
collect_ignore_glob = ["jobs/*.ipynb"]


def pytest_configure(config: pytest.Config) -> None:
    # Kernels inherit this process's environment: no servers, a home of their own.
    os.environ["WORKBENCH_HOME"] = tempfile.mkdtemp(prefix="workbench-notebooks-")
    for name in ("WORKBENCH_DATABASE_URL", "WORKBENCH_REDIS_URL"):
        os.environ.pop(name, None)
