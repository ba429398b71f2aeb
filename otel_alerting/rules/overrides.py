"""Environment overrides of loaded rules: ``OTEL_PYTHON_ALERTING_RULE_<ALERT>_<FIELD>``.

A variable that names no loaded rule, or no field, is an error, so a typo is never
silent; a ladder or recovery changed by overrides is checked again as a whole.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from .. import environment_variables as ev
from ..config import parse_bool
from ..durations import parse_duration
from .loader import Invalid, Refused, RuleError, check_recovery, parse_ladder, parse_no_data
from .model import Direction, RateExpr, RatioExpr, Rule

__all__ = ["RULE_OVERRIDE_FIELDS", "RULE_OVERRIDE_PREFIX", "apply_overrides", "override_key"]

RULE_OVERRIDE_PREFIX = ev.RULE_OVERRIDE_PREFIX


def override_key(alert: str) -> str:
    """``CacheHitRateLow`` -> ``CACHEHITRATELOW``; ``queue_backlog`` -> ``QUEUE_BACKLOG``;
    a name given in code with other characters (``disk.free``) -> ``DISK_FREE``."""
    return re.sub(r"[^A-Z0-9_]", "_", alert.upper())


def apply_overrides(rules: Sequence[Rule], environ: Mapping[str, str]) -> tuple[list[Rule], list[RuleError]]:
    """Apply ``OTEL_PYTHON_ALERTING_RULE_<ALERT>_<FIELD>`` variables.

    A variable that names no loaded rule is an error, so a typo is never silent.
    """
    by_key: dict[str, list[Rule]] = {}
    for rule in rules:
        by_key.setdefault(override_key(rule.alert), []).append(rule)
    changed: dict[str, Rule] = {}
    disabled: set[str] = set()
    errors: list[RuleError] = []
    ladder_variables: dict[str, list[str]] = {}
    for variable in sorted(environ):
        if not variable.startswith(RULE_OVERRIDE_PREFIX):
            continue
        try:
            base, field = _target(variable, by_key)
            overridden = _SETTERS[field](changed.get(base.alert, base), environ[variable].strip())
        except Refused as exc:
            errors.append(RuleError(variable, f"{exc} (value {environ[variable]!r})"))
            continue
        except ValueError as exc:  # _Unknown, or a duration parse_duration refused
            errors.append(RuleError(variable, str(exc)))
            continue
        if overridden is None:
            disabled.add(base.alert)
        else:
            changed[base.alert] = overridden
            if field in ("ABOVE", "BELOW", "RECOVERY"):
                ladder_variables.setdefault(base.alert, []).append(variable)
    errors.extend(_check_ladders(rules, changed, ladder_variables, environ))
    result = [changed.get(rule.alert, rule) for rule in rules if rule.alert not in disabled]
    return result, errors


class _Unknown(ValueError):
    """An override variable that names no field, or no single loaded rule."""


def _target(variable: str, by_key: Mapping[str, list[Rule]]) -> tuple[Rule, str]:
    """The rule and the field ``variable`` names."""
    rest = variable[len(RULE_OVERRIDE_PREFIX) :]
    field = next((f for f in RULE_OVERRIDE_FIELDS if rest.endswith("_" + f)), None)
    if field is None:
        raise _Unknown(f"unknown field (expected a suffix of {', '.join(RULE_OVERRIDE_FIELDS)})")
    key = rest[: -len(field) - 1]
    named = by_key.get(key)
    if not named:
        raise _Unknown(f"no loaded rule is named {key!r} (names: {', '.join(sorted(by_key)) or 'none'})")
    if len(named) > 1:
        alerts = " and ".join(sorted(rule.alert for rule in named))
        raise _Unknown(f"ambiguous: rules {alerts} share this override name; rename one")
    return named[0], field


def _check_ladders(
    rules: Sequence[Rule],
    changed: dict[str, Rule],
    ladder_variables: Mapping[str, list[str]],
    environ: Mapping[str, str],
) -> list[RuleError]:
    """Thresholds and recovery are checked together once every override of a rule is in:
    checking after each variable made a valid pair (ABOVE=medium:50 with RECOVERY=40 on a
    rule whose file says recovery: 80) fail or pass depending on the alphabetical order of
    the variable names. A rule that fails keeps the ladder and recovery of its file."""
    errors: list[RuleError] = []
    originals = {rule.alert: rule for rule in rules}
    for alert, names in ladder_variables.items():
        rule = changed[alert]
        try:
            check_recovery(rule, None)
        except Invalid as exc:
            shown = ", ".join(f"{name}={environ[name]!r}" for name in names)
            errors.append(RuleError(" and ".join(names), f"{exc} (values {shown})"))
            base = originals[alert]
            changed[alert] = replace(rule, direction=base.direction, thresholds=base.thresholds, recovery=base.recovery)
    return errors


def _finite(text: str) -> float:
    """A number as the file loader accepts one: NaN and infinities are refused."""
    try:
        number = float(text)
    except ValueError:
        raise Refused(f"{text!r} is not a number") from None
    if not math.isfinite(number):
        raise Refused("must be a finite number")
    return number


# Each override field's setter: the rule with the (stripped) value applied, or None for
# a rule the value disables.


def _set_above(rule: Rule, value: str) -> Rule:
    return _set_ladder(rule, "above", value)


def _set_below(rule: Rule, value: str) -> Rule:
    return _set_ladder(rule, "below", value)


def _set_ladder(rule: Rule, direction: Direction, value: str) -> Rule:
    """``medium:0.6,high:0.4``, checked as a file's ladder is."""
    ladder: dict[str, float] = {}
    for part in value.split(","):
        name, sep, number = part.partition(":")
        if not sep:
            raise Refused("expected severity:number pairs, e.g. medium:0.6,high:0.4")
        if name.strip() in ladder:
            raise Refused(f"{name.strip()} is given twice")
        try:
            ladder[name.strip()] = float(number)
        except ValueError:
            raise Refused(f"{number.strip()!r} is not a number") from None
    return replace(rule, direction=direction, thresholds=parse_ladder(direction, ladder))


