"""The notification sections of a rules file (``route``, ``inhibit_rules``), shaped
as in Alertmanager's configuration, with the environment's simple-case defaults."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import ConfigError
from ..rules.defaults import default_inhibit_rules
from ..rules.inhibition import InhibitRule, Matcher
from ..rules.located import item_line, line_of, located
from .routing import Route, default_route, parse_route

__all__ = ["NotifyConfig", "load_notify_config"]


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
    raw_rules = extra.get("inhibit_rules", [])
    file, line = origins.get("inhibit_rules", (source, None))
    if not isinstance(raw_rules, list):
        errors.append(ConfigError(located(file, line, "inhibit_rules"), "must be a list"))
        raw_rules = []
    for index, raw in enumerate(raw_rules):
        field = f"inhibit_rules[{index}]"
        where = located(file, item_line(raw_rules, index) or line_of(raw), field)
        if not isinstance(raw, Mapping):
            errors.append(ConfigError(where, "must be a mapping"))
            continue
        unknown = set(raw) - {"source_matchers", "target_matchers", "equal"}
        if unknown:
            first = sorted(unknown)[0]
            errors.append(
                ConfigError(located(file, line_of(raw, first), field), f"unknown field(s) {', '.join(sorted(unknown))}")
            )
            continue
        try:
            source_matchers = tuple(Matcher.parse(str(m)) for m in raw.get("source_matchers") or [])
            target_matchers = tuple(Matcher.parse(str(m)) for m in raw.get("target_matchers") or [])
        except ValueError as exc:
            errors.append(ConfigError(where, str(exc)))
            continue
        if not source_matchers or not target_matchers:
            errors.append(ConfigError(where, "needs source_matchers and target_matchers"))
            continue
        equal = raw.get("equal") or []
        if not isinstance(equal, list) or not all(isinstance(e, str) for e in equal):
            errors.append(
                ConfigError(located(file, line_of(raw, "equal"), f"{field}.equal"), "must be a list of label names")
            )
            continue
        inhibit.append(InhibitRule(source_matchers, target_matchers, tuple(equal)))
    return NotifyConfig(route, tuple(inhibit), tuple(errors))
