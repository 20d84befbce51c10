"""The job dashboard: schedules with edit and run-now, recent runs and their outputs."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import ipywidgets as w
import pandas as pd
from sqlalchemy import Engine

from workbench.db import session_scope
from workbench.db.models import MissedRuns
from workbench.errors import ValidationError, WorkbenchError
from workbench.jobs import (
    LocalExecutor,
    add_schedule,
    get_schedule,
    list_runs,
    list_schedules,
    remove_schedule,
    run_fields,
    schedule_fields,
    set_enabled,
    update_schedule,
)
from workbench.jobs.runs import create_run
from workbench.jobs.schedules import schedule_input
from workbench.widgets.common import Message, engine_or_default, frame_html

NEW = "(new schedule)"
TIMEZONES = ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]
RUN_COLUMNS = ["id", "notebook", "status", "started_at", "duration_seconds", "error_cell", "error"]


class JobDashboard(w.VBox):
    """Schedules (notebook, parameters, cron, timezone, enabled) with edit and run-now;
    recent runs with status, duration and error, and links to their outputs."""

    def __init__(self, engine: Engine | None = None, *, executor: Any = None) -> None:
        self.engine = engine_or_default(engine)
        self.executor = executor or LocalExecutor(engine=self.engine)
        style = {"description_width": "initial"}
        self.schedule = w.Dropdown(description="schedule", style=style)
        self.notebook = w.Text(
            description="notebook",
            placeholder="notebooks/jobs/live_bot.ipynb",
            style=style,
            layout=w.Layout(width="60%"),
        )
        self.parameters = w.Textarea(description="parameters (JSON)", value="{}", style=style)
        self.cron = w.Text(description="cron", placeholder="*/5 * * * *", style=style)
        self.timezone = w.Combobox(
            description="timezone", options=TIMEZONES, value="UTC", style=style
        )
        self.enabled = w.Checkbox(description="enabled", value=True, indent=False)
        self.missed_runs = w.Dropdown(
            description="missed runs", style=style, options=[(m.value, m) for m in MissedRuns]
        )
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
        self.schedule.observe(lambda _: self.load(), "value")
        self.run.observe(lambda _: self._show_links(), "value")
        self.save.on_click(lambda _: self.save_schedule())
        self.toggle.on_click(lambda _: self.toggle_enabled())
        self.remove.on_click(lambda _: self.remove_schedule())
        self.run_now.on_click(lambda _: self.start_run())
        self.refresh_button.on_click(lambda _: self.refresh())
        self.show_html.on_click(lambda _: self.view_html())
        form = w.VBox(
            [
                self.schedule,
                self.notebook,
                self.parameters,
                w.HBox([self.cron, self.timezone, self.missed_runs, self.enabled]),
                w.HBox([self.save, self.toggle, self.remove, self.run_now]),
            ]
        )
        super().__init__([
            w.HTML("<b>schedules</b>"), self.schedules, form, self.message,
            w.HBox([w.HTML("<b>recent runs</b>"), self.refresh_button]), self.runs,
            w.HBox([self.run, self.show_html, self.links]), self.viewer,
        ])  # fmt: skip
        self.refresh()

    # -- reading --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload schedules and recent runs from the database."""
        with session_scope(self.engine) as session:
            schedules = [schedule_fields(s) for s in list_schedules(session=session)]
            runs = [run_fields(r) for r in list_runs(session=session, limit=20)]
        chosen = self.schedule.value
        self.schedule.options = [
            (NEW, None),
            *((f"{s['id']}: {s['name']}", s["id"]) for s in schedules),
        ]
        self.schedule.value = chosen if chosen in {s["id"] for s in schedules} else None
        columns = [
            "id",
            "name",
            "notebook",
            "parameters",
            "cron",
            "timezone",
            "enabled",
            "next_slot",
        ]
        self.schedules.value = frame_html(pd.DataFrame(schedules, columns=columns))
        self.run_rows = pd.DataFrame(runs, columns=[*RUN_COLUMNS, "output_path", "html_path"])
        self.runs.value = frame_html(self.run_rows[RUN_COLUMNS])
        self.run.options = [
            (f"{r['id']}: {Path(r['notebook']).name} {r['status']}", r["id"]) for r in runs
        ]
        self._show_links()

    def load(self) -> None:
        """Show the chosen schedule in the form (or an empty form for a new one)."""
        if self.schedule.value is None:
            fields: dict[str, Any] = {
                "notebook": "",
                "parameters": {},
                "cron": "",
                "timezone": "UTC",
                "enabled": True,
                "missed_runs": MissedRuns.SKIP,
            }
        else:
            with session_scope(self.engine) as session:
                fields = schedule_input(
                    get_schedule(session=session, schedule_id=self.schedule.value)
                )
        self.notebook.value = fields["notebook"]
        self.parameters.value = json.dumps(fields["parameters"], indent=1, default=str)
        self.cron.value, self.timezone.value = fields["cron"], fields["timezone"]
        self.enabled.value, self.missed_runs.value = fields["enabled"], fields["missed_runs"]
        self.toggle.description = "Disable" if fields["enabled"] else "Enable"
        for button in (self.toggle, self.remove, self.run_now):
            button.disabled = self.schedule.value is None

    # -- changing -------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        try:
            parameters = json.loads(self.parameters.value or "{}")
        except json.JSONDecodeError as e:
            raise ValidationError(
                {"parameters": f"not valid JSON ({e.msg}, line {e.lineno})"}, entity="schedule"
            ) from None
        if not isinstance(parameters, dict):
            raise ValidationError(
                {"parameters": 'must be a JSON object, e.g. {"bot_id": 1}'}, entity="schedule"
            )
        return {
            "notebook": self.notebook.value.strip(),
            "parameters": parameters,
            "cron": self.cron.value.strip(),
            "timezone": self.timezone.value.strip(),
            "enabled": self.enabled.value,
            "missed_runs": self.missed_runs.value,
        }

    def save_schedule(self) -> int | None:
        """Add a schedule, or update the chosen one; errors are shown, nothing is saved."""
        try:
            values = self.values()
            with session_scope(self.engine) as session:
                if self.schedule.value is None:
                    row = add_schedule(session=session, **values)
                else:
                    row = update_schedule(
                        session=session, schedule_id=self.schedule.value, **values
                    )
                schedule_id, name = row.id, row.name
        except WorkbenchError as e:
            self.message.error(e)
            return None
        self.refresh()
        self.schedule.value = schedule_id
        self.message.ok(f"saved schedule {schedule_id} ({name})")
        return schedule_id

    def toggle_enabled(self) -> None:
        schedule_id = self.schedule.value
        with session_scope(self.engine) as session:
            row = set_enabled(
                session=session,
                schedule_id=schedule_id,
                enabled=not get_schedule(session=session, schedule_id=schedule_id).enabled,
            )
            enabled = row.enabled
        self.refresh()
        self.load()
        self.message.ok(f"schedule {schedule_id} {'enabled' if enabled else 'disabled'}")

    def remove_schedule(self) -> None:
        schedule_id = self.schedule.value
        with session_scope(self.engine) as session:
            remove_schedule(session=session, schedule_id=schedule_id)
        self.schedule.value = None
        self.refresh()
        self.message.ok(f"removed schedule {schedule_id} (its runs are kept)")

    def start_run(self) -> int | None:
        """Queue a run of the chosen schedule's notebook now and start it in the background;
        Refresh shows how it went."""
        if self.schedule.value is None:
            self.message.error("save the schedule before running it")
            return None
        with session_scope(self.engine) as session:
            schedule = get_schedule(session=session, schedule_id=self.schedule.value)
            run_id = create_run(
                session=session,
                notebook=schedule.notebook,
                parameters=schedule.parameters,
                schedule_id=schedule.id,
            ).id
        self.executor.submit(run_id)
        self.refresh()
        self.message.ok(f"started run {run_id}; click Refresh to follow it")
        return run_id

    def view_html(self) -> None:
        """Show the chosen run's HTML export inside the dashboard."""
        path = self._run_row()["html_path"] if self.run.value is not None else None
        if not isinstance(path, str) or not Path(path).exists():
            self.message.error("this run has no HTML output yet")
            return
        page = html.escape(Path(path).read_text(encoding="utf-8"))
        self.viewer.value = f"<iframe srcdoc='{page}' style='width:100%;height:600px'></iframe>"

    def _run_row(self) -> pd.Series:
        return self.run_rows[self.run_rows["id"] == self.run.value].iloc[0]

    def _show_links(self) -> None:
        if self.run.value is None or self.run_rows.empty:
            self.links.value = ""
            return
        row = self._run_row()
        parts = []
        for label, path in (("output notebook", row["output_path"]), ("HTML", row["html_path"])):
            if isinstance(path, str) and Path(path).exists():
                href = html.escape(_lab_href(Path(path)))
                parts.append(
                    f"<a href='{href}' target='_blank'>{label}</a> <code>{html.escape(path)}</code>"
                )
        self.links.value = "<br>".join(parts) or "no output yet"


def _lab_href(path: Path) -> str:
    """A link for JupyterLab: relative to the kernel's folder (the server root when started
    with ``workbench lab``) when the file is under it, else a file URL."""
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path.resolve().as_uri()
    kind = "files" if path.suffix == ".html" else "lab/tree"
    return f"/{kind}/{relative.as_posix()}"
