"""Our annotation templates (``rules/template.py``) as Prometheus's Go templates.

``{value}`` becomes ``{{ $value }}``, ``{value:humanize}`` ``{{ humanize $value }}`` (the
named specs of ``template_formats`` are Prometheus's own functions), ``{labels[x]}``
``{{ $labels.x }}`` (with the label's Prometheus name), and what is fixed per alerting rule (the threshold of its
level, the alert's name, its severity, ``for``, the window, the expression) becomes
literal text. What has no equivalent is rendered as close as it gets and reported.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

from .prometheus_names import label_name
from .template_formats import formatted

__all__ = ["TemplateFacts", "to_go_template"]

_FIXED_F = re.compile(r"\.(\d+)f")
#: named spec (``template_formats``) -> the Go action printing ``$value`` the same way
_NAMED_VALUE = {
    "go": "{{ $value }}",
    "humanize": "{{ humanize $value }}",
    "humanizePercentage": "{{ humanizePercentage $value }}",
}


@dataclass(frozen=True)
class TemplateFacts:
    """The literal values of one alerting rule (one severity level)."""

    alert: str
    severity: str
    threshold: float
    for_: str
    window: str
    expr: str

    def literals(self) -> Mapping[str, object]:
        return {
            "alert": self.alert,
            "severity": self.severity,
            "threshold": self.threshold,
            "for": self.for_,
            "window": self.window,
            "expr": self.expr,
        }


def to_go_template(template: str, facts: TemplateFacts) -> tuple[str, list[str]]:
    """The Go template, and a note for each part that is not rendered the same."""
    out: list[str] = []
    notes: list[str] = []
    for literal, field, spec, conversion in string.Formatter().parse(template):
        out.append(_literal(literal))
        if field is None:
            continue
        if conversion:
            notes.append(f"conversion !{conversion} in {{{field}}} dropped")
        out.append(_field(field, spec or "", facts, notes))
    return "".join(out), notes


def _literal(text: str) -> str:
    # ``{{`` would open an action; Go templates print it from a string constant
    return text.replace("{{", '{{ "{{" }}')


def _field(field: str, spec: str, facts: TemplateFacts, notes: list[str]) -> str:
    if field in ("value", "last_firing_value"):
        return _value(spec, notes)
    if field.startswith("labels[") and field.endswith("]"):
        return "{{ $labels." + label_name(field[len("labels[") : -1]) + " }}"
    if field == "labels":
        return "{{ $labels }}"
    if field == "state":
        notes.append("{state} has no Go-template form: written as FIRING")
        return "FIRING"
    literals = facts.literals()
    if field in literals:
        try:
            return _literal(formatted(literals[field], spec))
        except (TypeError, ValueError):
            return _literal(str(literals[field]))
    notes.append(f"{{{field}}} is not a template field: kept as text")
    return _literal("{" + field + "}")


def _value(spec: str, notes: list[str]) -> str:
    """``$value`` with the closest Go formatting of a Python format spec."""
    if not spec:
        return "{{ $value }}"
    if spec in _NAMED_VALUE:
        return _NAMED_VALUE[spec]
    if spec.endswith("%"):
        if spec not in (".0%", "%"):
            notes.append(f"format spec {spec!r} written as humanizePercentage")
        return "{{ $value | humanizePercentage }}"
    fixed = _FIXED_F.fullmatch(spec)
    if fixed:
        return '{{ printf "%.' + fixed.group(1) + 'f" $value }}'
    if spec in ("g", "e", "f", "d"):
        verb = "f" if spec == "d" else spec
        return '{{ printf "%' + verb + '" $value }}'
    notes.append(f"format spec {spec!r} dropped")
    return "{{ $value }}"
