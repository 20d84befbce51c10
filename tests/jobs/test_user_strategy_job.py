"""A bot on a strategy file of the home runs through the scheduled live-bot job notebook."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

import workbench as wb
from tests.strategies.user_files import DONCHIAN, drop
from workbench.jobs import RunStatus, run_notebook
from workbench.jobs.notebooks import notebooks_folder

JOBS = notebooks_folder() / "jobs"


def test_the_live_bot_job_ticks_a_user_strategy(home: Path) -> None:
    wb.init(sample=True)
    drop(home, "donchian", DONCHIAN)
    market = wb.candles().attrs["market"]
    bot = wb.create_bot(name="dc-job", **market, strategy="donchian", window=30, is_active=True)
    moment = wb.candles().index[-30]
    run = run_notebook(JOBS / "live_bot.ipynb", {"bot_id": bot, "as_of": moment.isoformat()})
    assert run.status == RunStatus.SUCCEEDED, run.error
    output = nbformat.read(run.output_path, as_version=4)
    text = "".join(str(o.get("text", "")) for c in output.cells for o in c.get("outputs", []))
    assert re.search(rf"bot {bot} @ \S+: (hold|enter|exit) \(", text), text

    # The kernel found the strategy in the home's file: without it the job fails, saying so.
    (home / "strategies" / "donchian.py").unlink()
    failed = run_notebook(JOBS / "live_bot.ipynb", {"bot_id": bot, "as_of": moment.isoformat()})
    assert failed.status == RunStatus.FAILED and "unknown strategy 'donchian'" in failed.error
