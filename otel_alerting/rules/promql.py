"""Rules as a Prometheus rule file: one alerting rule per severity level.

The expressions read the series as an OpenTelemetry Prometheus exporter exposes them
(``prometheus_names``), select by the rule's metric and ``match`` (plus the matchers the
caller adds), and aggregate by ``by`` as the rule's ``reduce`` says. Each level compares
that expression with its own threshold; Alertmanager's inhibition (``alertmanager_export``)
mutes the lower levels of an alert while a higher one fires, which gives the ladder.
Hysteresis (``recovery``) holds the lowest level through Prometheus's ``ALERTS`` series.
``ExportOptions.by`` (``job``, ``instance``) joins every aggregation, so a per-process
rule fires per process across a fleet.
What PromQL cannot express is listed in ``Export.notes``, one line per rule and field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .go_templates import TemplateFacts, to_go_template
from .model import AbsentExpr, RateExpr, RatioExpr, Rule, Selector, Severity, ValueExpr
from .prometheus_names import Kind, MetricInfo, NameOptions, label_name, metric_name

__all__ = [
    "Export",
    "ExportOptions",
    "alert_expression",
    "duration",
    "export_rules",
    "number",
    "render_rule_file",
    "series",
]

_REGEX_SPECIAL = frozenset("\\.+*?()|[]{}^$")
_AGGREGATIONS = {"sum", "max", "min", "avg", "count"}


@dataclass(frozen=True)
class ExportOptions:
    names: NameOptions = field(default_factory=NameOptions)
    #: matchers added to every selector, as PromQL writes them: ``job="api"``
    selector: str = ""
    group: str = "otel_alerting"
    #: Prometheus labels added to every aggregation's ``by`` (``job``, ``instance``), so a
    #: per-process rule keeps the processes of a fleet apart
    by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Export:
    document: dict[str, Any]
    notes: tuple[str, ...]


def export_rules(rules: Iterable[Rule], options: ExportOptions) -> Export:
    """The rule file (as data) and what could not be translated."""
    notes: list[str] = []
    alerting: list[dict[str, Any]] = []
    for rule in rules:
        notes.extend(f"{rule.alert}: {note}" for note in untranslated(rule))
        for severity, threshold in rule.thresholds:
            entry, template_notes = alerting_rule(rule, severity, threshold, options)
            alerting.append(entry)
            notes.extend(f"{rule.alert} ({severity.name.lower()}): {note}" for note in template_notes)
    document = {"groups": [{"name": options.group, "rules": alerting}]}
    return Export(document, tuple(dict.fromkeys(notes)))


def untranslated(rule: Rule) -> list[str]:
    """The rule's fields that the exported rules do not reproduce."""
    notes = []
    if rule.recovery is not None and isinstance(rule.expr, AbsentExpr):
        notes.append(f"recovery {rule.recovery:g}: an absence level resolves when new data arrives")
    if rule.no_data == "keep":
        notes.append("no_data: keep: Prometheus resolves an alert whose expression returns nothing (no_data: resolve)")
    if (
        isinstance(rule.expr, ValueExpr)
        and rule.expr.selector.field != "quantile"
        and rule.expr.reduce in (None, "last")
    ):
        notes.append("reduce: last has no PromQL aggregation: written as max (the same for a group of one series)")
    if isinstance(rule.expr, AbsentExpr):
        notes.append(
            "absent: seconds since a point while the series are within the 5m lookback, "
            "else absent_over_time for the whole selector (no per-group count past the lookback)"
        )
    return notes


