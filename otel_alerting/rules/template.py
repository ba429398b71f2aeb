"""Annotation templates that can only reach the alert's own values.

``str.format`` would let a template walk ``{value.__class__...}``; this formatter
allows a fixed set of top-level names and only ``[key]`` indexing into label maps.
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]
import string
from collections.abc import Mapping
from typing import Any

__all__ = ["TemplateError", "render", "validate"]

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


def render(template: str, values: Mapping[str, Any]) -> str:
    """Render ``template``; a failure yields the raw template, never an exception."""
    try:
        return _FORMATTER.format(template, **values)
    except (TemplateError, KeyError, IndexError, ValueError):
        return template


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
    """Raise TemplateError if ``template`` can never render."""
    try:
        _FORMATTER.format(template, **_SAMPLE)
    except TemplateError:
        raise
    except (KeyError, IndexError, ValueError) as exc:
        raise TemplateError(f"invalid template {template!r}: {exc}") from None
