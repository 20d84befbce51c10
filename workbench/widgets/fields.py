"""Form controls made from a pydantic schema's fields, so a form's bounds are the schema's."""

from __future__ import annotations

import enum
import types
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types as at
import ipywidgets as w
import pydantic

FULL_WIDTH = w.Layout(width="auto")


@dataclass(frozen=True)
class FieldSpec:
    """What a form needs to know of one schema field."""

    name: str
    kind: Any
    optional: bool
    low: float | None
    high: float | None
    default: Any


def field_specs(schema: type[pydantic.BaseModel]) -> dict[str, FieldSpec]:
    """Each field of ``schema``: its base type, whether None is allowed, and its bounds."""
    specs = {}
    for name, info in schema.model_fields.items():
        annotation, metadata = info.annotation, list(info.metadata)
        optional = False
        if get_origin(annotation) in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional, annotation = True, args[0]
        if get_origin(annotation) is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                metadata.extend(getattr(item, "metadata", [item]))
        low = high = None
        for item in metadata:
            if isinstance(item, at.Ge):
                low = float(item.ge)  # type: ignore[arg-type]
            elif isinstance(item, at.Gt):
                low = float(item.gt)  # type: ignore[arg-type]
            elif isinstance(item, at.Le):
                high = float(item.le)  # type: ignore[arg-type]
            elif isinstance(item, at.Lt):
                high = float(item.lt)  # type: ignore[arg-type]
        default = None if info.is_required() else info.default
        specs[name] = FieldSpec(name, annotation, optional, low, high, default)
    return specs


def _number(spec: FieldSpec, description: str) -> w.ValueWidget:
    bounds = {"min": spec.low if spec.low is not None else -1e18}
    bounds["max"] = spec.high if spec.high is not None else 1e18
    style = {"description_width": "initial"}
    if spec.kind is int:
        return w.BoundedIntText(description=description, style=style, **bounds)
    return w.BoundedFloatText(description=description, style=style, step=0.1, **bounds)


class OptionalNumber(w.HBox):
    """A number that can be switched off (None): a checkbox beside a bounded field."""

    def __init__(self, spec: FieldSpec, description: str) -> None:
        self.spec = spec
        self.enabled = w.Checkbox(value=False, indent=False, layout=w.Layout(width="24px"))
        self.number = _number(spec, description)
        self.number.disabled = True
        self.enabled.observe(self._toggle, "value")
        super().__init__([self.enabled, self.number])

    def _toggle(self, change: dict[str, Any]) -> None:
        self.number.disabled = not change["new"]

    @property
    def value(self) -> Decimal | int | None:
        if not self.enabled.value:
            return None
        return to_schema(self.spec, self.number.value)

    @value.setter
    def value(self, value: Any) -> None:
        if value is None:
            self.enabled.value = False
            return
        self.number.value = float(value) if self.spec.kind is not int else int(value)
        self.enabled.value = True

    def observe_value(self, handler: Any) -> None:
        self.enabled.observe(handler, "value")
        self.number.observe(handler, "value")


def to_schema(spec: FieldSpec, value: Any) -> Any:
    """A control's value in the type the schema expects (floats become exact Decimals)."""
    if value is None:
        return None
    if spec.kind is Decimal:
        return Decimal(repr(float(value)))
    return value


def control_for(spec: FieldSpec, description: str) -> w.Widget:
    """The default control for a field: checkbox, dropdown, bounded number or text."""
    style = {"description_width": "initial"}
    if spec.kind is bool:
        return w.Checkbox(description=description, value=bool(spec.default), indent=False)
    if isinstance(spec.kind, type) and issubclass(spec.kind, enum.Enum):
        options = [(m.value, m) for m in spec.kind]
        return w.Dropdown(description=description, options=options, value=spec.default, style=style)
    if spec.kind in (int, Decimal):
        if spec.optional:
            return OptionalNumber(spec, description)
        control = _number(spec, description)
        if spec.default is not None:
            control.value = float(spec.default) if spec.kind is Decimal else spec.default
        return control
    return w.Text(description=description, value=spec.default or "", style=style)


def observe_value(control: w.Widget, handler: Any) -> None:
    """Call ``handler`` whenever the control's value changes (composite controls too)."""
    if isinstance(control, OptionalNumber):
        control.observe_value(handler)
    else:
        control.observe(handler, "value")


def param_control(param: Any, description: str | None = None) -> w.Widget:
    """The control for a strategy's declared parameter (``wb.Int``/``Float``/``Bool``/
    ``Choice``), bounded as declared and set to its default."""
    style = {"description_width": "initial"}
    text = description or param.name
    layout = w.Layout(width="200px")
    if param.kind == "bool":
        return w.Checkbox(description=text, value=bool(param.default), indent=False)
    if param.kind == "choice":
        return w.Dropdown(
            description=text, options=list(param.choices), value=param.default, style=style
        )
    bounds = {
        "min": param.low if param.low is not None else -1e18,
        "max": param.high if param.high is not None else 1e18,
    }
    if param.kind == "int":
        return w.BoundedIntText(
            description=text, value=param.default, style=style, layout=layout, **bounds
        )
    step = (bounds["max"] - bounds["min"]) / 100 if param.high is not None else 0.1
    return w.BoundedFloatText(
        description=text, value=param.default, step=step, style=style, layout=layout, **bounds
    )


def range_hint(param: Any) -> str:
    """A sweep range placeholder for a parameter (whole numbers: START:STOP)."""
    if param.kind == "int" and param.low is not None and param.high is not None:
        return f"{param.low}:{param.high + 1}"
    if param.kind == "choice":
        return ",".join(map(str, param.choices))
    if param.kind == "bool":
        return "true,false"
    return "A,B,C"
