"""Reading, marking, scrubbing and exporting output notebooks."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from workbench.redact import scrub_value

# papermill's own marker tag: papermill removes these cells when the output is re-run.
ERROR_MARKER_TAG = "papermill-error-cell-tag"
_STYLE = 'style="color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif;"'


def read_notebook(path: Path) -> NotebookNode | None:
    """The notebook at ``path``, or None when it is missing or not a readable notebook."""
    try:
        return nbformat.read(str(path), as_version=4)
    except (OSError, ValueError, nbformat.reader.NotJSONError):
        return None


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Write ``nb`` atomically (a reader never sees half a file), readable by its owner only."""
    tmp = path.with_name(f".{path.name}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        nbformat.write(nb, fh)
    os.replace(tmp, path)


def write_private_text(text: str, path: Path) -> None:
    """Write ``text`` to ``path`` atomically, readable by its owner only (0600)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with os.fdopen(
        os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8"
    ) as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)  # an existing temp file keeps its mode through O_CREAT
    os.replace(tmp, path)


INJECTED_TAG = "injected-parameters"


def added_by_run(cell: NotebookNode) -> bool:
    """True for cells the run added: papermill's injected parameters, the error banners."""
    tags = cell.get("metadata", {}).get("tags", [])
    return INJECTED_TAG in tags or ERROR_MARKER_TAG in tags


def source_position(nb: NotebookNode, index: int | None) -> int | None:
    """The position (1 = first) in the source notebook of the cell at ``index`` of an
    output notebook: the cells the run added (parameters, banners) are not counted."""
    if index is None or not 0 <= index < len(nb.cells):
        return None
    if added_by_run(nb.cells[index]):
        return None
    return 1 + sum(1 for cell in nb.cells[:index] if not added_by_run(cell))


def output_index(nb: NotebookNode, position: int | None) -> int | None:
    """The index in output notebook ``nb`` of the source notebook's cell ``position``."""
    if position is None:
        return None
    seen = 0
    for index, cell in enumerate(nb.cells):
        if not added_by_run(cell):
            seen += 1
            if seen == position:
                return index
    return None


def scrub_notebook(nb: NotebookNode, secrets: list[str]) -> NotebookNode:
    return nbformat.from_dict(scrub_value(_plain(nb), secrets))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _pm(cell: NotebookNode) -> dict[str, Any]:
    return cell.get("metadata", {}).get("papermill", {}) or {}


def has_error_header(nb: NotebookNode) -> bool:
    return any(ERROR_MARKER_TAG in c.get("metadata", {}).get("tags", []) for c in nb.cells)


def cell_error(cell: NotebookNode) -> tuple[str, str] | None:
    """(ename, evalue) of the first error output of ``cell`` (a clean ``sys.exit(0)`` is none)."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            ename, evalue = output.get("ename", ""), output.get("evalue", "")
            if ename == "SystemExit" and evalue in ("", "0"):
                continue
            return ename, evalue
    return None


def find_failing_cell(nb: NotebookNode) -> int | None:
    """The index of the cell the run stopped in: failed or still running, else the last started.

    papermill marks a cell ``failed`` on an exception and leaves it ``running`` when its
    process is killed; when the kernel dies the cell is marked ``completed``, so the last
    cell that started is the one the kernel died in.
    """
    for index, cell in enumerate(nb.cells):
        if _pm(cell).get("status") in ("failed", "running"):
            return index
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") == "code" and cell_error(cell) is not None:
            return index
    started = [i for i, c in enumerate(nb.cells) if _pm(c).get("start_time")]
    return started[-1] if started else None


def mark_failure(nb: NotebookNode, index: int | None, ename: str, evalue: str) -> int | None:
    """Make the failure visible in ``nb``; return the failing cell's index in the result.

    The cell at ``index`` gets an error output (unless it shows one already) and papermill's
    status ``failed``; a red banner at the top and an anchor above the cell point to it, as
    papermill does for an exception. Without a cell (the kernel never started), only the
    banner is added and None is returned.
    """
    if has_error_header(nb):  # papermill marked it already
        return index
    banner = f"An error stopped this run: {ename}: {evalue}"
    if index is not None:
        cell = nb.cells[index]
        if cell.get("cell_type") == "code" and cell_error(cell) is None:
            cell.setdefault("outputs", []).append(
                nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])
            )
        meta = cell.setdefault("metadata", {}).setdefault("papermill", {})
        meta["status"] = "failed"
        meta["exception"] = True
        for later in nb.cells[index + 1 :]:  # papermill calls cells it never ran "completed"
            if later.get("cell_type") == "code" and not _pm(later).get("start_time"):
                later.setdefault("metadata", {}).setdefault("papermill", {})["status"] = "pending"
        count = cell.get("execution_count")
        banner = f"An error stopped this run at cell {source_position(nb, index)}" + (
            f" (In [{count}])" if count else ""
        )
        banner += f": {ename}: {evalue}"
        anchor = nbformat.v4.new_markdown_cell(
            f'<span id="papermill-error-cell" {_STYLE}>The run stopped here:</span>'
        )
        anchor.metadata["tags"] = [ERROR_MARKER_TAG]
        nb.cells.insert(index, anchor)
        index += 2
    header = nbformat.v4.new_markdown_cell(f"<span {_STYLE}>{_escape(banner)}</span>")
    header.metadata["tags"] = [ERROR_MARKER_TAG]
    nb.cells.insert(0, header)
    return index


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


PLOTLY_MIME = "application/vnd.plotly.v1+json"
PLOTLY_JS = "plotly.min.js"  # one copy beside the run folders, shared by every HTML page


def export_html(nb: NotebookNode, path: Path) -> Path:
    """Write ``nb`` as a standalone HTML page (nbconvert's HTMLExporter). Plotly figures
    become interactive charts that load plotly.js from the runs folder (works offline)."""
    page = _with_plotly_html(nb, path)
    with _EXPORTER_LOCK:
        body, _resources = _html_exporter().from_notebook_node(page)
    write_private_text(body, path)
    return path


_EXPORTER_LOCK = threading.Lock()


@functools.cache
def _html_exporter() -> Any:
    """One HTMLExporter per process: its templates and filters load once (about as long
    as a job's kernel start), then each page only renders."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    exporter.from_notebook_node(nbformat.v4.new_notebook())  # loads the templates now
    return exporter


def prepare_html_export() -> threading.Thread:
    """Load the HTML exporter in a background thread, while a run's notebook executes in
    other processes, so the export at its end only renders."""

    def load() -> None:
        with _EXPORTER_LOCK:
            _html_exporter()

    thread = threading.Thread(target=load, name="prepare-html-export", daemon=True)
    thread.start()
    return thread


def _with_plotly_html(nb: NotebookNode, path: Path) -> NotebookNode:
    """A copy of ``nb`` where each plotly output also carries an HTML rendering (a div
    and a ``Plotly.newPlot`` call: the figure's JSON is all plotly.js needs, so the
    plotly package is not imported)."""
    figures = [
        output
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if PLOTLY_MIME in output.get("data", {})
    ]
    if not figures:
        return nb
    script = path.parent.parent / PLOTLY_JS
    if not script.exists():
        tmp = script.with_name(f".{script.name}.{os.getpid()}.tmp")
        shutil.copyfile(_plotly_js_source(), tmp)
        os.replace(tmp, script)
    copy = nbformat.from_dict(_plain(nb))
    for number, cell in enumerate(copy.cells):
        for index, output in enumerate(cell.get("outputs", [])):
            figure = output.get("data", {}).get(PLOTLY_MIME)
            if figure is not None:
                div = f"plotly-{number}-{index}"
                output["data"]["text/html"] = _plotly_div(figure, div, f"../{PLOTLY_JS}")
    return copy


def _plotly_div(figure: dict[str, Any], div: str, script: str) -> str:
    layout = figure.get("layout") or {}
    height = layout.get("height") or 450
    args = ", ".join(
        _script_json(value)
        for value in (div, figure.get("data") or [], layout, {"responsive": True})
    )
    return (
        f'<div id="{div}" class="plotly-graph-div" style="height:{height}px; width:100%;">'
        f'</div>\n<script charset="utf-8" src="{script}"></script>\n'
        f"<script>Plotly.newPlot({args});</script>"
    )


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value).replace("</", "<\\/").replace("<!--", "<\\!--")


def _plotly_js_source() -> Path:
    """plotly.min.js as shipped in the plotly package (found without importing it)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("plotly is not installed; it ships the plotly.js of charts")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


def notebooks_folder() -> Path:
    """The workbench's notebooks/ folder: under the current directory, else beside the
    package source (an editable install of the repository)."""
    from workbench.errors import ConfigError

    for folder in (Path.cwd() / "notebooks", Path(__file__).resolve().parents[2] / "notebooks"):
        if (folder / "jobs").is_dir():
            return folder
    raise ConfigError(
        "no notebooks/ folder here or beside the workbench package; run from the repository "
        "root (git clone ... && cd workbench) or install it with `pip install -e .`"
    )
