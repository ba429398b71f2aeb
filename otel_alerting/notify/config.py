"""The notification sections of a rules file (``route``, ``inhibit_rules``), shaped
as in Alertmanager's configuration, with the environment's simple-case defaults."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import ConfigError
from ..rules.defaults import DEFAULT_INHIBIT_RULES
from ..rules.located import item_line, line_of, located
from .matchers import InhibitRule, Matcher
from .routing import Route, default_route, parse_route

__all__ = ["NotifyConfig", "default_inhibit_rules", "load_notify_config"]

_INHIBIT_FIELDS = frozenset({"source_matchers", "target_matchers", "equal"})


@dataclass(frozen=True)
class NotifyConfig:
    route: Route
    inhibit_rules: tuple[InhibitRule, ...]
    errors: tuple[ConfigError, ...]


def load_notify_config(
    extra: Mapping[str, Any],
    configured: Sequence[str],
    environ: Mapping[str, str],
    *,
    include_defaults: bool = True,
    source: str = "rules file",
    origins: Mapping[str, tuple[str, int | None]] | None = None,
) -> NotifyConfig:
    """``origins``: per section, the file it came from and the line of its key (see
    ``RuleSet.extra_origins``), so that errors name them; else ``source``."""
    origins = origins or {}
    errors: list[ConfigError] = []
    route, route_errors = default_route(configured, environ)
    errors.extend(route_errors)
    if "route" in extra:
        route_source, _ = origins.get("route", (source, None))
        parsed, parse_errors = parse_route(extra["route"], configured, route_source)
        errors.extend(parse_errors)
        if parsed is not None:
            route = parsed
    inhibit = list(default_inhibit_rules()) if include_defaults else []
    file, line = origins.get("inhibit_rules", (source, None))
    inhibit.extend(_parse_inhibit_rules(extra.get("inhibit_rules", []), file, line, errors))
    return NotifyConfig(route, tuple(inhibit), tuple(errors))


@functools.lru_cache(maxsize=1)
def _defaults() -> tuple[InhibitRule, ...]:
    errors: list[ConfigError] = []
    rules = _parse_inhibit_rules(DEFAULT_INHIBIT_RULES, "<built-in inhibit rules>", None, errors)
    if errors:  # a packaging mistake, caught by the tests
        raise RuntimeError("; ".join(str(e) for e in errors))
    return tuple(rules)


def default_inhibit_rules() -> list[InhibitRule]:
    """The built-in pack's inhibition (``rules.defaults.DEFAULT_INHIBIT_RULES``), parsed."""
    return list(_defaults())


def _parse_inhibit_rules(raw_rules: Any, file: str, line: int | None, errors: list[ConfigError]) -> list[InhibitRule]:
    """An ``inhibit_rules`` section; each bad rule is left out, its error added to ``errors``."""
    if not isinstance(raw_rules, list):
        errors.append(ConfigError(located(file, line, "inhibit_rules"), "must be a list"))
        return []
    rules: list[InhibitRule] = []
    for index, raw in enumerate(raw_rules):
        field = f"inhibit_rules[{index}]"
        rule = _parse_inhibit_rule(raw, file, located(file, item_line(raw_rules, index) or line_of(raw), field), field)
        if isinstance(rule, ConfigError):
            errors.append(rule)
        else:
            rules.append(rule)
    return rules


def _parse_inhibit_rule(raw: Any, file: str, where: str, field: str) -> InhibitRule | ConfigError:
    if not isinstance(raw, Mapping):
        return ConfigError(where, "must be a mapping")
    unknown = set(raw) - _INHIBIT_FIELDS
    if unknown:
        first = sorted(unknown)[0]
        return ConfigError(located(file, line_of(raw, first), field), f"unknown field(s) {', '.join(sorted(unknown))}")
    for side in ("source_matchers", "target_matchers"):
        if not isinstance(raw.get(side) or [], list):
            return ConfigError(located(file, line_of(raw, side), f"{field}.{side}"), "must be a list of matchers")
    try:
        source_matchers = tuple(Matcher.parse(str(m)) for m in raw.get("source_matchers") or [])
        target_matchers = tuple(Matcher.parse(str(m)) for m in raw.get("target_matchers") or [])
    except ValueError as exc:
        return ConfigError(where, str(exc))
    if not source_matchers or not target_matchers:
        return ConfigError(where, "needs source_matchers and target_matchers")
    equal = raw.get("equal") or []
    if not isinstance(equal, list) or not all(isinstance(e, str) for e in equal):
        return ConfigError(located(file, line_of(raw, "equal"), f"{field}.equal"), "must be a list of label names")
    return InhibitRule(source_matchers, target_matchers, tuple(equal))
