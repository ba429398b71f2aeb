"""A Prometheus rule file (``groups:`` of alerting rules) as our rules.

Each alerting rule is parsed (``promql_import``), its ``severity`` label mapped onto a
severity by the table of ``OTEL_PYTHON_ALERTING_PROMETHEUS_SEVERITIES``, its annotations
translated (``prometheus_templates``). Rules with one ``alert`` name form one rule whose
ladder holds each one's threshold at its severity: they must read the same expression
and agree on everything else. Prometheus resolves an alert whose expression returns
nothing, so an imported rule has ``no_data: resolve``.

Every problem is a located error (file, line, rule, field; for an expression, the
expression and the part that has no equivalent), and the rule is left out: a recording
rule, a construct with no exact equivalent, an unknown severity, an unknown metric name.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import environment_variables as ev
from ..config import PrometheusImportSettings
from ..durations import parse_duration
from ..errors import ConfigError
from .located import item_line, line_of
from .model import Direction, Rule, Severity
from .prometheus_names import Exposed, MetricInfo, exposed_names
from .prometheus_templates import TemplateImportError, from_go_template
from .promql_import import Condition, Unsupported, parse_condition
from .template import TemplateError, validate

__all__ = ["Invalid", "parse_prometheus_rules"]

_GROUP_KEYS = ("name", "interval", "rules")
_RULE_KEYS = ("alert", "expr", "for", "keep_firing_for", "labels", "annotations")


@dataclass(frozen=True)
class _Level:
    """One alerting rule of the file: one level of a ladder."""

    where: str
    line: int | None
    alert: str
    severity: Severity
    condition: Condition
    for_: float
    keep_firing_for: float
    labels: Mapping[str, str]
    annotations: Mapping[str, str]


class Invalid(ValueError):
    """A value refused, with the field and the line to name."""

    def __init__(self, field: str, message: str, node: Any = None, key: str | None = None):
        super().__init__(message)
        self.field = field
        self.line = line_of(node, key)


def parse_prometheus_rules(
    document: Any, source: str, settings: PrometheusImportSettings | None = None
) -> tuple[tuple[Rule, ...], tuple[ConfigError, ...]]:
    """The rules of the file, and its errors (the loader makes them a ``RulesFile``)."""
    try:
        import promql_parser  # noqa: F401 - its absence is the file's error, not a crash
    except ImportError:
        missing = "a Prometheus rule file needs the promql-parser package: pip install 'otel-alerting[prometheus]'"
        return (), (ConfigError(source, missing, line_of(document, "groups")),)
    settings = settings or PrometheusImportSettings()
    importer = _Importer(source, settings)
    groups = document.get("groups")
    for key in document:
        if key != "groups":
            importer.error("a Prometheus rule file holds only groups", line_of(document, key), key)
    if not isinstance(groups, list):
        importer.error("must be a list of rule groups", line_of(document, "groups"), "groups")
        groups = []
    for index, group in enumerate(groups):
        importer.group(group, f"groups[{index}]", item_line(groups, index))
    rules = importer.ladders()
    return rules, tuple(importer.errors)


class _Importer:
    def __init__(self, source: str, settings: PrometheusImportSettings) -> None:
        self.source = source
        self.severities = settings.severities
        declared = {name: MetricInfo(kind, unit) for name, kind, unit in settings.metrics}  # type: ignore[arg-type]
        self.names = exposed_names(declared)
        self.errors: list[ConfigError] = []
        self.levels: list[_Level] = []

    def error(self, message: str, line: int | None, where: str) -> None:
        self.errors.append(ConfigError(self.source, message, line, where))

    def group(self, group: Any, where: str, line: int | None) -> None:
        if not isinstance(group, Mapping):
            self.error("each group must be a mapping with name and rules", line, where)
            return
        for key in group:
            if key not in _GROUP_KEYS:
                supported = f"not supported (a group has {', '.join(_GROUP_KEYS)})"
                self.error(supported, line_of(group, key), f"{where}.{key}")
        rules = group.get("rules") or []
        if not isinstance(rules, list):
            self.error("must be a list", line_of(group, "rules"), f"{where}.rules")
            return
        for index, raw in enumerate(rules):
            self.rule(raw, f"{where}.rules[{index}]", item_line(rules, index))

    def rule(self, raw: Any, where: str, line: int | None) -> None:
        if not isinstance(raw, Mapping):
            self.error("each rule must be a mapping", line, where)
            return
        line = line_of(raw) or line
        if "record" in raw:
            self.error(
                "recording rules are not supported (the engine evaluates alerts only): "
                "write the alerts that read it with its expression",
                line_of(raw, "record"),
                f"{where} ({raw.get('record')}).record",
            )
            return
        alert = raw.get("alert")
        if not isinstance(alert, str) or not alert:
            self.error("required: the alert's name", line, f"{where}.alert")
            return
        where = f"{where} ({alert})"
        before = len(self.errors)
        for key in raw:
            if key not in _RULE_KEYS:
                self.error(f"unknown field (expected {', '.join(_RULE_KEYS)})", line_of(raw, key), f"{where}.{key}")
        try:
            level = self._level(raw, where, line, alert)
        except Invalid as exc:
            self.error(str(exc), exc.line, f"{where}.{exc.field}")
            return
        if len(self.errors) == before:
            self.levels.append(level)

    def _level(self, raw: Mapping[str, Any], where: str, line: int | None, alert: str) -> _Level:
        labels = _strings(raw.get("labels"), "labels", raw)
        severity = self._severity(labels.pop("severity", None), raw)
        for key, value in labels.items():
            if "{{" in value:
                raise Invalid(f"labels.{key}", "templates in labels are not supported", raw.get("labels"), key)
        expr = raw.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            raise Invalid("expr", "required: the PromQL expression", raw, "expr")
        try:
            condition = parse_condition(expr, self._resolve)
        except Unsupported as exc:
            part = "" if exc.part.strip() == expr.strip() else f" (in {exc.part})"
            raise Invalid("expr", f"{expr.strip()!r}: {exc}{part}", raw, "expr") from None
        annotations = {}
        for key, template in _strings(raw.get("annotations"), "annotations", raw).items():
            try:
                annotations[key] = from_go_template(template)
                validate(annotations[key])
            except (TemplateImportError, TemplateError) as exc:
                action = f": {exc.action}" if isinstance(exc, TemplateImportError) else ""
                raise Invalid(f"annotations.{key}", f"{exc}{action}", raw.get("annotations"), key) from None
        return _Level(
            where,
            line,
            alert,
            severity,
            condition,
            _duration(raw, "for"),
            _duration(raw, "keep_firing_for"),
            {**labels, **condition.labels},
            annotations,
        )

    def _severity(self, label: str | None, raw: Mapping[str, Any]) -> Severity:
        table = ", ".join(f"{k}={v}" for k, v in sorted(self.severities.items()))
        variable = ev.OTEL_PYTHON_ALERTING_PROMETHEUS_SEVERITIES
        if label is None:
            raise Invalid("labels.severity", f"required: a severity label ({table}; see {variable})", raw, "labels")
        level = self.severities.get(label.strip().lower())
        if level is None:
            raise Invalid(
                "labels.severity",
                f"unknown severity {label!r} (known: {table}; add it to {variable})",
                raw.get("labels"),
                "severity",
            )
        return Severity.parse(level)

    def _resolve(self, name: str) -> Exposed:
        found = self.names.get(name, ())
        variable = ev.OTEL_PYTHON_ALERTING_PROMETHEUS_METRICS
        if len(found) == 1:
            return found[0]
        if not found:
            raise Unsupported(
                name,
                f"no known OpenTelemetry metric is exposed as {name}: declare the metric "
                f"({variable}=app.queue.depth=gauge, NAME=KIND[:UNIT]) or write the rule in "
                "otel-alerting's format (metric: <the OpenTelemetry name>)",
            )
        metrics = " or ".join(sorted({f"{e.metric} ({e.kind})" for e in found}))
        raise Unsupported(
            name,
            f"{name} may be {metrics}: write the rule in otel-alerting's format, naming the metric "
            f"(metric: <the OpenTelemetry name>), or declare only the one meant in {variable}",
        )

    def ladders(self) -> tuple[Rule, ...]:
        """The levels of each alert name as one rule."""
        by_alert: dict[str, list[_Level]] = {}
        for level in self.levels:
            by_alert.setdefault(level.alert, []).append(level)
        rules = []
        for levels in by_alert.values():
            rule = self._ladder(levels)
            if rule is not None:
                rules.append(rule)
        return tuple(rules)

    def _ladder(self, levels: list[_Level]) -> Rule | None:
        first = levels[0]
        for level in levels[1:]:
            for what, mine, theirs in (
                ("expression", level.condition.expr, first.condition.expr),
                ("comparison", level.condition.direction, first.condition.direction),
                ("for", level.for_, first.for_),
                ("keep_firing_for", level.keep_firing_for, first.keep_firing_for),
                ("labels other than severity", level.labels, first.labels),
                ("annotations", level.annotations, first.annotations),
            ):
                if mine != theirs:
                    self.error(
                        f"the rules named {level.alert} form one ladder of severities, so they need the "
                        f"same {what} as the first (line {first.line}); give it another name, or write it "
                        "in otel-alerting's format",
                        level.line,
                        level.where,
                    )
                    return None
        thresholds = {level.severity: level.condition.threshold for level in levels}
        if len(thresholds) < len(levels):
            severities = [level.severity.name.lower() for level in levels]
            message = f"two rules of one ladder map onto one severity: {severities}"
            self.error(message, levels[-1].line, levels[-1].where)
            return None
        ladder = tuple(sorted(thresholds.items()))
        problem = _unordered(first.condition.direction, ladder)
        if problem:
            self.error(f"the ladder of {first.alert}: {problem}", levels[-1].line, levels[-1].where)
            return None
        return Rule(
            alert=first.alert,
            expr=first.condition.expr,
            direction=first.condition.direction,
            thresholds=ladder,
            for_=first.for_,
            keep_firing_for=first.keep_firing_for,
            no_data="resolve",
            labels=first.labels,
            annotations=first.annotations,
            source=f"{self.source}:{first.line}" if first.line else self.source,
        )


def _unordered(direction: Direction, ladder: tuple[tuple[Severity, float], ...]) -> str | None:
    """Why the thresholds are not a ladder (a higher severity needs a value further past
    the threshold, as the loader's ``parse_ladder`` requires), or None."""
    for (low, low_value), (high, high_value) in itertools.pairwise(ladder):
        if not (high_value > low_value if direction == "above" else high_value < low_value):
            relation = "above" if direction == "above" else "below"
            return f"{high.name.lower()} ({high_value:g}) must be {relation} {low.name.lower()} ({low_value:g})"
    return None


def _strings(value: Any, name: str, node: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Invalid(name, "must be a mapping of names to strings", node, name)
    out = {}
    for key, item in value.items():
        if isinstance(item, (Mapping, list)):
            raise Invalid(f"{name}.{key}", "must be a string", value, key)
        out[str(key)] = "" if item is None else str(item)
    return out


def _duration(raw: Mapping[str, Any], key: str) -> float:
    value = raw.get(key)
    if value is None:
        return 0.0
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise Invalid(key, str(exc), raw, key) from None
