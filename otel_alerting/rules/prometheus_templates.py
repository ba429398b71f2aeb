"""Prometheus's Go-template annotations as our templates (``template``).

The actions Prometheus alert rules commonly use have an exact form in ours:

| Go template | ours |
| --- | --- |
| ``{{ $value }}`` | ``{last_firing_value:go}`` (on RESOLVED too: Prometheus keeps the firing value) |
| ``{{ humanize $value }}``, ``{{ $value \\| humanize }}`` | ``{last_firing_value:humanize}`` |
| ``{{ humanizePercentage $value }}`` | ``{last_firing_value:humanizePercentage}`` |
| ``{{ printf "%.2f" $value }}`` (``%f``, ``%e``, ``%g``, a precision) | ``{last_firing_value:.2f}`` |
| ``{{ $labels.x }}`` | ``{labels[x]}`` |
| ``{{ $labels }}`` | ``{labels:go}`` (``map[a:b c:d]``) |

``.Value`` and ``.Labels`` are read as ``$value`` and ``$labels``. Any other action is
refused (``TemplateImportError``, naming it), never passed through as text.
"""

from __future__ import annotations

import re

__all__ = ["TemplateImportError", "from_go_template"]

_ACTION = re.compile(r"{{(-\s)?(.*?)(\s-)?}}", re.DOTALL)
_VALUE = r"(?:\$value|\.Value)"
_LABELS = r"(?:\$labels|\.Labels)"
_PRINTF = re.compile(r'printf\s+"%(\.\d+)?([feg])"')
_LABEL = re.compile(_LABELS + r"\.([a-zA-Z_][a-zA-Z0-9_]*)")
_VALUE_ONLY = re.compile(_VALUE)
_LABELS_ONLY = re.compile(_LABELS)
_FUNCTIONS = {"humanize": "humanize", "humanizePercentage": "humanizePercentage"}


class TemplateImportError(ValueError):
    """An action with no equivalent in our templates; ``action`` is its text."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(message)
        self.action = action


def from_go_template(template: str) -> str:
    """Our template for a Go template; raises TemplateImportError."""
    out: list[str] = []
    position = 0
    for found in _ACTION.finditer(template):
        text = template[position : found.start()]
        if found.group(1):
            text = text.rstrip()
        out.append(_escape(text))
        out.append(_action(found.group(0), found.group(2).strip()))
        position = found.end()
        if found.group(3):
            while position < len(template) and template[position].isspace():
                position += 1
    rest = template[position:]
    if "{{" in rest:
        raise TemplateImportError(rest, "an unclosed action")
    out.append(_escape(rest))
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _action(whole: str, body: str) -> str:
    pipeline = [part.strip() for part in body.split("|")]
    if len(pipeline) == 2:  # `$value | humanize` is `humanize $value`
        body = f"{pipeline[1]} {pipeline[0]}"
    elif len(pipeline) > 2:
        raise TemplateImportError(whole, "a pipeline of more than one function is not supported")
    if _VALUE_ONLY.fullmatch(body):
        return "{last_firing_value:go}"
    if _LABELS_ONLY.fullmatch(body):
        return "{labels:go}"
    label = _LABEL.fullmatch(body)
    if label:
        return "{labels[" + label.group(1) + "]}"
    function, _, argument = body.partition(" ")
    if function in _FUNCTIONS and _VALUE_ONLY.fullmatch(argument.strip()):
        return "{last_firing_value:" + _FUNCTIONS[function] + "}"
    printf = _PRINTF.match(body)
    if printf and _VALUE_ONLY.fullmatch(body[printf.end() :].strip()):
        return "{last_firing_value:" + (printf.group(1) or "") + printf.group(2) + "}"
    raise TemplateImportError(
        whole,
        "not supported (supported: $value, $labels, $labels.<name>, humanize $value, "
        'humanizePercentage $value, printf "%.Nf" $value)',
    )
