"""Helpers shared by the cache tests and ``cache_child.py`` (the second process)."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest


def make_candles(rows: int) -> pd.DataFrame:
    """Deterministic 5-minute candles with a UTC DatetimeIndex."""
    index = pd.date_range("2024-01-01", periods=rows, freq="5min", tz="UTC", name="timestamp")
    close = 100.0 + np.sin(np.arange(rows) / 10.0) + np.arange(rows) * 1e-3
    return pd.DataFrame(
        {
            "open": close - 0.05,
            "high": close + 0.25,
            "low": close - 0.25,
            "close": close,
            "volume": np.arange(rows, dtype="float64") % 97 + 0.5,
        },
        index=index,
    )


class Child:
    """A running ``cache_child.py``: read its lines, send it a line, wait for or kill it."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    def expect(self, wanted: str) -> None:
        """Wait for the child to print ``wanted`` (it prints one word per step)."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != wanted:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            pytest.fail(f"child printed {line!r}, expected {wanted!r}; stderr:\n{err}")

    def send(self, line: str = "go") -> None:
        """Write one line to the child's stdin."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self) -> str:
        """Wait for a clean exit and return the rest of what the child printed."""
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err
        return out

    def crash(self) -> None:
        """Kill the child with SIGKILL: no cleanup code runs, as in a crash."""
        self.proc.kill()
        self.proc.communicate(timeout=10)
