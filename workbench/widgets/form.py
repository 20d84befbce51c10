"""The one base of the widget forms: quiet updates, one way to act, errors beside fields.

A form (``FormView``) holds a ``message`` line, an error box beside each field
(``errors``) and reacts to its controls. While the form sets its own controls it works
inside ``with self.quiet():`` so its handlers ignore those changes; the block is exception
safe, so a failing update never leaves the form deaf to input. ``act(action)`` runs one
action: a WorkbenchError is shown in the message line and its field errors beside their
fields; any other exception is a bug and propagates.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar

import ipywidgets as w
import pydantic

from workbench.errors import ValidationError, WorkbenchError
from workbench.widgets.common import Message, plain_text
from workbench.widgets.fields import control_for, field_specs

T = TypeVar("T")
ERROR_STYLE = "color:#cf222e"


def error_box() -> w.HTML:
    """The empty box shown beside a field for its error."""
    return w.HTML(layout=w.Layout(margin="0 0 0 8px"))


def schema_controls(
    schema: type[pydantic.BaseModel],
    labels: Callable[[str], str] = str,
    *,
    special: Mapping[str, Callable[[], w.Widget]] | None = None,
    exclude: tuple[str, ...] = (),
) -> dict[str, w.Widget]:
    """One control per field of ``schema``, bounded as the schema says (``special`` builds
    the fields that need their own control, e.g. a combobox of known choices)."""
    special = special or {}
    specs = field_specs(schema)
    return {
        name: special[name]() if name in special else control_for(spec, labels(name))
        for name, spec in specs.items()
        if name not in exclude
    }


class FormView(w.VBox):
    """A VBox with ``message``, per-field ``errors``, ``quiet()`` and ``act()``."""

    message: Message
    errors: dict[str, w.HTML]
    _quiet_depth = 0

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Inside this block the form's own changes to its controls trigger no handler."""
        self._quiet_depth += 1
        try:
            yield
        finally:
            self._quiet_depth -= 1

    @property
    def is_quiet(self) -> bool:
        """True while the form sets its own controls (handlers then do nothing)."""
        return self._quiet_depth > 0

    def act(self, action: Callable[[], T]) -> T | None:
        """``action()``, or None after showing its WorkbenchError (field errors beside their
        fields, the rest in the message line)."""
        try:
            return action()
        except WorkbenchError as e:
            self.message.error(e)
            if isinstance(e, ValidationError):
                self.show_errors(e.errors)
            return None

    def error_boxes(self) -> dict[str, w.HTML]:
        """The boxes errors can be shown in, by field name."""
        return self.errors

    def show_errors(self, errors: Mapping[str, str]) -> None:
        """Show each error beside its field and clear the other fields' boxes."""
        for name, box in self.error_boxes().items():
            text = html.escape(errors.get(name, ""))
            box.value = f"<span style='{ERROR_STYLE}'>{text}</span>" if text else ""

    def field_errors(self) -> dict[str, str]:
        """The errors shown beside the fields now."""
        return {
            name: plain_text(box.value) for name, box in self.error_boxes().items() if box.value
        }