def alerting_rule(
    rule: Rule, severity: Severity, threshold: float, options: ExportOptions
) -> tuple[dict[str, Any], list[str]]:
    expr = alert_expression(rule, threshold, options)
    entry: dict[str, Any] = {"alert": rule.alert, "expr": expr}
    if rule.for_:
        entry["for"] = duration(rule.for_)
    if rule.keep_firing_for:
        entry["keep_firing_for"] = duration(rule.keep_firing_for)
    entry["labels"] = {**{label_name(k): v for k, v in rule.labels.items()}, "severity": severity.name.lower()}
    notes: list[str] = []
    if rule.annotations:
        facts = TemplateFacts(
            rule.alert,
            severity.name,
            threshold,
            duration(rule.for_) if rule.for_ else "0s",
            duration(rule.expr.window) if isinstance(rule.expr, RateExpr | RatioExpr) else "",
            value_expression(rule.expr, options),
        )
        annotations = {}
        for key, template in rule.annotations.items():
            annotations[key], template_notes = to_go_template(template, facts)
            notes.extend(f"annotation {key}: {note}" for note in template_notes)
        entry["annotations"] = annotations
    return entry, notes


def alert_expression(rule: Rule, threshold: float, options: ExportOptions) -> str:
    """The condition of one level: the rule's value compared with ``threshold``."""
    op = ">=" if rule.direction == "above" else "<"
    if isinstance(rule.expr, AbsentExpr) and rule.direction == "above":
        return _absent_level(rule.expr, threshold, options)
    value = _paren(value_expression(rule.expr, options))
    condition = f"{value} {op} {number(threshold)}"
    lowest = rule.thresholds[0][1]
    if rule.recovery is None or threshold != lowest or rule.recovery == lowest:
        return condition
    # Hysteresis, as the engine keeps it: while the alert fires (at any level, the
    # previous evaluation's ALERTS series), the lowest level holds until the value is
    # back past ``recovery``. The lowest level fires whenever a higher one does, so
    # "any level" is the same as the engine's "the alert fires".
    on = ", ".join(_by_labels(rule.expr.by, options))
    firing = f'ALERTS{{alertname={_quoted(rule.alert)}, alertstate="firing"}}'
    held = f"{value} {op} {number(rule.recovery)} and on({on}) {firing}"
    return f"{condition} or ({held})"


def value_expression(expr: ValueExpr | RateExpr | RatioExpr | AbsentExpr, options: ExportOptions) -> str:
    """The PromQL of the rule's value, one sample per ``by`` group."""
    if isinstance(expr, ValueExpr):
        return _value(expr, options)
    if isinstance(expr, RateExpr):
        return _rate(expr, options)
    if isinstance(expr, RatioExpr):
        return _ratio(expr, options)
    return _seconds_since(expr, options)


def _value(expr: ValueExpr, options: ExportOptions) -> str:
    if expr.selector.field == "quantile":
        return _quantile(expr.selector, expr.by, None, options)
    op = expr.reduce if expr.reduce in _AGGREGATIONS else "max"
    return _aggregate(str(op), expr.by, series(expr.selector, options, "gauge"), options)


def _rate(expr: RateExpr, options: ExportOptions) -> str:
    if expr.selector.field == "quantile":
        return _quantile(expr.selector, expr.by, expr.window, options)
    return _aggregate(
        "sum", expr.by, f"rate({series(expr.selector, options, 'counter')}[{duration(expr.window)}])", options
    )


def _ratio(expr: RatioExpr, options: ExportOptions) -> str:
    window = duration(expr.window)
    numerator = _aggregate("sum", expr.by, f"increase({series(expr.numerator, options, 'counter')}[{window}])", options)
    denominator = _aggregate(
        "sum", expr.by, f"increase({series(expr.denominator, options, 'counter')}[{window}])", options
    )
    # no data below min_denominator (and for a denominator that did not increase)
    floor = f">= {number(expr.min_denominator)}" if expr.min_denominator > 0 else "> 0"
    on = ", ".join(_by_labels(expr.by, options))
    return f"({numerator} / {denominator}) and on({on}) ({denominator} {floor})"


def _absent_selector(selector: Selector, options: ExportOptions) -> Selector:
    """A histogram's new data shows in its ``_count`` series (it has no series of its
    own name)."""
    if selector.field == "value" and options.names.info(selector.metric, "gauge").kind == "histogram":
        return replace(selector, field="count")
    return selector


def _seconds_since(expr: AbsentExpr, options: ExportOptions) -> str:
    name = series(_absent_selector(expr.selector, options), options, "gauge")
    return f"time() - {_aggregate('max', expr.by, f'timestamp({name})', options)}"


