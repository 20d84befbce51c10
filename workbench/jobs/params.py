"""Notebook parameters: papermill's ``-p NAME VALUE`` parsing and the no-secrets rule.

Secrets never travel as parameters: they would be written into the output notebook's
injected-parameters cell, its HTML export and the ``job_runs`` row. A job reads what it
needs from the workbench itself (settings, the encrypted key store) instead.
"""

from __future__ import annotations

import ast
import json
import keyword
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from workbench.errors import ValidationError

# Names that look like credentials: api_key, apiKey, secret, password, token, ...
SECRET_NAME = re.compile(
    r"(api_?key|access_?key|private_?key|secret|passw(or)?d|passphrase|token|credential"
    r"|fernet|auth_?key|signing_?key)",
    re.IGNORECASE,
)


def looks_secret(name: str) -> bool:
    """True when ``name`` (a parameter or environment variable) looks like a credential."""
    return SECRET_NAME.search(name.replace("-", "_")) is not None


def parse_value(text: str) -> Any:
    """A ``-p`` value the way papermill's CLI reads it: bool, None, int, float, else str."""
    if text == "True":
        return True
    if text == "False":
        return False
    if text == "None":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``[("symbol", "BTC/USDT"), ("days", "3")]`` -> ``{"symbol": "BTC/USDT", "days": 3}``."""
    return {name: parse_value(value) for name, value in pairs}


def check_parameters(
    parameters: Mapping[str, Any] | None,
    *,
    secrets: Iterable[str] = (),
    entity: str = "job parameters",
) -> dict[str, Any]:
    """Validate ``parameters`` for a notebook run; return them as a plain dict.

    Refused (ValidationError, a RejectedError): names that are not Python identifiers or
    are keywords (``import``), names that look like secrets, values that hold one of the
    known ``secrets``, values that cannot be stored as standard JSON (nan and inf too).
    """
    params = dict(parameters or {})
    errors: dict[str, str] = {}
    known = [s for s in secrets if s]
    for name, value in params.items():
        if not isinstance(name, str) or not name.isidentifier():
            errors[str(name)] = "a parameter name must be a Python identifier (letters, digits, _)"
        elif keyword.iskeyword(name):
            errors[name] = "is a Python keyword; a parameter needs another name"
        elif looks_secret(name):
            errors[name] = (
                "looks like a secret; secrets are never passed as job parameters (they would "
                "be written into the output notebook); let the notebook read them from the "
                "workbench's encrypted key store"
            )
        else:
            try:
                text = json.dumps(value, allow_nan=False)
            except ValueError:
                errors[name] = "must be a finite number: nan and inf are refused"
                continue
            except TypeError:
                errors[name] = f"value of type {type(value).__name__} cannot be stored as JSON"
                continue
            if any(secret in text or secret in str(value) for secret in known):
                errors[name] = "holds a secret of this workbench; secrets are never parameters"
    if errors:
        raise ValidationError(errors, entity=entity)
    return params


PARAMETERS_TAG = "parameters"


def declared_parameters(notebook: Path) -> set[str] | None:
    """The names assigned in ``notebook``'s cell tagged ``parameters``; None without one."""
    try:
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for cell in nb.get("cells", []):
        if PARAMETERS_TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return set()
        names: set[str] = set()
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign | ast.AugAssign):
                targets = [node.target]
            for target in targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                names.update(t.id for t in elements if isinstance(t, ast.Name))
        return names
    return None


def check_against_notebook(
    parameters: Mapping[str, Any], notebook: Path, *, entity: str = "job parameters"
) -> None:
    """Refuse parameter names the notebook's ``parameters`` cell does not declare."""
    if not parameters:
        return
    declared = declared_parameters(notebook)
    name = Path(notebook).name
    if declared is None:
        raise ValidationError(
            {
                "parameters": f"{name} has no cell tagged 'parameters', so it takes none; "
                "tag the cell that sets its defaults 'parameters' in JupyterLab"
            },
            entity=entity,
        )
    known = ", ".join(sorted(declared)) or "nothing"
    errors = {
        key: f"is not a parameter of {name} (its parameters cell sets {known})"
        for key in parameters
        if key not in declared
    }
    if errors:
        raise ValidationError(errors, entity=entity)