def _set_for(rule: Rule, value: str) -> Rule:
    return replace(rule, for_=parse_duration(value))


def _set_keep_firing_for(rule: Rule, value: str) -> Rule:
    return replace(rule, keep_firing_for=parse_duration(value))


def _set_recovery(rule: Rule, value: str) -> Rule:
    if value.lower() in ("", "none"):
        return replace(rule, recovery=None)
    return replace(rule, recovery=_finite(value))


def _set_no_data(rule: Rule, value: str) -> Rule:
    return replace(rule, no_data=parse_no_data(value, None))  # type: ignore[arg-type]


def _set_enabled(rule: Rule, value: str) -> Rule | None:
    enabled = parse_bool(value)
    if enabled is None:
        raise Refused("must be true or false")
    return rule if enabled else None


def _set_window(rule: Rule, value: str) -> Rule:
    if not isinstance(rule.expr, (RateExpr, RatioExpr)):
        raise Refused("only rate and ratio rules have a window")
    window = parse_duration(value)
    if window <= 0:  # as in files: a zero window never holds an increase
        raise Refused("must be positive")
    return replace(rule, expr=replace(rule.expr, window=window))


def _set_min_denominator(rule: Rule, value: str) -> Rule:
    if not isinstance(rule.expr, RatioExpr):
        raise Refused("only ratio rules have min_denominator")
    minimum = _finite(value)
    if minimum < 0:
        raise Refused("must be non-negative")
    return replace(rule, expr=replace(rule.expr, min_denominator=minimum))


#: the override fields by variable suffix; KEEP_FIRING_FOR comes before FOR, which
#: ends it, so that the longer suffix is tried first
_SETTERS: Mapping[str, Callable[[Rule, str], Rule | None]] = {
    "KEEP_FIRING_FOR": _set_keep_firing_for,
    "MIN_DENOMINATOR": _set_min_denominator,
    "ENABLED": _set_enabled,
    "ABOVE": _set_above,
    "BELOW": _set_below,
    "FOR": _set_for,
    "RECOVERY": _set_recovery,
    "WINDOW": _set_window,
    "NO_DATA": _set_no_data,
}
RULE_OVERRIDE_FIELDS = tuple(_SETTERS)
