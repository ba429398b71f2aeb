"""Load rules from YAML or JSON (environment overrides: ``overrides``).

Every error names the file, the line and the field, so a user can fix it in one go:
loading collects all errors instead of stopping at the first.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import PrometheusImportSettings
from ..durations import parse_duration
from ..errors import ConfigError
from .located import line_of
from .model import (
    AbsentExpr,
    Expr,
    RateExpr,
    RatioExpr,
    Rule,
    Selector,
    Severity,
    ValueExpr,
)
from .source_file import Unreadable, read_text
from .template import TemplateError, validate
from .yaml_loader import DocumentProblems, load_yaml
from .yaml_loader import LineList as _LineList

__all__ = [
    "Invalid",
    "Refused",
    "RuleError",
    "RulesFile",
    "check_recovery",
    "load_rules_file",
    "load_yaml",
    "parse_ladder",
    "parse_no_data",
    "parse_rules",
]

_ALERT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RULE_KEYS = {
    "alert",
    "expr",
    "above",
    "below",
    "for",
    "keep_firing_for",
    "recovery",
    "labels",
    "annotations",
    "no_data",
    "enabled",
}
#: what a rules file may hold beside its rules: Alertmanager's sections of the same name
_TOP_LEVEL_KEYS = ("rules", "route", "inhibit_rules", "receivers")
_EXPR_KINDS = ("value", "rate", "ratio", "absent")
_REDUCERS = ("last", "sum", "max", "min", "avg")


#: one problem in a rules file or an override, located for the user: the package's one
#: configuration error type
RuleError = ConfigError


@dataclass(frozen=True)
class RulesFile:
    """What one file held: its rules, the names it disabled, and the rest of the
    document (route, inhibit_rules, channels) for the notification layer."""

    rules: tuple[Rule, ...] = ()
    disabled: frozenset[str] = frozenset()
    extra: Mapping[str, Any] = field(default_factory=dict)
    errors: tuple[RuleError, ...] = ()
    #: the line of each section of ``extra`` (for errors in them)
    extra_lines: Mapping[str, int] = field(default_factory=dict)


def load_rules_file(path: str | os.PathLike[str], *, prometheus: PrometheusImportSettings | None = None) -> RulesFile:
    """Read a YAML or JSON rules file (JSON is YAML, so one parser reads both). Whatever
    the file holds, the result is its rules or its located errors: this never raises."""
    source = str(path)
    try:
        document = load_yaml(read_text(path))
    except Unreadable as exc:
        return RulesFile(errors=(RuleError(source, str(exc), exc.line),))
    except DocumentProblems as exc:
        return RulesFile(errors=tuple(RuleError(source, message, line) for line, message in exc.problems))
    try:
        return parse_rules(document, source, prometheus=prometheus)
    except Exception as exc:  # a bug here must cost this file, not every rule of the host
        return RulesFile(
            errors=(RuleError(source, f"cannot load (an error in otel-alerting, please report it: {exc!r:.200})"),)
        )


def parse_rules(
    document: Any, source: str = "<rules>", *, prometheus: PrometheusImportSettings | None = None
) -> RulesFile:
    """Our rules file, or a Prometheus rule file (``groups:``; ``prometheus_import``,
    imported only then, with ``prometheus``: its severity table and declared metrics)."""
    errors: list[RuleError] = []
    if document is None:
        return RulesFile()
    if isinstance(document, Mapping) and "groups" in document and "rules" not in document:
        from .prometheus_import import parse_prometheus_rules

        imported, problems = parse_prometheus_rules(document, source, prometheus)
        return RulesFile(imported, errors=problems)
    if not isinstance(document, Mapping):
        return RulesFile(errors=(RuleError(source, "the top level must be a mapping with a 'rules' list"),))
    raw_rules = document.get("rules", [])
    if not isinstance(raw_rules, list):
        errors.append(RuleError(source, "must be a list", _line(document, "rules"), "rules"))
        raw_rules = []
    rules, disabled = _parse_rule_list(raw_rules, source, errors)
    errors.extend(
        RuleError(source, f"unknown top-level key (expected {', '.join(_TOP_LEVEL_KEYS)})", _line(document, key), key)
        for key in document
        if key not in _TOP_LEVEL_KEYS
    )
    extra = {k: v for k, v in document.items() if k in _TOP_LEVEL_KEYS and k != "rules"}
    lines = {k: line for k in extra if (line := _line(document, k)) is not None}
    return RulesFile(tuple(rules), frozenset(disabled), extra, tuple(errors), lines)


def _parse_rule_list(raw_rules: list[Any], source: str, errors: list[RuleError]) -> tuple[list[Rule], set[str]]:
    """The rules of the ``rules`` list, and the names it turns off; problems go to ``errors``."""
    rules: list[Rule] = []
    disabled: set[str] = set()
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_rules):
        rule_errors: list[RuleError] = []
        item_line = raw_rules.item_lines[index] if isinstance(raw_rules, _LineList) else None
        if _is_bare_disable(raw):
            # `{alert: X, enabled: false}` turns off a rule defined elsewhere (the
            # built-in pack, an earlier file) without repeating its definition.
            disabled.add(raw["alert"])
            continue
        rule = _parse_rule(raw, index, source, rule_errors, item_line)
        errors.extend(rule_errors)
        if rule is None:
            continue
        if rule.alert in seen:
            errors.append(
                RuleError(
                    source,
                    f"duplicate alert name (first at rule #{seen[rule.alert] + 1})",
                    _line(raw, "alert"),
                    f"rules[{index}] ({rule.alert}).alert",
                )
            )
            continue
        seen[rule.alert] = index
        if isinstance(raw, Mapping) and raw.get("enabled") is False:
            disabled.add(rule.alert)
        else:
            rules.append(rule)
    return rules, disabled


def _line(node: Any, key: str | None = None) -> int | None:
    return line_of(node, key)


class Refused(ValueError):
    """A value refused; ``str()`` says why. An override raises it bare: its variable
    names the rule and the field."""


class Invalid(Refused):
    """A value a rules file cannot hold, with the field and the line to name."""

    def __init__(self, field: str, message: str, node: Any = None, key: str | None = None):
        super().__init__(message)
        self.field = field
        self.line = _line(node, key)


def _is_bare_disable(raw: Any) -> bool:
    return (
        isinstance(raw, Mapping)
        and set(raw) == {"alert", "enabled"}
        and raw["enabled"] is False
        and isinstance(raw["alert"], str)
        and bool(_ALERT_NAME.match(raw["alert"]))
    )


def _parse_rule(
    raw: Any, index: int, source: str, errors: list[RuleError], item_line: int | None = None
) -> Rule | None:
    name = raw.get("alert") if isinstance(raw, Mapping) else None
    prefix = f"rules[{index}]" + (f" ({name})" if isinstance(name, str) else "")
    if not isinstance(raw, Mapping):
        errors.append(RuleError(source, "each rule must be a mapping", item_line, prefix))
        return None

    errors_before = len(errors)

    def fail(exc: Invalid) -> None:
        errors.append(RuleError(source, str(exc), exc.line, f"{prefix}.{exc.field}"))

    for key in raw:
        if key not in _RULE_KEYS:
            fail(
                Invalid(
                    key,
                    f"unknown field (expected one of {', '.join(sorted(_RULE_KEYS))})",
                    raw,
                    key,
                )
            )
    checks: dict[str, Any] = {}
    for key, parser in (
        ("alert", _alert_name),
        ("expr", _expr),
        ("for", lambda v, n: _duration("for", v, n)),
        ("keep_firing_for", lambda v, n: _duration("keep_firing_for", v, n)),
        ("recovery", lambda v, n: None if v is None else _number("recovery", v, n)),
        ("labels", lambda v, n: _string_map("labels", v, n)),
        ("annotations", _annotations),
        ("no_data", parse_no_data),
        ("enabled", _enabled),
    ):
        try:
            checks[key] = parser(raw.get(key), raw)
        except Invalid as exc:
            fail(exc)
    try:
        direction, thresholds = _thresholds(raw)
    except Invalid as exc:
        fail(exc)
        return None
    # Any error leaves the rule out, an unknown field included: a typo such as
    # `keep_firng_for` must not leave the rule running without what the user meant.
    if len(checks) < 9 or len(errors) > errors_before:
        return None
    rule = Rule(
        alert=checks["alert"],
        expr=checks["expr"],
        direction=direction,  # type: ignore[arg-type]
        thresholds=thresholds,
        for_=checks["for"],
        keep_firing_for=checks["keep_firing_for"],
        recovery=checks["recovery"],
        no_data=checks["no_data"],
        labels=checks["labels"],
        annotations=checks["annotations"],
        source=f"{source}:{_line(raw)}" if _line(raw) else source,
    )
    try:
        check_recovery(rule, raw)
    except Invalid as exc:
        fail(exc)
        return None
    return rule


def _alert_name(value: Any, node: Any) -> str:
    if not isinstance(value, str) or not _ALERT_NAME.match(value):
        raise Invalid("alert", "required: a name of letters, digits and underscores", node, "alert")
    return value


def _enabled(value: Any, node: Any) -> None:
    """Checked only: ``parse_rules`` reads ``enabled: false`` (a rule that is not loaded)."""
    if value is not None and not isinstance(value, bool):
        raise Invalid("enabled", "must be true or false", node, "enabled")


def _duration(name: str, value: Any, node: Any, key: str | None = None) -> float:
    if value is None:
        return 0.0
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise Invalid(name, str(exc), node, key or name) from None


def _number(name: str, value: Any, node: Any) -> float:
    """The number at field ``name`` (``above.high``), whose last part is its key in ``node``."""
    key = name.rpartition(".")[2]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(name, f"must be a number, not {value!r:.60}", node, key)
    if isinstance(value, int) and abs(value) >= 2**1000:  # too large for a float
        raise Invalid(name, "must be a finite number", node, key)
    if not math.isfinite(value):
        raise Invalid(name, "must be a finite number", node, key)
    return float(value)


def _string_map(name: str, value: Any, node: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Invalid(name, "must be a mapping of names to strings", node, name)
    out = {}
    texts = getattr(value, "texts", {})  # a number as written: 1.10, not 1.1
    for key, item in value.items():
        if isinstance(item, (Mapping, list)):
            raise Invalid(f"{name}.{key}", "must be a string", value, key)
        if isinstance(item, bool):
            # str(True) is "True", what neither the user nor Prometheus writes
            shown = "true" if item else "false"
            raise Invalid(
                f"{name}.{key}", f"must be a string, not the boolean {shown}: quote it ('{shown}')", value, key
            )
        out[str(key)] = "" if item is None else texts.get(key, str(item))
    return out


def _annotations(value: Any, node: Any) -> dict[str, str]:
    annotations = _string_map("annotations", value, node)
    for key, template in annotations.items():
        try:
            validate(template)
        except TemplateError as exc:
            raise Invalid(f"annotations.{key}", str(exc), value, key) from None
    return annotations


def parse_no_data(value: Any, node: Any) -> str:
    if value is None:
        return "keep"
    if value not in ("keep", "resolve"):
        raise Invalid("no_data", f"must be 'keep' or 'resolve', not {value!r}", node, "no_data")
    return str(value)


def _thresholds(raw: Mapping[str, Any]) -> tuple[str, tuple[tuple[Severity, float], ...]]:
    present = [key for key in ("above", "below") if raw.get(key) is not None]
    if len(present) != 1:
        raise Invalid("above", "exactly one of 'above' or 'below' is required", raw)
    direction = present[0]
    return direction, parse_ladder(direction, raw[direction], raw)


def parse_ladder(direction: str, value: Any, node: Any = None) -> tuple[tuple[Severity, float], ...]:
    """``{medium: 100, high: 500}`` (or a bare number, meaning one HIGH level)
    into levels ordered by severity, checked to be strictly monotonic."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return ((Severity.HIGH, _number(direction, value, node)),)
    if not isinstance(value, Mapping) or not value:
        raise Invalid(
            direction,
            "must map severities (low, medium, high, critical) to numbers",
            node,
            direction,
        )
    levels: list[tuple[Severity, float]] = []
    for key, threshold in value.items():
        try:
            severity = Severity.parse(str(key))
        except ValueError as exc:
            raise Invalid(f"{direction}.{key}", str(exc), value, key) from None
        if any(severity is known for known, _ in levels):
            raise Invalid(f"{direction}.{key}", f"{severity.name.lower()} is given twice", value, key)
        levels.append((severity, _number(f"{direction}.{key}", threshold, value)))
    levels.sort()  # by severity: each is there once
    # Strictly: a level whose threshold equals the one below it would start and stop
    # with it, so the lower one could never be the severity the alert fires at.
    for (low_sev, low), (high_sev, high) in itertools.pairwise(levels):
        ordered = high > low if direction == "above" else high < low
        if not ordered:
            relation = "above" if direction == "above" else "below"
            raise Invalid(
                direction,
                f"{high_sev.name.lower()} ({high:g}) must be {relation} {low_sev.name.lower()} ({low:g})",
                node,
                direction,
            )
    return tuple(levels)


