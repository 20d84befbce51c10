"""The job dashboard: schedules with edit and run-now, recent runs and their outputs.

Run now hands the run to an executor (by default a local process, as the scheduler
does) and returns at once, so the notebook stays usable; Refresh shows how it went.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import available_timezones

import ipywidgets as w
import pandas as pd
from sqlalchemy import Engine

from workbench.db import session_scope
from workbench.db.models import MissedRuns, RunStatus
from workbench.errors import ValidationError, WorkbenchError
from workbench.jobs import (
    Executor,
    LocalExecutor,
    add_schedule,
    get_schedule,
    list_runs,
    list_schedules,
    parse_pairs,
    remove_schedule,
    run_fields,
    schedule_fields,
    set_enabled,
    update_schedule,
)
from workbench.jobs.notebooks import PLOTLY_JS, notebooks_folder
from workbench.jobs.runs import create_run, finish_run
from workbench.jobs.schedules import schedule_input
from workbench.widgets.common import Message, engine_or_default, frame_html
from workbench.widgets.form import FormView, error_box

NEW = "(new schedule)"
TIMEZONES = ["UTC", *sorted(available_timezones() - {"UTC"})]
SCHEDULE_COLUMNS = ["id", "name", "notebook", "parameters", "cron", "timezone", "enabled", "next"]
RUN_COLUMNS = ["id", "schedule", "notebook", "status", "started", "seconds", "error_cell", "error"]
# Set by ``workbench lab`` (workbench.cli.lab.LAB_ROOT_ENV): the folder the server serves.
LAB_ROOT_ENV = "WORKBENCH_LAB_ROOT"


class JobDashboard(FormView):
    """Schedules (notebook, parameters, cron, timezone, enabled) with edit and run-now;
    recent runs with status, duration and error, and links to their outputs.

    ``executor`` runs "Run now" (default: a local process per run); ``limit`` is how many
    recent runs are listed.
    """

    def __init__(
        self, engine: Engine | None = None, *, executor: Executor | None = None, limit: int = 20
    ) -> None:
        self.engine = engine_or_default(engine)
        self.executor = executor or LocalExecutor(engine=self.engine)
        self.limit = limit
        self.run_rows = pd.DataFrame()
        style = {"description_width": "initial"}
        wide = w.Layout(width="60%")
        self.schedule = w.Dropdown(description="schedule", style=style)
        self.name = w.Text(description="name", placeholder="the notebook's name", style=style)
        self.notebook = w.Combobox(
            description="notebook",
            options=_job_notebooks(),
            ensure_option=False,
            placeholder="path of a .ipynb",
            style=style,
            layout=wide,
        )
        self.parameters = w.Textarea(
            description="parameters",
            placeholder='JSON {"bot_id": 1} or name=value lines (bot_id=1)',
            style=style,
            layout=wide,
        )
        self.cron = w.Text(description="cron", placeholder="*/5 * * * *", style=style)
        self.timezone = w.Combobox(
            description="timezone", options=TIMEZONES, ensure_option=False, value="UTC", style=style
        )
        self.missed_runs = w.Dropdown(
            description="missed runs", style=style, options=[(m.value, m) for m in MissedRuns]
        )
        self.timeout = w.Text(description="timeout (s)", placeholder="none", style=style)
        self.enabled = w.Checkbox(description="enabled", value=True, indent=False)
        self.controls: dict[str, w.Widget] = {
            "name": self.name,
            "notebook": self.notebook,
            "parameters": self.parameters,
            "cron": self.cron,
            "timezone": self.timezone,
            "missed_runs": self.missed_runs,
            "timeout_seconds": self.timeout,
            "enabled": self.enabled,
        }
        self.errors = {n: error_box() for n in self.controls}
        self.save = w.Button(description="Save", button_style="primary", icon="save")
        self.toggle = w.Button(description="Disable", icon="pause")
        self.remove = w.Button(description="Remove", button_style="danger", icon="trash")
        self.run_now = w.Button(description="Run now", icon="play")
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.schedules = w.HTML()
        self.runs = w.HTML()
        self.run = w.Dropdown(description="run", style=style)
        self.links = w.HTML()
        self.show_html = w.Button(description="Show HTML here", icon="eye")
        self.viewer = w.HTML()
        self.message = Message()
        self.schedule.observe(self._picked, "value")
        self.run.observe(lambda _: self._show_links(), "value")
        self.save.on_click(lambda _: self.save_schedule())
        self.toggle.on_click(lambda _: self.toggle_enabled())
        self.remove.on_click(lambda _: self.remove_schedule())
        self.run_now.on_click(lambda _: self.start_run())
        self.refresh_button.on_click(lambda _: self.refresh())
        self.show_html.on_click(lambda _: self.view_html())
        rows = [w.HBox([control, self.errors[n]]) for n, control in self.controls.items()]
        form = w.VBox(
            [self.schedule, *rows, w.HBox([self.save, self.toggle, self.remove, self.run_now])]
        )
        super().__init__([
            w.HTML("<b>schedules</b>"), self.schedules, form, self.message,
            w.HBox([w.HTML("<b>recent runs</b>"), self.refresh_button]), self.runs,
            w.HBox([self.run, self.show_html]), self.links, self.viewer,
        ])  # fmt: skip
        self.refresh()
        self.load()

    # -- reading --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload schedules and recent runs from the database (the choices are kept)."""
        with session_scope(self.engine) as session:
            schedules = [schedule_fields(s) for s in list_schedules(session=session)]
            runs = [run_fields(r) for r in list_runs(session=session, limit=self.limit)]
        chosen, chosen_run = self.schedule.value, self.run.value
        with self.quiet():  # keep unsaved edits in the form
            picks = [(f"{s['id']}: {s['name']}", s["id"]) for s in schedules]
            self.schedule.options = [(NEW, None), *picks]
            self.schedule.value = chosen if chosen in {s["id"] for s in schedules} else None
        if self.schedule.value != chosen:  # removed elsewhere
            self.load()
        table = pd.DataFrame(schedules, columns=[*SCHEDULE_COLUMNS[:-1], "next_slot"])
        table["notebook"] = table["notebook"].map(lambda p: Path(p).name)
        table["parameters"] = table["parameters"].map(lambda p: json.dumps(p) if p else "")
        table["next"] = [
            _when(s) if on else ""
            for s, on in zip(table["next_slot"], table["enabled"], strict=True)
        ]
        self.schedules.value = frame_html(table[SCHEDULE_COLUMNS])

        self.run_rows = pd.DataFrame(runs, columns=["id", "output_path", "html_path"])
        self.runs.value = frame_html(pd.DataFrame([_run_row(r) for r in runs], columns=RUN_COLUMNS))
        self.run.options = [
            (f"{r['id']}: {Path(r['notebook']).name} {r['status'].value}", r["id"]) for r in runs
        ]
        run_ids = {r["id"] for r in runs}
        self.run.value = chosen_run if chosen_run in run_ids else (runs[0]["id"] if runs else None)
        self._show_links()

    def load(self) -> None:
        """Show the chosen schedule in the form (or an empty form for a new one)."""
        if self.schedule.value is None:
            fields: dict[str, Any] = {
                "name": "",
                "notebook": "",
                "parameters": {},
                "cron": "",
                "timezone": "UTC",
                "missed_runs": MissedRuns.SKIP,
                "timeout_seconds": None,
                "enabled": True,
            }
        else:
            schedule_id = self.schedule.value

            def read() -> dict[str, Any]:
                with session_scope(self.engine) as session:
                    return schedule_input(get_schedule(session=session, schedule_id=schedule_id))

            found = self.act(read)  # None: removed elsewhere
            if found is None:
                return
            fields = found
        self.name.value, self.notebook.value = fields["name"], fields["notebook"]
        params = fields["parameters"]
        self.parameters.value = json.dumps(params, indent=1, default=str) if params else ""
        self.cron.value, self.timezone.value = fields["cron"], fields["timezone"]
        self.missed_runs.value = MissedRuns(fields["missed_runs"])
        timeout = fields["timeout_seconds"]
        self.timeout.value = "" if timeout is None else str(timeout)
        self.enabled.value = fields["enabled"]
        self.toggle.description = "Disable" if fields["enabled"] else "Enable"
        self.toggle.icon = "pause" if fields["enabled"] else "play"
        for button in (self.toggle, self.remove, self.run_now):
            button.disabled = self.schedule.value is None
        self.show_errors({})

    # -- changing -------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The form's fields as ``add_schedule``/``update_schedule`` take them; a
        ValidationError names the fields that cannot even be read."""
        errors: dict[str, str] = {}
        try:
            parameters = parse_parameters(self.parameters.value)
        except ValidationError as e:
            errors |= e.errors
        timeout: int | None = None
        if self.timeout.value.strip():
            try:
                timeout = int(self.timeout.value.strip())
            except ValueError:
                errors["timeout_seconds"] = "a whole number of seconds, or empty for none"
        if errors:
            raise ValidationError(errors, entity="schedule")
        return {
            "name": self.name.value.strip() or None,
            "notebook": self.notebook.value.strip(),
            "parameters": parameters,
            "cron": self.cron.value.strip(),
            "timezone": self.timezone.value.strip(),
            "missed_runs": self.missed_runs.value,
            "timeout_seconds": timeout,
            "enabled": self.enabled.value,
        }

    def save_schedule(self) -> int | None:
        """Add a schedule, or update the chosen one, through the schedule schema; errors
        are shown beside their fields and nothing is saved."""

        def store() -> tuple[int, str]:
            values = self.values()
            with session_scope(self.engine) as session:
                if self.schedule.value is None:
                    row = add_schedule(session=session, **values)
                else:
                    if values["name"] is None:  # cleared: keep the stored name
                        del values["name"]
                    row = update_schedule(
                        session=session, schedule_id=self.schedule.value, **values
                    )
                return row.id, row.name

        stored = self.act(store)
        if stored is None:
            return None
        schedule_id, name = stored
        self.refresh()
        self.schedule.value = schedule_id
        self.load()
        self.message.ok(f"saved schedule {schedule_id} ({name})")
        return schedule_id

    def toggle_enabled(self) -> bool | None:
        """Enable the chosen schedule when disabled, else disable it; returns the new state."""
        schedule_id = self.schedule.value
        if schedule_id is None:
            self.message.error("choose a saved schedule first")
            return None

        def switch() -> bool:
            with session_scope(self.engine) as session:
                enabled = not get_schedule(session=session, schedule_id=schedule_id).enabled
                set_enabled(session=session, schedule_id=schedule_id, enabled=enabled)
            return enabled

        enabled = self.act(switch)
        if enabled is None:
            return None
        self.refresh()
        self.load()
        self.message.ok(f"schedule {schedule_id} {'enabled' if enabled else 'disabled'}")
        return enabled

    def remove_schedule(self) -> None:
        """Delete the chosen schedule; its runs stay listed."""
        schedule_id = self.schedule.value
        if schedule_id is None:
            self.message.error("choose a saved schedule first")
            return

        def remove() -> bool:
            with session_scope(self.engine) as session:
                remove_schedule(session=session, schedule_id=schedule_id)
            return True

        if not self.act(remove):
            return
        self.schedule.value = None
        self.refresh()
        self.message.ok(f"removed schedule {schedule_id} (its runs are kept)")

    def start_run(self) -> int | None:
        """Queue a run of the chosen (saved) schedule and hand it to the executor; returns
        its id at once. The run shows as queued or running until it ends; Refresh."""
        schedule_id = self.schedule.value
        if schedule_id is None:
            self.message.error("save the schedule before running it")
            return None

        def start() -> int:
            with session_scope(self.engine) as session:
                schedule = get_schedule(session=session, schedule_id=schedule_id)
                run_id = create_run(
                    session=session,
                    notebook=schedule.notebook,
                    parameters=schedule.parameters,
                    schedule_id=schedule.id,
                ).id
            try:
                self.executor.submit(run_id)
            except WorkbenchError as e:  # never handed over: the run must not stay queued
                error = f"{type(e).__name__}: {e}"
                finish_run(engine=self.engine, run_id=run_id, status=RunStatus.FAILED, error=error)
                raise
            return run_id

        started = self.act(start)
        self.refresh()
        if started is None:
            return None
        run_id = started
        self.run.value = run_id
        self.message.ok(f"started run {run_id}; click Refresh to follow it")
        return run_id

    def view_html(self) -> None:
        """Show the chosen run's HTML export inside the dashboard."""
        path = self._path("html_path")
        if path is None:
            self.message.error("this run has no HTML output (yet): Refresh when it has ended")
            return
        page = _inline_plotly(path.read_text(encoding="utf-8"), path)
        self.viewer.value = (
            f"<iframe srcdoc='{html.escape(page)}' style='width:100%;height:600px;border:0'>"
            "</iframe>"
        )
        self.message.ok(f"showing {path}")

    # -- helpers --------------------------------------------------------------------------

    def _picked(self, _change: dict[str, Any]) -> None:
        if not self.is_quiet:
            self.load()

    def show_errors(self, errors: Mapping[str, str]) -> None:
        """Beside their fields; parameters are checked one by one, so an error named by a
        parameter goes beside the parameters field."""
        fields = {n: m for n, m in errors.items() if n in self.errors}
        others = "; ".join(f"{n}: {m}" for n, m in errors.items() if n not in self.errors)
        if others:
            fields["parameters"] = "; ".join(filter(None, (fields.get("parameters"), others)))
        super().show_errors(fields)

    def _path(self, column: str) -> Path | None:
        """The chosen run's file in ``column`` when it exists."""
        if self.run.value is None or self.run_rows.empty:
            return None
        row = self.run_rows[self.run_rows["id"] == self.run.value]
        value = row.iloc[0][column] if not row.empty else None
        return Path(value) if isinstance(value, str) and Path(value).is_file() else None

    def _show_links(self) -> None:
        if self.run.value is None:
            self.links.value = ""
            return
        parts = []
        for label, column in (("open output notebook", "output_path"), ("open HTML", "html_path")):
            path = self._path(column)
            if path is None:
                continue
            href = lab_href(path)
            where = f"<code>{html.escape(str(path))}</code>"
            if href is None:
                parts.append(f"{label}: {where} (outside what JupyterLab serves)")
            else:
                link = f"<a href='{html.escape(href)}' target='_blank'>{label}</a>"
                parts.append(f"{link} {where}")
        self.links.value = "<br>".join(parts) or "no output yet"


