"""``workbench lab`` starts a real JupyterLab on the notebooks folder, with this workbench's
settings; without a notebooks folder it says where it looked."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

import workbench
from workbench.cli.common import EXIT_OPERATIONAL
from workbench.cli.lab import LAB_ROOT_ENV, lab_environment
from workbench.jobs.notebooks import notebooks_folder
from workbench.settings import get_settings

TOKEN = "workbench-lab-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=2) as response:
        return json.load(response)  # type: ignore[no-any-return]


def test_lab_serves_the_notebooks_from_anywhere(home: Path, tmp_path: Path) -> None:
    port = _free_port()
    command = shutil.which("workbench", path=str(Path(sys.executable).parent))
    assert command
    log_path = tmp_path / "lab.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [command, "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
             f"--IdentityProvider.token={TOKEN}", "--allow-root"],
            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        status = None
        deadline = time.monotonic() + 90
        while status is None and time.monotonic() < deadline:
            assert server.poll() is None, log_path.read_text()
            try:
                status = _get(port, "/api/status")
            except OSError:
                time.sleep(0.3)
        assert status is not None, f"JupyterLab did not answer:\n{log_path.read_text()}"
        assert "started" in status
        listing = _get(port, "/api/contents")
        names = {item["name"] for item in listing["content"]}  # type: ignore[attr-defined]
        assert {"00_start_here.ipynb", "05_jobs.ipynb", "jobs"} <= names
        # The command became the server (signals reach it), with the settings pinned.
        process = psutil.Process(server.pid)
        assert "jupyterlab" in process.cmdline()
        environ = process.environ()
        assert environ["WORKBENCH_HOME"] == str(home.resolve())
        assert environ[LAB_ROOT_ENV] == str(notebooks_folder())
        assert environ["WORKBENCH_DATABASE_URL"] == f"sqlite:///{home.resolve() / 'workbench.db'}"
    finally:
        server.terminate()
        server.wait(timeout=30)
    with pytest.raises(OSError):  # stopped, not left running behind a wrapper
        _get(port, "/api/status")
    first_line = log_path.read_text().splitlines()[0]
    assert f"workbench home {home.resolve()}" in first_line


def test_lab_environment_pins_relative_paths(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("WORKBENCH_DATABASE_URL=sqlite:///data/wb.db\n")
    monkeypatch.setenv("WORKBENCH_HOME", ".relhome")
    get_settings.cache_clear()
    env = lab_environment(get_settings(), tmp_path / "notebooks")
    assert env["WORKBENCH_HOME"] == str(tmp_path.resolve() / ".relhome")
    assert env["WORKBENCH_DATABASE_URL"] == f"sqlite:///{tmp_path.resolve() / 'data' / 'wb.db'}"
    assert env[LAB_ROOT_ENV] == str(tmp_path / "notebooks")
    assert env["WORKBENCH_ENV"] == "development" and "WORKBENCH_SECRET_KEY" not in env


def test_lab_without_a_notebooks_folder_says_where_it_looked(home: Path, tmp_path: Path) -> None:
    # A copy of the package with no notebooks/ beside it, run from a folder without one.
    site = tmp_path / "site"
    source = Path(workbench.__file__ or "").parent
    shutil.copytree(source, site / "workbench")  # with its bytecode: a quicker start
    (tmp_path / "elsewhere").mkdir()
    result = subprocess.run(
        [sys.executable, "-c", "from workbench.cli import main; main()", "lab", "--no-browser"],
        cwd=tmp_path / "elsewhere",
        env=dict(os.environ, PYTHONPATH=str(site)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == EXIT_OPERATIONAL, result.stderr
    assert result.stderr.startswith("error: no notebooks/ folder here or beside the workbench")
    assert "JupyterLab in" not in result.stdout