def check_recovery(rule: Rule, raw: Any) -> None:
    if rule.recovery is None:
        return
    lowest = rule.thresholds[0][1]
    ok = rule.recovery <= lowest if rule.direction == "above" else rule.recovery >= lowest
    if not ok:
        side = "at or below" if rule.direction == "above" else "at or above"
        raise Invalid("recovery", f"must be {side} the lowest threshold ({lowest:g})", raw, "recovery")


def _expr(value: Any, node: Any) -> Expr:
    if not isinstance(value, Mapping):
        raise Invalid(
            "expr",
            f"required: a mapping with exactly one of {', '.join(_EXPR_KINDS)}",
            node,
            "expr",
        )
    kind = _expr_kind(value)
    by = _by(value.get("by"), value)
    body = value[kind]
    if kind in ("value", "absent"):
        if value.get("window") is not None:
            raise Invalid("expr.window", f"not used by {kind}", value, "window")
        if kind == "value":
            return _value_expr(body, by, value)
        return AbsentExpr(_selector("expr.absent", body, node=value), by)
    window = _window(kind, value)
    if kind == "rate":
        return RateExpr(_selector("expr.rate", body, node=value), window, by)
    return _ratio_expr(value, body, window, by)


def _expr_kind(value: Mapping[str, Any]) -> str:
    """The one kind of expression ``value`` holds, checked to hold nothing unknown beside."""
    kinds = [kind for kind in _EXPR_KINDS if kind in value]
    if len(kinds) != 1:
        raise Invalid("expr", f"needs exactly one of {', '.join(_EXPR_KINDS)}, found {len(kinds)}", value)
    kind = kinds[0]
    for key in value:
        if key not in (kind, "by", "window"):
            raise Invalid(f"expr.{key}", f"unknown field (expected {kind}, by, window)", value, key)
    return kind


