"""run_notebook with a real kernel and papermill: every way a run can end, and secrets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from workbench.db.engine import session_scope
from workbench.db.models.jobs import JobRun, RunStatus
from workbench.errors import ConflictError, NotFoundError, RejectedError, ValidationError
from workbench.jobs import execute_run, get_run, run_notebook
from workbench.jobs.notebooks import output_index
from workbench.jobs.runs import create_run
from workbench.redact import REDACTED
from workbench.settings import Settings, get_settings

sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def _stored(engine: Engine, run_id: int) -> JobRun:
    """The row as another process would see it (a fresh session)."""
    with session_scope(engine) as session:
        return get_run(session=session, run_id=run_id)


def _outputs_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append(json.dumps(out.get("data", {})))
        parts.append(out.get("evalue", ""))
    return "".join(parts)


def test_parameterized_notebook_succeeds(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    run = run_notebook(
        notebooks / "greet.ipynb",
        {"name": "Ann", "times": 3, "ratio": 1.5, "flag": True},
        timeout=120,
        engine=engine,
    )
    stored = _stored(engine, run.id)
    assert stored.status == RunStatus.SUCCEEDED
    assert stored.parameters == {"name": "Ann", "times": 3, "ratio": 1.5, "flag": True}
    assert stored.started_at is not None and stored.finished_at is not None
    assert stored.started_at <= stored.finished_at
    assert stored.duration_seconds is not None and stored.duration_seconds > 0
    assert stored.error is None and stored.error_cell is None
    output, html = Path(stored.output_path or ""), Path(stored.html_path or "")
    assert output.is_file() and html.is_file()
    assert output.parent.parent == settings.runs_dir
    assert output.parent.name == f"{run.id}-greet"
    nb = nbformat.read(output, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'name = "Ann"' in injected[0].source
    printed = "".join(_outputs_text(c) for c in nb.cells)
    assert "RESULT {'name': 'Ann', 'times': 3, 'ratio': 1.5, 'flag': True}" in printed
    assert "Ann x3" in html.read_text()


def test_failing_notebook_records_the_cell_and_keeps_the_output(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    run = run_notebook(notebooks / "fail.ipynb", {"limit": 7}, engine=engine)
    stored = _stored(engine, run.id)
    assert stored.status == RunStatus.FAILED
    assert stored.error == "ValueError: boom 7"
    assert stored.finished_at is not None and stored.duration_seconds is not None
    nb = nbformat.read(stored.output_path or "", as_version=4)
    assert stored.error_cell == 3  # as the author counts fail.ipynb's cells
    failing = nb.cells[output_index(nb, stored.error_cell) or 0]
    assert "raise ValueError" in failing.source
    assert [o.ename for o in failing.outputs if o.output_type == "error"] == ["ValueError"]
    assert "before the failure" in "".join(_outputs_text(c) for c in nb.cells)
    assert "An Exception was encountered" in nb.cells[0].source  # papermill's banner
    html = Path(stored.html_path or "").read_text()
    assert "boom 7" in html and "ValueError" in html


@sqlite_only
def test_run_past_its_timeout_is_stopped_and_timed_out(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    # The timeout covers the whole run, the ~3 s to start python, papermill and the kernel
    # included; 20 s leaves room for a loaded machine to reach the sleeping cell.
    started = time.monotonic()
    run = run_notebook(notebooks / "sleep.ipynb", {"seconds": 60}, timeout=20, engine=engine)
    assert time.monotonic() - started < 60
    stored = _stored(engine, run.id)
    assert stored.status == RunStatus.TIMED_OUT
    assert "timeout of 20 s" in (stored.error or "")
    assert stored.duration_seconds is not None and 20 <= stored.duration_seconds < 45
    nb = nbformat.read(stored.output_path or "", as_version=4)
    failing = nb.cells[output_index(nb, stored.error_cell) or 0]
    assert "time.sleep(seconds)" in failing.source
    assert failing.outputs[-1].ename == "TimeoutError"
    assert Path(stored.html_path or "").is_file()


@sqlite_only
@pytest.mark.parametrize("how", ["exit", "kill"])
def test_a_dying_kernel_fails_the_run_without_hanging(
    settings: Settings, engine: Engine, notebooks: Path, how: str
) -> None:
    started = time.monotonic()
    run = run_notebook(notebooks / "kill_kernel.ipynb", {"how": how}, timeout=90, engine=engine)
    assert time.monotonic() - started < 60
    stored = _stored(engine, run.id)
    assert stored.status == RunStatus.FAILED
    assert (stored.error or "").startswith("DeadKernelError: Kernel died")
    nb = nbformat.read(stored.output_path or "", as_version=4)
    failing = nb.cells[output_index(nb, stored.error_cell) or 0]
    assert "os._exit(1)" in failing.source
    assert failing.outputs[-1].ename == "DeadKernelError"
    assert "about to die" in "".join(_outputs_text(c) for c in nb.cells)
    assert Path(stored.html_path or "").is_file()


@sqlite_only
@pytest.mark.parametrize("name", ["api_key", "apiKey", "secret", "db_password", "auth_token"])
def test_secret_looking_parameters_are_refused(
    settings: Settings, engine: Engine, notebooks: Path, name: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        run_notebook(notebooks / "greet.ipynb", {name: "x"}, engine=engine)
    assert isinstance(caught.value, RejectedError)
    assert name in caught.value.errors and "secret" in caught.value.errors[name]
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from job_runs")).scalar_one() == 0


@sqlite_only
def test_planted_secrets_never_reach_an_output_file(
    settings: Settings,
    engine: Engine,
    notebooks: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fernet_key = Fernet.generate_key().decode()
    api_secret = "planted-exchange-secret-5f1e2d3c"
    monkeypatch.setenv("WORKBENCH_SECRET_KEY", fernet_key)
    monkeypatch.setenv("EXCHANGE_API_SECRET", api_secret)
    get_settings.cache_clear()
    with pytest.raises(ValidationError, match="holds a secret"):  # nor as a parameter value
        run_notebook(notebooks / "greet.ipynb", {"name": fernet_key}, engine=engine)

    run = run_notebook(notebooks / "leak_env.ipynb", engine=engine)
    stored = _stored(engine, run.id)
    assert stored.status == RunStatus.FAILED  # the notebook raises with both secrets
    files = [p for p in get_settings().runs_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"output.ipynb", "output.html", "run.log"}
    for path in files:
        text = path.read_text(errors="replace")
        assert fernet_key not in text, path
        assert api_secret not in text, path
    assert fernet_key not in (stored.error or "") and api_secret not in (stored.error or "")
    output = Path(stored.output_path or "").read_text()
    assert f"WORKBENCH_SECRET_KEY = {REDACTED}" in output  # the kernel had it; it was removed
    assert f"leaking {REDACTED} and {REDACTED}" in (stored.error or "")


@sqlite_only
def test_missing_notebook_is_refused_before_a_row_is_made(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError):
        run_notebook(tmp_path / "nope.ipynb", engine=engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from job_runs")).scalar_one() == 0


def test_a_queued_run_executes_once(settings: Settings, engine: Engine, notebooks: Path) -> None:
    with session_scope(engine) as session:
        run_id = create_run(
            session=session, notebook=str(notebooks / "greet.ipynb"), parameters={"times": 2}
        ).id
    assert execute_run(run_id, engine=engine).status == RunStatus.SUCCEEDED
    with pytest.raises(ConflictError, match="succeeded, not queued"):
        execute_run(run_id, engine=engine)
    assert _stored(engine, run_id).status == RunStatus.SUCCEEDED


@sqlite_only
def test_a_terminated_run_ends_failed_not_running(
    settings: Settings, engine: Engine, notebooks: Path
) -> None:
    """SIGTERM to the process running a job (a stopping worker) ends the run as failed."""
    with session_scope(engine) as session:
        run_id = create_run(
            session=session, notebook=str(notebooks / "sleep.ipynb"), parameters={}
        ).id
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.jobs.execute", str(run_id)],
        env=dict(os.environ, WORKBENCH_DATABASE_URL=str(engine.url)),
    )
    output = get_settings().runs_dir / f"{run_id}-sleep" / "output.ipynb"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _sleeping(output):
        time.sleep(0.2)
    assert _sleeping(output)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    stored = _stored(engine, run_id)
    assert stored.status == RunStatus.FAILED
    assert stored.error == "SystemExit: the run was interrupted"
    nb = nbformat.read(output, as_version=4)
    assert "time.sleep(seconds)" in nb.cells[output_index(nb, stored.error_cell) or 0].source


def _sleeping(output: Path) -> bool:
    """True once papermill has saved the sleeping cell as running."""
    if not output.is_file():
        return False
    nb = nbformat.read(output, as_version=4)
    return any(
        "time.sleep" in c.source and c.metadata.get("papermill", {}).get("status") == "running"
        for c in nb.cells
    )