def parse_parameters(text: str) -> dict[str, Any]:
    """Notebook parameters from a form: a JSON object, or ``name=value`` lines whose values
    are read as ``workbench run -p`` reads them (3 an int, True a bool, else text)."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            parameters = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValidationError(
                {"parameters": f"not valid JSON ({e.msg}, line {e.lineno})"}, entity="schedule"
            ) from None
        if not isinstance(parameters, dict):
            raise ValidationError({"parameters": "must be a JSON object"}, entity="schedule")
        return parameters
    pairs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ValidationError(
                {"parameters": f"line {number} ({line.strip()!r}) is not name=value or JSON"},
                entity="schedule",
            )
        pairs.append((name.strip(), value.strip()))
    return parse_pairs(pairs)


def lab_href(path: Path) -> str | None:
    """A JupyterLab link to ``path`` (a notebook opens in JupyterLab, other files are
    served as they are), or None when JupyterLab cannot serve it: outside its root (the
    ``workbench lab`` folder, else this kernel's folder) or in a hidden folder."""
    root = Path(os.environ.get(LAB_ROOT_ENV) or Path.cwd()).resolve()
    try:
        relative = path.resolve().relative_to(root)
    except ValueError:
        return None
    if any(part.startswith(".") for part in relative.parts):
        return None
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/").rstrip("/")
    kind = "lab/tree" if path.suffix == ".ipynb" else "files"
    return f"{prefix}/{kind}/{quote(relative.as_posix())}"


def _run_row(run: dict[str, Any]) -> dict[str, Any]:
    seconds = run["duration_seconds"]
    return {
        "id": run["id"],
        "schedule": run["schedule_id"],
        "notebook": Path(run["notebook"]).name,
        "status": run["status"].value,
        "started": _when(run["started_at"]),
        "seconds": "" if seconds is None else f"{seconds:.1f}",
        "error_cell": "" if run["error_cell"] is None else str(run["error_cell"]),
        "error": run["error"] or "",
    }


def _when(moment: Any) -> str:
    return "" if moment is None or pd.isna(moment) else f"{moment:%Y-%m-%d %H:%M:%S %Z}".strip()


def _job_notebooks() -> list[str]:
    """The product's job notebooks, offered in the notebook field."""
    try:
        return sorted(str(p) for p in (notebooks_folder() / "jobs").glob("*.ipynb"))
    except WorkbenchError:  # installed without the notebooks folder: type a path
        return []


def _inline_plotly(page: str, path: Path) -> str:
    """The HTML export with the shared plotly.js (beside the run folders) inlined, so its
    charts also draw inside the dashboard."""
    script = path.parent.parent / PLOTLY_JS
    tag = re.compile(rf"<script[^>]*src=\"\.\./{re.escape(PLOTLY_JS)}\"[^>]*></script>")
    if not script.is_file() or not tag.search(page):
        return page
    inline = f"<script>{script.read_text(encoding='utf-8')}</script>"
    return tag.sub(lambda _: inline, page, count=1)