def _window(kind: str, value: Mapping[str, Any]) -> float:
    """The window of a rate or a ratio: required, positive."""
    window_raw = value.get("window")
    if window_raw is None:
        raise Invalid("expr.window", f"required for {kind}", value)
    window = _duration("expr.window", window_raw, value, "window")
    if window <= 0:
        raise Invalid("expr.window", "must be positive", value, "window")
    return window


def _value_expr(body: Any, by: tuple[str, ...], node: Any) -> ValueExpr:
    reduce = body.get("reduce") if isinstance(body, Mapping) else None
    if reduce is not None and reduce not in _REDUCERS:
        raise Invalid("expr.value.reduce", f"must be one of {', '.join(_REDUCERS)}", body, "reduce")
    return ValueExpr(_selector("expr.value", body, extra=("reduce",), node=node), reduce, by)


def _ratio_expr(value: Mapping[str, Any], body: Any, window: float, by: tuple[str, ...]) -> RatioExpr:
    if not isinstance(body, Mapping):
        raise Invalid("expr.ratio", "must have numerator and denominator", value, "ratio")
    for key in body:
        if key not in ("numerator", "denominator", "min_denominator"):
            raise Invalid(f"expr.ratio.{key}", "unknown field", body, key)
    min_den = _number("expr.ratio.min_denominator", body.get("min_denominator", 0), body)
    if min_den < 0:
        raise Invalid("expr.ratio.min_denominator", "must be non-negative", body, "min_denominator")
    numerator, denominator = (_ratio_part(body, role) for role in ("numerator", "denominator"))
    return RatioExpr(numerator, denominator, window, min_den, by)


