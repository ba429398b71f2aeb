"""Annotation templates that can only reach the alert's own values.

``str.format`` would let a template walk ``{value.__class__...}``; this formatter
allows a fixed set of top-level names and only ``[key]`` indexing into label maps.
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]
import re
import string
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_RENDERED", "MAX_SPEC_NUMBER", "TemplateError", "render", "validate"]

ALLOWED_NAMES = frozenset(
    {"alert", "value", "threshold", "severity", "state", "labels", "for", "window", "expr", "last_firing_value"}
)


class TemplateError(ValueError):
    pass


class _SafeFormatter(string.Formatter):
    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        first, rest = _split(field_name)
        if first not in ALLOWED_NAMES:
            allowed = ", ".join(sorted(ALLOWED_NAMES))
            raise TemplateError(f"unknown template field {first!r} (allowed: {allowed})")
        obj = kwargs[first]
        for is_attr, key in rest:
            if is_attr:
                raise TemplateError(f"attribute access '.{key}' is not allowed in templates")
            if not isinstance(obj, Mapping):
                raise TemplateError(f"{first} cannot be indexed")
            obj = obj.get(str(key), "")
        return obj, first

    def format_field(self, value: Any, format_spec: str) -> str:
        _check_spec(format_spec)  # here too: a nested field (``{value:>{threshold}}``) is only known now
        if value is None:
            return "n/a"
        try:
            from .template_formats import formatted  # Python's specs and Go templates' (humanize, go)

            return formatted(value, format_spec)
        except (ValueError, TypeError) as exc:
            raise TemplateError(f"bad format spec {format_spec!r}: {exc}") from None


def _split(field_name: str) -> tuple[str, list[tuple[bool, str]]]:
    head, tail = _string.formatter_field_name_split(field_name)
    return str(head), [(bool(is_attr), str(key)) for is_attr, key in tail]


_FORMATTER = _SafeFormatter()

#: the largest width or precision a format spec may ask for: ``{value:>300000000}``
#: would otherwise write a 300 MB line
MAX_SPEC_NUMBER = 256
# [[fill]align][sign][z][#][0][width][grouping][.precision][type]; what does not match
# is left to format() to refuse
_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d+)?[_,]?(?:\.(?P<precision>\d+))?[a-zA-Z%]?", re.S)


def _check_spec(spec: str) -> None:
    match = _SPEC.fullmatch(spec)
    if match is None:
        return
    for part in ("width", "precision"):
        digits = match.group(part)
        if digits is not None and (len(digits) > 6 or int(digits) > MAX_SPEC_NUMBER):
            raise TemplateError(f"format spec {spec!r}: {part} {digits} is larger than {MAX_SPEC_NUMBER}")


#: characters of a rendered annotation (a label value of any size may be in it); what
#: the history, the HTTP API and the status page keep. Channels clip further.
MAX_RENDERED = 16384


def render(template: str, values: Mapping[str, Any]) -> str:
    """Render ``template``; a failure yields the raw template, never an exception.
    At most ``MAX_RENDERED`` characters, ending in ``…[truncated N chars]`` when cut."""
    try:
        text = _FORMATTER.format(template, **values)
    except (TemplateError, KeyError, IndexError, ValueError):
        return template
    if len(text) <= MAX_RENDERED:
        return text
    keep = MAX_RENDERED - len(f"…[truncated {len(text)} chars]")
    return f"{text[:keep]}…[truncated {len(text) - keep} chars]"


#: what ``validate`` renders with: only the types matter. The numbers are floats, as
#: evaluation gives them, so that an integer-only spec (``{value:d}``) fails here, at load,
#: not later on every notification.
_SAMPLE: Mapping[str, Any] = {
    "alert": "A",
    "value": 1.0,
    "threshold": 1.0,
    "severity": "HIGH",
    "state": "FIRING",
    "labels": {},
    "for": "0s",
    "window": "0s",
    "expr": "x",
    "last_firing_value": 1.0,
}


def validate(template: str) -> None:
    """Raise TemplateError if ``template`` can never render, or is written in Go's
    template syntax (which would be shown as it is)."""
    _refuse_go_syntax(template)
    try:
        _FORMATTER.format(template, **_SAMPLE)
    except TemplateError:
        raise
    except (KeyError, IndexError, ValueError) as exc:
        raise TemplateError(f"invalid template {template!r}: {exc}") from None


# --- Go templates (Prometheus's) written where ours are expected --------------------

# ``{{ $labels.x }}``, ``{{ .Value }}``, ``{{ humanize $value }}``, ``{{- if ... }}``,
# ``{{ end }}``: an action uses a variable or a field, trims spaces, or opens with a
# keyword or with a function and its argument. ``{{literal text}}`` is our escape of
# braces and stays valid.
_GO_ACTION = re.compile(r"\{\{(?P<action>[^{}]*)\}\}")
_GO_KEYWORDS = frozenset({"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"})
_GO_CALL = re.compile(r"^[A-Za-z_]\w*\s+[$.\"(0-9]")
_GO_LABEL = re.compile(r"^(?:\$labels|\.Labels)\.(?P<name>\w+)$")
_GO_VALUE = re.compile(r"^(?:\$value|\.Value)$")


def _go_action(text: str) -> bool:
    action = text.strip()
    if text.startswith("- ") or text.endswith(" -") or "$" in action or action.startswith("."):
        return True
    return (action.split(None, 1) or [""])[0] in _GO_KEYWORDS or _GO_CALL.match(action) is not None


def _refuse_go_syntax(template: str) -> None:
    match = next((m for m in _GO_ACTION.finditer(template) if _go_action(m.group("action"))), None)
    if match is None:
        return
    action = match.group("action").strip(" -")
    label = _GO_LABEL.match(action)
    if label is not None:
        hint = f"write {{labels[{label.group('name')}]}}"
    elif _GO_VALUE.match(action):
        hint = "write {value} (a format spec as in {value:.1f})"
    else:
        hint = "write fields in single braces: {value}, {labels[name]}, {threshold}, {alert}"
    raise TemplateError(f"{match.group()!r} is Go-template syntax, which is shown as it is here: {hint}")
