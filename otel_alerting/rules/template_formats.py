"""The format specs our templates take beyond Python's, for what Prometheus's Go
templates print: ``{value:go}`` (Go's ``%v`` of a float, as ``{{ $value }}``),
``{value:humanize}``, ``{value:humanizePercentage}`` and ``{labels:go}`` (the label set
as Go prints a map: ``map[a:b c:d]``). ``template`` applies them; ``prometheus_templates``
writes them when it imports Go templates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

__all__ = ["NAMED_SPECS", "formatted", "go_float", "go_map", "humanize", "humanize_percentage"]

_LARGE = ("k", "M", "G", "T", "P", "E", "Z", "Y")
_SMALL = ("m", "u", "n", "p", "f", "a", "z", "y")


def _special(value: float) -> str | None:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a number is needed, not {type(value).__name__}")
    return float(value)


def go_float(value: object) -> str:
    """Go's ``%v`` of a float64: the shortest digits that read back the same, in
    exponent form when the exponent is below -4 or at least 6 (``1.234567e+06``)."""
    number = _number(value)
    special = _special(number)
    if special is not None:
        return special
    if number == 0:
        return "-0" if math.copysign(1, number) < 0 else "0"
    # repr gives the shortest digits that read back the same (as Go's %v does); its
    # layout (1e-05, 123.0, 1.5e+16) is not Go's, so only the digits are kept
    mantissa, _, power = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    first = len(digits) - len(digits.lstrip("0"))
    count = len(digits.strip("0"))
    exponent = len(whole) - 1 - first + int(power or 0)
    if exponent < -4 or exponent >= 6:
        return format(number, f".{count - 1}e")
    return format(number, f".{max(0, count - 1 - exponent)}f")


def _g4(value: float) -> str:
    return _special(value) or format(value, ".4g")


def humanize(value: object) -> str:
    """Prometheus's ``humanize``: SI prefixes, four significant digits (``1.235M``)."""
    number = _number(value)
    if number == 0 or not math.isfinite(number):
        return _g4(number)
    prefix = ""
    if abs(number) >= 1:
        for candidate in _LARGE:
            if abs(number) < 1000:
                break
            prefix, number = candidate, number / 1000
    else:
        for candidate in _SMALL:
            if abs(number) >= 1:
                break
            prefix, number = candidate, number * 1000
    return _g4(number) + prefix


def humanize_percentage(value: object) -> str:
    """Prometheus's ``humanizePercentage``: a ratio as a percentage (``12.35%``)."""
    return _g4(_number(value) * 100) + "%"


def go_map(value: object) -> str:
    """A label set as Go prints a map: ``map[a:b c:d]``, keys sorted."""
    if not isinstance(value, Mapping):
        raise TypeError(f"a label set is needed, not {type(value).__name__}")
    return "map[" + " ".join(f"{key}:{value[key]}" for key in sorted(value)) + "]"


def _go(value: object) -> str:
    return go_map(value) if isinstance(value, Mapping) else go_float(value)


#: spec -> how it renders a value (TypeError for a value it does not take)
NAMED_SPECS: Mapping[str, Callable[[object], str]] = {
    "go": _go,
    "humanize": humanize,
    "humanizePercentage": humanize_percentage,
}


def formatted(value: object, spec: str) -> str:
    """``value`` in ``spec``: one of ``NAMED_SPECS``, else Python's ``format``."""
    named = NAMED_SPECS.get(spec)
    return named(value) if named is not None else format(value, spec)
