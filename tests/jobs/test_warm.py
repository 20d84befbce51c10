"""Warm kernels: many runs in one kept kernel, each still its own recorded papermill run."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.db.engine import session_scope
from workbench.db.models.jobs import JobRun, RunStatus
from workbench.jobs import add_schedule, run_notebook, tick
from workbench.jobs.executors import WarmExecutor
from workbench.jobs.warm import WarmKernel
from workbench.settings import Settings

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _printed(path: str) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(str(o.get("text", "")) for c in nb.cells for o in c.get("outputs", []))


def test_runs_in_one_kernel_keep_their_own_record_output_and_namespace(
    settings: Settings, notebooks: Path
) -> None:
    kernel = WarmKernel()
    try:
        first = run_notebook(notebooks / "remember.ipynb", {"who": 1}, launch=kernel.launch)
        failed = run_notebook(notebooks / "fail.ipynb", launch=kernel.launch)
        second = run_notebook(notebooks / "remember.ipynb", {"who": 2}, launch=kernel.launch)
    finally:
        kernel.shutdown()
    assert kernel.started == 1  # one kernel for the three runs
    assert [first.status, failed.status, second.status] == [
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
        RunStatus.SUCCEEDED,
    ]
    assert len({first.id, failed.id, second.id}) == 3
    assert len({first.output_path, failed.output_path, second.output_path}) == 3
    assert "boom 3" in (failed.error or "") and failed.error_cell is not None
    assert "left behind: None" in _printed(first.output_path) and "who 1" in _printed(
        first.output_path
    )
    # The second run does not see the first one's variable, and counts its cells from 1.
    assert "left behind: None" in _printed(second.output_path)
    assert "who 2" in _printed(second.output_path)
    counts = [
        c.execution_count
        for c in nbformat.read(second.output_path, as_version=4).cells
        if c.cell_type == "code"
    ]
    assert counts[0] == 1
    for run in (first, failed, second):
        assert Path(run.html_path).is_file()


def test_a_dying_kernel_fails_its_run_and_the_next_run_gets_a_new_kernel(
    settings: Settings, notebooks: Path
) -> None:
    kernel = WarmKernel()
    try:
        died = run_notebook(notebooks / "kill_kernel.ipynb", launch=kernel.launch, timeout=120)
        after = run_notebook(notebooks / "remember.ipynb", {"who": 7}, launch=kernel.launch)
    finally:
        kernel.shutdown()
    assert died.status == RunStatus.FAILED
    assert "DeadKernelError" in (died.error or "")
    assert after.status == RunStatus.SUCCEEDED, after.error
    assert "who 7" in _printed(after.output_path)
    assert kernel.started == 2


def test_a_run_past_its_timeout_is_stopped_and_the_kernel_replaced(
    settings: Settings, notebooks: Path
) -> None:
    kernel = WarmKernel()
    try:
        slow = run_notebook(
            notebooks / "sleep.ipynb", {"seconds": 600}, launch=kernel.launch, timeout=3
        )
        after = run_notebook(notebooks / "remember.ipynb", {"who": 8}, launch=kernel.launch)
    finally:
        kernel.shutdown()
    assert slow.status == RunStatus.TIMED_OUT
    assert "timeout of 3 s" in (slow.error or "")
    assert "TimeoutError" in _printed_errors(slow.output_path)
    assert after.status == RunStatus.SUCCEEDED, after.error
    assert kernel.started == 2


def _printed_errors(path: str) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(
        f"{o.get('ename')}: {o.get('evalue')}"
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ) + "".join(str(c.source) for c in nb.cells if c.cell_type == "markdown")


def test_the_scheduler_with_warm_workers_runs_every_bot_slot_once(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    """Four bots (one of them failing every time) on 1-minute slots for three minutes:
    every (bot, slot) is one run with its own record; the failing bot stops nobody."""
    with session_scope(engine) as session:
        ids = [
            add_schedule(
                session=session,
                notebook=notebooks / "remember.ipynb",
                cron="* * * * *",
                name=f"bot-{bot}",
                parameters={"who": bot},
                start=T0,
            ).id
            for bot in (1, 2, 3)
        ]
        broken = add_schedule(
            session=session, notebook=notebooks / "fail.ipynb", cron="* * * * *", start=T0
        ).id
    executor = WarmExecutor(workers=2, engine=engine)
    try:
        for minute in (1, 2, 3):
            tick(T0 + timedelta(minutes=minute, seconds=1), engine=engine, executor=executor)
            answers = executor.wait(timeout=600)
    finally:
        executor.close(timeout=120)
    with session_scope(engine) as session:
        runs = list(session.scalars(sa.select(JobRun).order_by(JobRun.id)))
        rows = [(r.schedule_id, r.slot, r.status, r.output_path, r.parameters) for r in runs]
    assert len(answers) == 12 and executor.running == []
    assert Counter((s, slot) for s, slot, *_ in rows) == {
        (s, T0 + timedelta(minutes=m)): 1 for s in [*ids, broken] for m in (1, 2, 3)
    }
    for schedule_id, _slot, status, output, parameters in rows:
        if schedule_id == broken:
            assert status == RunStatus.FAILED
        else:
            assert status == RunStatus.SUCCEEDED
            text = _printed(output)
            assert f"who {parameters['who']}" in text and "left behind: None" in text
    assert len({output for *_, output, _ in rows}) == 12