def _absent_level(expr: AbsentExpr, threshold: float, options: ExportOptions) -> str:
    name = series(_absent_selector(expr.selector, options), options, "gauge")
    window = duration(threshold)
    info = options.names.info(expr.selector.metric, "gauge")
    if info.kind == "gauge" and expr.selector.field == "value":
        recent = f"({_seconds_since(expr, options)}) >= {number(threshold)}"
    else:  # new data of a counter or histogram is an increase
        # ... over a window the series covers: a series younger than the window has not
        # been without new data that long (the engine counts from its start)
        unchanged = _aggregate("sum", expr.by, f"changes({name}[{window}])", options)
        existed = _aggregate("count", expr.by, f"{name} offset {window}", options)
        on = ", ".join(_by_labels(expr.by, options))
        recent = f"{unchanged} == 0 and on({on}) {existed}"
    return f"({recent}) or absent_over_time({name}[{window}])"


def _quantile(selector: Selector, by: Sequence[str], window: float | None, options: ExportOptions) -> str:
    buckets = series(selector, options, "histogram")
    if window is not None:
        buckets = f"rate({buckets}[{duration(window)}])"
    grouped = _aggregate("sum", ("le", *by), buckets, options)
    return f"histogram_quantile({number(selector.quantile or 0.0)}, {grouped})"


def _by_labels(by: Sequence[str], options: ExportOptions) -> list[str]:
    """The rule's ``by`` as label names, then the export's ``by`` labels not among them."""
    labels = [b if b == "le" else label_name(b) for b in by]
    return [*labels, *(b for b in options.by if b not in labels)]


def _aggregate(op: str, by: Sequence[str], inner: str, options: ExportOptions) -> str:
    labels = _by_labels(by, options)
    if not labels:
        return f"{op}({inner})"
    return f"{op} by ({', '.join(labels)}) ({inner})"


def series(selector: Selector, options: ExportOptions, guess: Kind) -> str:
    """The selector of the exposed series: name, ``match`` and the extra matchers."""
    histogram = selector.field in ("count", "sum", "quantile")
    info = options.names.info(selector.metric, "histogram" if histogram else guess)
    if histogram and info.kind != "histogram":
        info = MetricInfo("histogram", info.unit)
    name = metric_name(selector.metric, info, options.names)
    if histogram:
        name += {"count": "_count", "sum": "_sum", "quantile": "_bucket"}[selector.field]
    matchers = [_matcher(key, values) for key, values in sorted(selector.match.items())]
    matchers.extend(f"{label_name(key)}{op}{_quoted(value)}" for key, op, value in selector.matchers)
    if options.selector:
        matchers.append(options.selector)
    return f"{name}{{{', '.join(matchers)}}}" if matchers else name


def _matcher(key: str, values: tuple[str, ...]) -> str:
    if len(values) == 1:
        return f"{label_name(key)}={_quoted(values[0])}"
    pattern = "|".join("".join("\\" + c if c in _REGEX_SPECIAL else c for c in v) for v in values)
    return f"{label_name(key)}=~{_quoted(pattern)}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _paren(expr: str) -> str:
    return f"({expr})" if " and " in expr or expr.startswith("time()") else expr


def number(value: float) -> str:
    """A PromQL number literal, without a float's ``.0``."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def duration(seconds: float) -> str:
    """A PromQL duration: the largest of ``h``, ``m``, ``s``, ``ms`` that is exact."""
    millis = round(seconds * 1000)
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if millis and millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{millis}ms"


def render_rule_file(export: Export, header: Sequence[str] = ()) -> str:
    """The rule file as YAML, the notes first as comments."""
    import yaml  # only the export needs a YAML writer

    lines = [f"# {line}" for line in header]
    if export.notes:
        lines.append("# Not translated (otel-alerting evaluates these differently):")
        lines.extend(f"#   {note}" for note in export.notes)
    body = yaml.safe_dump(export.document, sort_keys=False, allow_unicode=True, width=10_000)
    return "\n".join([*lines, body]) if lines else body
