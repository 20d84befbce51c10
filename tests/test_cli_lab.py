"""``workbench lab`` starts a real JupyterLab on the notebooks folder."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

TOKEN = "workbench-lab-test"


def test_lab_serves_the_notebooks_from_anywhere(home: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workbench = shutil.which("workbench", path=str(Path(sys.executable).parent))
    assert workbench
    server = subprocess.Popen(
        [workbench, "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={TOKEN}", "--allow-root"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        listing = None
        for _ in range(120):
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            try:
                url = f"http://127.0.0.1:{port}/api/contents?token={TOKEN}"
                with urllib.request.urlopen(url, timeout=2) as response:
                    listing = json.load(response)
                break
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "JupyterLab did not answer"
        names = {item["name"] for item in listing["content"]}
        assert {"00_start_here.ipynb", "02_bots.ipynb", "jobs"} <= names
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.stdout is not None
    with server.stdout:
        first_line = server.stdout.readline().decode()
    assert f"workbench home {home.resolve()}" in first_line