def _ratio_part(body: Mapping[str, Any], role: str) -> Selector:
    selector = _selector(f"expr.ratio.{role}", body.get(role), node=body)
    # A ratio divides increases of numbers; a quantile only failed at evaluation.
    if selector.field == "quantile":
        raise Invalid(
            f"expr.ratio.{role}.quantile",
            "a ratio reads numbers (field value, count or sum), not a quantile",
            body.get(role),
            "quantile",
        )
    return selector


def _by(value: Any, node: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid("expr.by", "must be a list of attribute names", node, "by")
    return tuple(value)


def _selector(name: str, body: Any, extra: Iterable[str] = (), node: Any = None) -> Selector:
    if not isinstance(body, Mapping):  # `value: m`: the line of its key in ``node``
        raise Invalid(f"{name}.metric", "required: the metric name", node, name.rpartition(".")[2])
    if not isinstance(body.get("metric"), str):
        raise Invalid(f"{name}.metric", "required: the metric name", body)
    allowed = {"metric", "match", "field", "quantile", *extra}
    for key in body:
        if key not in allowed:
            raise Invalid(f"{name}.{key}", f"unknown field (expected {', '.join(sorted(allowed))})", body, key)
    match_raw = body.get("match") or {}
    if not isinstance(match_raw, Mapping):
        raise Invalid(
            f"{name}.match",
            "must map attribute names to a value or a list of values",
            body,
            "match",
        )
    match: dict[str, tuple[str, ...]] = {}
    for key, allowed_values in match_raw.items():
        values = allowed_values if isinstance(allowed_values, list) else [allowed_values]
        match[str(key)] = tuple(_attr_text(v) for v in values)
    quantile = body.get("quantile")
    field = body.get("field", "quantile" if quantile is not None else "value")
    if field not in ("value", "count", "sum", "quantile"):
        raise Invalid(f"{name}.field", "must be value, count, sum or quantile", body, "field")
    if field == "quantile":
        if isinstance(quantile, bool) or not isinstance(quantile, (int, float)) or not 0 <= quantile <= 1:
            raise Invalid(f"{name}.quantile", "must be a number between 0 and 1", body, "quantile")
        quantile = float(quantile)
    elif quantile is not None:
        raise Invalid(f"{name}.quantile", "only with field: quantile", body, "quantile")
    return Selector(body["metric"], match, field, quantile)


def _attr_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
