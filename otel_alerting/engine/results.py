"""What one rule saw in one collection: a value per alert group, as the manager reads it.

A value that is not finite (NaN, infinity) reads as no data (None).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from ..rules.model import Rule
from .series import GroupKey

__all__ = ["NO_VALUES", "GroupKey", "RuleResult", "crossing", "finite"]

#: the values of a rule without any group
NO_VALUES: Mapping[GroupKey, float | None] = MappingProxyType({})


def finite(value: float | None) -> float | None:
    """A value as rules report it: a finite float, or None (no data)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


class RuleResult:
    """What one rule saw in one collection: a value (None: no data) per group, or the
    error that kept it from being evaluated."""

    __slots__ = ("error", "rule", "values")

    def __init__(
        self, rule: Rule, values: Mapping[GroupKey, float | None] | None = None, error: str | None = None
    ) -> None:
        self.rule = rule
        self.values: Mapping[GroupKey, float | None] = _finite(values) if values else NO_VALUES
        self.error = error

    def __repr__(self) -> str:
        return f"RuleResult({self.rule.alert!r}, {dict(self.values)!r}, error={self.error!r})"


def _finite(values: Mapping[GroupKey, float | None]) -> Mapping[GroupKey, float | None]:
    # one pass in C finds every value finite, the common case (None and 0 left out first)
    if isinstance(values, dict) and all(map(math.isfinite, filter(None, values.values()))):
        return values
    return {key: finite(value) for key, value in values.items()}


def crossing(values: Mapping[GroupKey, float | None], threshold: float, above: bool) -> list[GroupKey]:
    """Groups whose value is at or above ``threshold`` (``above``), or below it."""
    if above:
        return [key for key, value in values.items() if value is not None and value >= threshold]
    return [key for key, value in values.items() if value is not None and value < threshold]
