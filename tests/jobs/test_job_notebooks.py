"""The product's job notebooks run by papermill and recorded: success and failure."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

import workbench as wb
from workbench.jobs import RunStatus, run_notebook
from workbench.jobs.notebooks import PLOTLY_MIME, notebooks_folder
from workbench.settings import get_settings

JOBS = notebooks_folder() / "jobs"


def test_both_job_notebooks_have_a_parameters_cell() -> None:
    for name in ("live_bot.ipynb", "daily_report.ipynb"):
        book = nbformat.read(JOBS / name, as_version=4)
        tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, name


def test_live_bot_ticks_then_the_report_sees_it(home: Path) -> None:
    wb.init(sample=True)
    bot = wb.create_bot(name="job", **wb.candles().attrs["market"], is_active=True)
    moment = wb.candles().index[-30]
    run = run_notebook(JOBS / "live_bot.ipynb", {"bot_id": bot, "as_of": moment.isoformat()})
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.parameters == {"bot_id": bot, "as_of": moment.isoformat()}
    assert run.duration_seconds and run.duration_seconds > 0
    output = nbformat.read(run.output_path, as_version=4)
    text = "".join(str(o.get("text", "")) for c in output.cells for o in c.get("outputs", []))
    assert f"bot {bot} @ " in text  # the tick's summary: what it decided and why
    assert Path(run.html_path).exists()
    assert wb.list_bots().loc[0, "last_execution"] is not None
    # The chart is plotly's figure JSON (no plotly in the kernel), drawn in the HTML page.
    figures = [
        o["data"][PLOTLY_MIME]
        for c in output.cells
        for o in c.get("outputs", [])
        if PLOTLY_MIME in o.get("data", {})
    ]
    assert figures[0]["data"][0]["type"] == "candlestick"
    assert figures[0]["layout"]["annotations"][0]["text"].startswith(("enter", "exit", "hold"))
    page = Path(run.html_path).read_text()
    assert "Plotly.newPlot" in page and "../plotly.min.js" in page
    assert (Path(run.html_path).parent.parent / "plotly.min.js").stat().st_size > 1_000_000

    report = run_notebook(JOBS / "daily_report.ipynb", {"date": str(moment.date()), "bots": [bot]})
    assert report.status == RunStatus.SUCCEEDED, report.error
    html = Path(report.html_path).read_text()
    assert f"report of {moment.date()}" in html and "equity" in html


def test_a_failing_tick_is_recorded_with_its_cell_and_message(home: Path) -> None:
    wb.init(sample=True)
    run = run_notebook(JOBS / "live_bot.ipynb", {"bot_id": 999})
    assert run.status == RunStatus.FAILED
    assert "no bot with id 999" in (run.error or "")
    assert run.error_cell is not None
    assert Path(run.output_path).exists() and Path(run.html_path).exists()


def test_a_relative_home_is_the_same_home_inside_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel runs in the notebook's folder; it must still use the caller's home (its
    secret key, cache and bot locks), not a new one beside the notebook."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORKBENCH_HOME", ".relhome")
    monkeypatch.delenv("WORKBENCH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    wb.init(sample=True)
    bot = wb.create_bot(name="job", **wb.candles().attrs["market"], is_active=True)
    run = run_notebook(JOBS / "live_bot.ipynb", {"bot_id": bot})
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert not (JOBS / ".relhome").exists()
    assert (tmp_path / ".relhome" / "runs").is_dir()
    get_settings.cache_clear()
