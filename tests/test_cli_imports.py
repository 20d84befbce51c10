"""The CLI starts without the heavy libraries: every ``--help`` and the commands that do not
need them run in a fresh interpreter, and ``sys.modules`` shows what was loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# What `workbench --help` and the light commands must not load (each costs 0.1 to 3 s).
HEAVY = (
    "vectorbt",
    "plotly",
    "numba",
    "papermill",
    "nbconvert",
    "ccxt",
    "ipywidgets",
    "rfc3987_syntax",  # jsonschema's format checkers (3.5 s in one measurement)
    "jsonschema",
    "scipy",
    "pandas",
)

# Runs each command line in this interpreter (as `workbench ...` would) and prints, per
# command line, the HEAVY modules loaded once it finished.
PROBE = """
import json, sys
from workbench.cli import app
heavy, commands = json.loads(sys.argv[1])
loaded = {}
for args in commands:
    try:
        app(args, prog_name="workbench")
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise RuntimeError(f"workbench {' '.join(args)} exited with {stop.code}")
    loaded[" ".join(args)] = sorted(m for m in heavy if m in sys.modules)
print(json.dumps(loaded))
"""


def _probe(
    commands: list[list[str]],
    env: dict[str, str] | None = None,
    heavy: tuple[str, ...] = HEAVY,
) -> dict[str, list[str]]:
    root = Path(__file__).resolve().parent.parent
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(root), environment.get("PYTHONPATH")) if p
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([heavy, commands])],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _help_commands() -> list[list[str]]:
    """`--help` of the root, of every group and of every command in them."""
    import typer

    from workbench.cli import app

    root = typer.main.get_command(app)
    commands: list[list[str]] = [["--help"]]

    def walk(group: object, path: list[str]) -> None:
        for name, command in getattr(group, "commands", {}).items():
            commands.append([*path, name, "--help"])
            walk(command, [*path, name])

    walk(root, [])
    return commands


def test_every_help_loads_no_heavy_library() -> None:
    commands = _help_commands()
    assert ["bot", "replay", "--help"] in commands and ["sweep", "--help"] in commands
    loaded = _probe(commands)
    assert list(loaded) == [" ".join(c) for c in commands]
    assert {cmd: mods for cmd, mods in loaded.items() if mods} == {}


def test_the_probe_sees_what_is_loaded() -> None:
    """The probe is not blind: what the CLI does load is reported."""
    loaded = _probe([["--help"]], heavy=("typer", *HEAVY))
    assert loaded["--help"] == ["typer"]


@pytest.mark.parametrize("command", [["bot", "list"], ["db", "current"], ["keys", "list"]])
def test_light_commands_load_no_heavy_library(command: list[str], tmp_path: Path) -> None:
    env = {
        "WORKBENCH_HOME": str(tmp_path / "home"),
        "WORKBENCH_DATABASE_URL": f"sqlite:///{tmp_path / 'wb.db'}",
    }
    loaded = _probe([["init"], command], env)
    assert loaded[" ".join(command)] == []
