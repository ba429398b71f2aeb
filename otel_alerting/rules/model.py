"""The rule model: frozen values, validated by the loader, read by the engine."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "AbsentExpr",
    "Direction",
    "Expr",
    "NoDataPolicy",
    "RateExpr",
    "RatioExpr",
    "Rule",
    "Selector",
    "Severity",
    "ValueExpr",
]


class Severity(enum.IntEnum):
    """Ordered so that a higher severity compares greater."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})") from None


Reduce = Literal["last", "sum", "max", "min", "avg", "count"]
#: a PromQL label matcher beyond ``match`` (see ``Selector.matchers``)
MatchOp = Literal["=", "!=", "=~", "!~"]
Field = Literal["value", "count", "sum", "quantile"]
Direction = Literal["above", "below"]
NoDataPolicy = Literal["keep", "resolve"]


@dataclass(frozen=True)
class Selector:
    """Which points of which metric an expression reads.

    ``field`` picks what a histogram contributes: its ``count``, its ``sum``, or a
    ``quantile`` estimated from its buckets; numbers (sums, gauges) only have ``value``.

    An imported Prometheus rule (``prometheus_import``) also has ``matchers``, PromQL's
    label matchers that ``match`` cannot hold (``!=``, regular expressions, ``=""``),
    where a missing attribute reads as the empty string and a regular expression must
    match the whole value, as in PromQL; and ``prometheus_labels``: the attribute names
    in ``match``, ``matchers`` and the rule's ``by`` are Prometheus label names, which
    the engine compares with each attribute's translated name (``label_name``).
    """

    metric: str
    match: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    field: Field = "value"
    quantile: float | None = None
    matchers: tuple[tuple[str, MatchOp, str], ...] = ()
    prometheus_labels: bool = False

    def matches(self, attributes: Mapping[str, object]) -> bool:
        for key, allowed in self.match.items():
            actual = attributes.get(key)
            if actual is None:
                return False
            if _text(actual) not in allowed:
                return False
        for key, op, expected in self.matchers:
            actual = attributes.get(key)
            text = "" if actual is None else _text(actual)
            found = text == expected if op in ("=", "!=") else re.fullmatch(expected, text) is not None
            if found is (op in ("!=", "!~")):
                return False
        return True

    def describe(self) -> str:
        parts = [self.metric]
        if self.match:
            inner = ",".join(f"{k}={'|'.join(v)}" for k, v in sorted(self.match.items()))
            parts.append("{" + inner + "}")
        if self.matchers:
            parts.append("{" + ",".join(f"{k}{op}{v!r}" for k, op, v in self.matchers) + "}")
        if self.field == "quantile":
            parts.append(f"[q{self.quantile:g}]")
        elif self.field != "value":
            parts.append(f"[{self.field}]")
        return "".join(parts)


@dataclass(frozen=True)
class ValueExpr:
    """The current value of the matching series, reduced per group."""

    selector: Selector
    reduce: Reduce | None = None
    by: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.reduce or 'value'}({self.selector.describe()}){_by(self.by)}"


@dataclass(frozen=True)
class RateExpr:
    """Per-second increase of a counter (or histogram count/sum) over ``window`` seconds."""

    selector: Selector
    window: float
    by: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"rate({self.selector.describe()}[{self.window:g}s]){_by(self.by)}"


@dataclass(frozen=True)
class RatioExpr:
    """Increase of the numerator over increase of the denominator, in one window."""

    numerator: Selector
    denominator: Selector
    window: float
    min_denominator: float = 0.0
    by: tuple[str, ...] = ()

    def describe(self) -> str:
        return (
            f"increase({self.numerator.describe()}[{self.window:g}s]) / "
            f"increase({self.denominator.describe()}[{self.window:g}s]){_by(self.by)}"
        )


@dataclass(frozen=True)
class AbsentExpr:
    """Seconds since the matching series last had new data (a point for a gauge,
    an increase for a counter or histogram); since start-up if they never had any."""

    selector: Selector
    by: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"seconds_since_data({self.selector.describe()}){_by(self.by)}"


Expr = ValueExpr | RateExpr | RatioExpr | AbsentExpr


@dataclass(frozen=True)
class Rule:
    """One alert definition: an expression and a ladder of severities.

    ``thresholds`` is ordered from the lowest severity to the highest; with
    ``direction == "above"`` a level holds when ``value >= threshold``, with
    ``"below"`` when ``value < threshold``.
    """

    alert: str
    expr: Expr
    direction: Direction
    thresholds: tuple[tuple[Severity, float], ...]
    for_: float = 0.0
    keep_firing_for: float = 0.0
    recovery: float | None = None
    no_data: NoDataPolicy = "keep"
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    source: str = "<built-in>"

    @property
    def by(self) -> tuple[str, ...]:
        return self.expr.by

    def holds(self, threshold: float, value: float) -> bool:
        return value >= threshold if self.direction == "above" else value < threshold

    def recovered(self, value: float) -> bool:
        """True once the value is back past the hysteresis level (or below the
        lowest threshold when there is none)."""
        if self.recovery is None:
            return not self.holds(self.thresholds[0][1], value)
        if self.direction == "above":
            return value < self.recovery
        return value >= self.recovery

    def threshold_of(self, severity: Severity) -> float | None:
        for level, threshold in self.thresholds:
            if level is severity:
                return threshold
        return None


def _text(value: object) -> str:
    # The loader stores `match: {hit: true}` as "true" (as OTLP and Prometheus write
    # booleans); str(True) is "True", so booleans are compared that way.
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _by(by: tuple[str, ...]) -> str:
    return f" by ({', '.join(by)})" if by else ""
