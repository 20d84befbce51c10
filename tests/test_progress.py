"""Progress bars are drawn on a terminal only: never into pipes, logs or captured output."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

from typer.testing import CliRunner

from workbench.cli import app
from workbench.settings import Settings

DRAW = "from workbench.progress import progress_bar; print(sum(progress_bar(range(5), desc='bar')))"


def run_with_stderr(stderr: int) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run(
        [sys.executable, "-c", DRAW], stdout=subprocess.PIPE, stderr=stderr, env=env, timeout=60
    )


def test_no_bar_into_a_pipe_but_one_on_a_terminal(tmp_path: Path) -> None:
    piped = run_with_stderr(subprocess.PIPE)
    assert piped.stdout.strip() == b"10" and piped.stderr == b""

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        on_tty = run_with_stderr(follower)
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(leader)
    assert on_tty.stdout.strip() == b"10"
    assert b"bar: 100%" in drawn


def test_cli_output_and_logs_hold_no_bars(settings: Settings) -> None:
    runner = CliRunner()
    market = ["--exchange", "synthetic", "--symbol", "BTC/USDT", "--timeframe", "1h"]
    sample = ["data", "sample", "--symbol", "BTC/USDT", "--timeframe", "1h", "--bars", "500"]
    assert runner.invoke(app, sample).exit_code == 0
    swept = runner.invoke(app, ["sweep", *market, "--strategy", "ema_cross", "-r", "ema_fast=5:10"])
    assert swept.exit_code == 0, swept.output
    assert "parameter sets" in swept.stdout
    assert swept.stderr == ""
