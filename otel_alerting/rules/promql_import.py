"""A Prometheus alert expression as one of the engine's expressions and a threshold.

The expression is parsed by ``promql-parser`` (imported here, so only when a Prometheus
rule file is loaded) and mapped onto the rule kinds, exactly or not at all:

- ``sum/max/min/avg/count by (l) (x{...})``: ``value`` with that ``reduce``;
- ``sum by (l) (rate(x_total{...}[w]))``: ``rate``;
- ``sum by (l) (increase(x_total[w]))``: ``rate``, the threshold divided by ``w``
  (PromQL's ``increase`` is ``rate`` times ``w``);
- ``sum by (l) (rate(a[w])) / sum by (l) (rate(b[w]))`` (or ``increase``): ``ratio``;
- ``histogram_quantile(q, sum by (le, l) (rate(x_bucket[w])))``: ``rate`` with
  ``quantile: q`` (without ``rate``: ``value``);
- ``absent(x{...})`` of a gauge: ``absent`` above 1 ms, firing at the first collection
  without a point;
- ``E >= T``, ``E < T``: ``above``/``below`` ``T``; ``E > T``, ``E <= T``: ``above``/``below``
  the next float after ``T`` (the same comparison, exactly).

Anything else raises ``Unsupported`` naming the part that has no equivalent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import AbsentExpr, Direction, Expr, MatchOp, RateExpr, RatioExpr, Selector, ValueExpr
from .prometheus_names import Exposed

__all__ = ["Condition", "Unsupported", "parse_condition"]

#: a Prometheus name -> what it stands for; raises Unsupported when it has no one answer
Resolve = Callable[[str], Exposed]

_REDUCERS = ("sum", "max", "min", "avg", "count")
_COMPARISONS = (">", ">=", "<", "<=")
_FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">="}
#: an absent() rule's threshold (seconds since data)
_ABSENT_AFTER = 0.001
_MATCH_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
_REGEX_SPECIAL = frozenset("\\.+*?()|[]{}^$")


class Unsupported(ValueError):
    """A part of the expression with no equivalent; ``part`` is its text."""

    def __init__(self, part: object, message: str) -> None:
        super().__init__(message)
        self.part = str(part)


@dataclass(frozen=True)
class Condition:
    expr: Expr
    direction: Direction
    threshold: float
    #: labels the expression's result carries beside its groups (``absent``'s matchers)
    labels: Mapping[str, str] = field(default_factory=dict)


def parse_condition(text: str, resolve: Resolve) -> Condition:
    import promql_parser as promql

    try:
        node = promql.parse(text)
    except ValueError as exc:
        raise Unsupported(text, f"not valid PromQL ({exc})") from None
    return _Mapper(promql, resolve).condition(node)


class _Mapper:
    def __init__(self, promql: Any, resolve: Resolve) -> None:
        self.p = promql
        self.resolve = resolve

    def _bare(self, node: Any) -> Any:
        while isinstance(node, self.p.ParenExpr):
            node = node.expr
        return node

    def condition(self, node: Any) -> Condition:
        p = self.p
        node = self._bare(node)
        if isinstance(node, p.Call) and node.func.name == "absent":
            return self._absent(node)
        if not isinstance(node, p.BinaryExpr) or str(node.op) not in _COMPARISONS:
            raise Unsupported(
                node, "an alert expression must compare an expression with a number (>, >=, <, <=) or be absent(...)"
            )
        if node.modifier is not None and node.modifier.return_bool:
            raise Unsupported(node, "a comparison with bool returns every series: no alert condition")
        op = str(node.op)
        lhs, rhs = self._bare(node.lhs), self._bare(node.rhs)
        if isinstance(lhs, p.NumberLiteral) and not isinstance(rhs, p.NumberLiteral):
            lhs, rhs, op = rhs, lhs, _FLIPPED[op]
        if not isinstance(rhs, p.NumberLiteral):
            raise Unsupported(rhs, "the comparison must be with a number")
        threshold = float(rhs.val)
        if not math.isfinite(threshold):
            raise Unsupported(rhs, "the threshold must be a finite number")
        expr, scale = self.value(lhs)
        threshold /= scale
        direction: Direction = "above" if op in (">", ">=") else "below"
        if op in (">", "<="):
            # x > T is x >= the next float after T; x <= T is x < it: the same comparison
            threshold = math.nextafter(threshold, math.inf)
        return Condition(expr, direction, threshold)

    def value(self, node: Any) -> tuple[Expr, float]:
        """The expression, and what PromQL's value is ours times (``increase`` is a
        ``rate`` times its window)."""
        p = self.p
        node = self._bare(node)
        if isinstance(node, p.BinaryExpr) and str(node.op) == "/":
            return self._ratio(node), 1.0
        if isinstance(node, p.Call) and node.func.name == "histogram_quantile":
            return self._quantile(node), 1.0
        if isinstance(node, p.AggregateExpr):
            op, by, inner = self._aggregation(node)
            if isinstance(inner, p.Call) and inner.func.name in ("rate", "increase"):
                if op != "sum":
                    raise Unsupported(node, f"{op} of a rate: only sum by (...) adds rates up per group")
                selector, window = self._range(inner, ("value", "count", "sum"))
                return RateExpr(selector, window, by), window if inner.func.name == "increase" else 1.0
            if isinstance(inner, p.VectorSelector):
                selector = self._selector(inner, ("value", "count", "sum"), kinds=("gauge", "counter", "histogram"))
                return ValueExpr(selector, op, by), 1.0  # type: ignore[arg-type]
            raise Unsupported(inner, f"{op} of this expression: only of a selector or of rate/increase")
        if isinstance(node, p.VectorSelector):
            raise Unsupported(
                node, "a value per series: aggregate it (max by (<labels>) (...)); the engine alerts per group"
            )
        if isinstance(node, p.Call) and node.func.name in ("rate", "increase"):
            raise Unsupported(node, "a rate per series: aggregate it (sum by (<labels>) (...))")
        raise Unsupported(node, "not supported")

    def _aggregation(self, node: Any) -> tuple[str, tuple[str, ...], Any]:
        op = str(node.op)
        if op not in _REDUCERS:
            raise Unsupported(node, f"the aggregation {op} (supported: {', '.join(_REDUCERS)})")
        by: tuple[str, ...] = ()
        modifier = node.modifier
        if modifier is not None:
            if modifier.type == self.p.AggModifierType.Without:
                raise Unsupported(
                    f"without ({', '.join(modifier.labels)})",
                    "without: the engine groups by the labels listed; write by (...)",
                )
            by = tuple(modifier.labels)
        return op, by, self._bare(node.expr)

    def _ratio(self, node: Any) -> RatioExpr:
        p = self.p
        sides = []
        for side in (node.lhs, node.rhs):
            side = self._bare(side)
            if not isinstance(side, p.AggregateExpr):
                raise Unsupported(side, "each side of a ratio must be sum by (...) (rate(...[w])) or increase")
            op, by, inner = self._aggregation(side)
            if op != "sum" or not (isinstance(inner, p.Call) and inner.func.name in ("rate", "increase")):
                raise Unsupported(side, "each side of a ratio must be sum by (...) (rate(...[w])) or increase")
            selector, window = self._range(inner, ("value", "count", "sum"))
            sides.append((selector, window, by, inner.func.name))
        (num, num_window, num_by, num_fn), (den, den_window, den_by, den_fn) = sides
        if num_window != den_window or num_fn != den_fn:
            raise Unsupported(node, "a ratio reads both sides over one window with one function (rate or increase)")
        if set(num_by) != set(den_by):
            raise Unsupported(node, "both sides of a ratio must aggregate by the same labels")
        modifier = node.modifier
        matching = modifier.matching if modifier is not None else None
        on_by = matching is None or (
            matching.type == p.LabelModifierType.Include and set(matching.labels) == set(num_by)
        )
        if not on_by or (modifier is not None and str(modifier.card) != "VectorMatchCardinality.OneToOne"):
            raise Unsupported(node, "vector matching other than on the labels of by")
        return RatioExpr(num, den, num_window, 0.0, num_by)

    def _quantile(self, node: Any) -> Expr:
        p = self.p
        phi, inner = (self._bare(arg) for arg in node.args)
        if not isinstance(phi, p.NumberLiteral) or not 0 <= float(phi.val) <= 1:
            raise Unsupported(phi, "the quantile must be a number from 0 to 1")
        if not isinstance(inner, p.AggregateExpr):
            raise Unsupported(inner, "histogram_quantile needs sum by (le, ...) (rate(x_bucket[w]))")
        op, by, series = self._aggregation(inner)
        if op != "sum" or "le" not in by:
            raise Unsupported(inner, "histogram_quantile needs sum by (le, ...) of the buckets")
        by = tuple(label for label in by if label != "le")
        quantile = float(phi.val)
        if isinstance(series, p.Call) and series.func.name in ("rate", "increase"):
            selector, window = self._range(series, ("bucket",), quantile)
            return RateExpr(selector, window, by)
        if isinstance(series, p.VectorSelector):
            return ValueExpr(self._selector(series, ("bucket",), quantile=quantile), None, by)
        raise Unsupported(series, "histogram_quantile needs the buckets, or their rate or increase")

    def _range(self, call: Any, parts: tuple[str, ...], quantile: float | None = None) -> tuple[Selector, float]:
        matrix = self._bare(call.args[0])
        if not isinstance(matrix, self.p.MatrixSelector):
            raise Unsupported(matrix, f"{call.func.name} needs a range selector (x[5m])")
        window = matrix.range.total_seconds()
        selector = self._selector(matrix.vector_selector, parts, quantile, kinds=("counter", "histogram"))
        return selector, window

    def _absent(self, node: Any) -> Condition:
        inner = self._bare(node.args[0])
        if not isinstance(inner, self.p.VectorSelector):
            raise Unsupported(inner, "absent() of a selector only")
        selector = self._selector(inner, ("value",), kinds=("gauge",))
        # absent() returns 1 with the selector's equality matchers as labels
        labels = {key: values[0] for key, values in selector.match.items()}
        # fires at the first collection with no new point: its seconds since data are at
        # least one interval (10 ms or more); 1 ms keeps the threshold a PromQL duration
        return Condition(AbsentExpr(selector), "above", _ABSENT_AFTER, labels)

    def _selector(
        self,
        node: Any,
        parts: tuple[str, ...],
        quantile: float | None = None,
        kinds: tuple[str, ...] = ("counter", "histogram"),
    ) -> Selector:
        if node.offset is not None or node.at is not None:
            raise Unsupported(node, "offset and @ (the engine reads the present)")
        if node.matchers.or_matchers:
            raise Unsupported(node, "or in a selector")
        name, match, matchers = _read_matchers(node)
        if not name:
            raise Unsupported(node, "a selector without a metric name")
        exposed = self.resolve(name)
        kind_ok = exposed.kind in kinds or (exposed.kind == "histogram" and exposed.part in ("count", "sum"))
        if exposed.part not in parts or not kind_ok:
            raise Unsupported(node, _misuse(name, exposed, parts))
        field = {"value": "value", "count": "count", "sum": "sum", "bucket": "quantile"}[exposed.part]
        return Selector(
            exposed.metric,
            match,
            field,  # type: ignore[arg-type]
            quantile if field == "quantile" else None,
            tuple(matchers),
            prometheus_labels=True,
        )


def _read_matchers(node: Any) -> tuple[str | None, dict[str, tuple[str, ...]], list[tuple[str, MatchOp, str]]]:
    """A selector's metric name, its equality (and literal-alternative) matchers as our
    ``match`` lists them, and the other matchers as they are."""
    name = node.name
    match: dict[str, tuple[str, ...]] = {}
    matchers: list[tuple[str, MatchOp, str]] = []
    for matcher in node.matchers.matchers:
        op = _MATCH_OPS.get(str(matcher.op))
        if op is None:
            raise Unsupported(node, f"the matcher {matcher.op}")
        if matcher.name == "__name__":
            if op != "=" or name not in (None, matcher.value):
                raise Unsupported(node, "a metric name that is not one name")
            name = matcher.value
            continue
        if op in ("=~", "!~"):
            try:
                re.compile(matcher.value)
            except re.error as exc:
                raise Unsupported(node, f"the regular expression {matcher.value!r} ({exc})") from None
        alternatives = matcher.value.split("|")
        if op == "=" and matcher.value and matcher.name not in match:
            match[matcher.name] = (matcher.value,)
        elif (
            op == "=~" and matcher.name not in match and all(a and not (_REGEX_SPECIAL & set(a)) for a in alternatives)
        ):
            match[matcher.name] = tuple(alternatives)  # literal alternatives: as `match` lists them
        else:
            matchers.append((matcher.name, op, matcher.value))  # type: ignore[arg-type]
    return name, match, matchers


def _misuse(name: str, exposed: Exposed, parts: tuple[str, ...]) -> str:
    what = f"{name} is {exposed.metric} ({exposed.kind}" + (f", {exposed.part}" if exposed.kind == "histogram" else "")
    if parts == ("bucket",):
        return what + "): histogram_quantile needs a histogram's _bucket series"
    if exposed.part == "bucket":
        return what + "): a histogram's buckets are read by histogram_quantile only"
    if parts == ("value",):
        return what + "): absent() is supported for gauges (for a counter the engine counts from its last increase)"
    return what + "): rate and increase read counters (or a histogram's _count and _sum)"
