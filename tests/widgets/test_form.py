"""The one form base: quiet updates that survive errors, and one way to act."""

from __future__ import annotations

import ipywidgets as w
import pytest

from workbench.errors import NotFoundError, ValidationError
from workbench.widgets.common import Message
from workbench.widgets.form import FormView, error_box


class NameForm(FormView):
    """A form with one field that checks itself on every change it did not make."""

    def __init__(self) -> None:
        self.message = Message()
        self.name = w.Text()
        self.errors = {"name": error_box()}
        self.checked: list[str] = []
        self.name.observe(self._changed, "value")
        super().__init__([self.name, self.errors["name"], self.message])

    def _changed(self, change: dict[str, str]) -> None:
        if not self.is_quiet:
            self.checked.append(change["new"])


def test_quiet_updates_are_ignored_and_an_error_inside_does_not_leave_it_quiet() -> None:
    form = NameForm()
    with form.quiet(), form.quiet():  # nested: still quiet until the outer block ends
        form.name.value = "set by the form"
    assert form.checked == []
    with pytest.raises(RuntimeError), form.quiet():
        form.name.value = "half done"
        raise RuntimeError("failed midway")
    form.name.value = "typed"
    assert form.checked == ["typed"]


def test_act_shows_errors_beside_fields_and_lets_bugs_through() -> None:
    form = NameForm()

    def invalid() -> int:
        raise ValidationError({"name": "must not be empty", "other": "x"}, entity="thing")

    assert form.act(invalid) is None
    assert form.field_errors() == {"name": "must not be empty"}
    assert "invalid thing" in form.message.text

    def missing() -> int:
        raise NotFoundError("no thing 7")

    assert form.act(missing) is None
    assert form.message.text == "no thing 7"
    assert form.act(lambda: 5) == 5
    form.show_errors({})
    assert form.field_errors() == {}
    with pytest.raises(ZeroDivisionError):
        form.act(lambda: 1 // 0)
