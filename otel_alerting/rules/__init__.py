"""Rules: the model, the file loader with environment overrides, and the built-in pack."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..config import prometheus_import_settings
from .defaults import default_rules
from .loader import RuleError, load_rules_file, parse_rules
from .model import AbsentExpr, RateExpr, RatioExpr, Rule, Selector, Severity, ValueExpr
from .overrides import apply_overrides

__all__ = [
    "AbsentExpr",
    "RateExpr",
    "RatioExpr",
    "Rule",
    "RuleError",
    "RuleSet",
    "Selector",
    "Severity",
    "ValueExpr",
    "load_rule_set",
    "load_rules_file",
    "parse_rules",
]


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    errors: tuple[RuleError, ...]
    #: how many rules came from each source (file path or "built-in")
    sources: Mapping[str, int]
    #: the files' other top-level sections (route, inhibit_rules, channels)
    extra: Mapping[str, object]
    #: per section of ``extra``: the file it came from and the line of its key
    extra_origins: Mapping[str, tuple[str, int | None]] = field(default_factory=dict)


def load_rule_set(paths: Sequence[str], environ: Mapping[str, str], *, include_defaults: bool = True) -> RuleSet:
    """Built-in pack, then each file (a same-named rule replaces an earlier one),
    then the environment overrides. Never raises: problems are in ``errors``."""
    by_name: dict[str, Rule] = {}
    origin: dict[str, str] = {}
    errors: list[RuleError] = []
    extra: dict[str, object] = {}
    origins: dict[str, tuple[str, int | None]] = {}
    prometheus = prometheus_import_settings(environ)
    errors.extend(prometheus.errors)
    if include_defaults:
        for rule in default_rules():
            by_name[rule.alert] = rule
            origin[rule.alert] = "built-in"
    for path in paths:
        loaded = load_rules_file(path, prometheus=prometheus)
        errors.extend(loaded.errors)
        extra.update(loaded.extra)
        origins.update({key: (path, loaded.extra_lines.get(key)) for key in loaded.extra})
        for name in loaded.disabled:
            by_name.pop(name, None)
        for rule in loaded.rules:
            by_name[rule.alert] = rule
            origin[rule.alert] = path
    rules, override_errors = apply_overrides(list(by_name.values()), environ)
    errors.extend(override_errors)
    sources: dict[str, int] = {}
    for rule in rules:
        sources[origin[rule.alert]] = sources.get(origin[rule.alert], 0) + 1
    return RuleSet(tuple(rules), tuple(errors), sources, extra, origins)
