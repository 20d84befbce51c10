"""The ``slow`` marker: registered, naming tests that exist, and never used to skip in CI."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from tests.conftest import SLOW_PATHS, SLOW_TESTS, is_slow

ROOT = Path(__file__).resolve().parent.parent


def test_marker_is_registered() -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    assert any(m.startswith("slow:") for m in options["ini_options"]["markers"])
    assert "--strict-markers" in options["ini_options"]["addopts"]


def test_every_slow_entry_names_a_real_test() -> None:
    """A renamed test or file would silently fall back into the quick suite."""
    for path in SLOW_PATHS:
        assert (ROOT / path).exists(), path
    for path, names in SLOW_TESTS.items():
        tree = ast.parse((ROOT / path).read_text())
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert names <= defined, (path, names - defined)


@pytest.mark.parametrize(
    ("path", "name", "slow"),
    [
        ("notebooks/01_research.ipynb", "Cell 0", True),
        ("tests/test_demo.py", "test_demo_runs_offline_and_twice", True),
        ("tests/jobs/test_runner.py", "test_parameterized_notebook_succeeds", True),
        (
            "tests/jobs/test_runner.py",
            "test_missing_notebook_is_refused_before_a_row_is_made",
            False,
        ),
        ("tests/rules/test_engine.py", "test_parameterized_notebook_succeeds", False),
    ],
)
def test_is_slow(path: str, name: str, slow: bool) -> None:
    assert is_slow(path, name) is slow


def test_the_readme_test_command_runs_every_test() -> None:
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"<!-- test-command -->\s*```bash\n(.+)\n", readme)
    assert command is not None
    pytest_arguments = command.group(1).partition(" -m pytest")[2]
    assert command.group(1).endswith(" -m pytest" + pytest_arguments)
    assert "-m" not in pytest_arguments.split() and "slow" not in pytest_arguments
