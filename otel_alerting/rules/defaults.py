"""The built-in rule pack and its inhibition, shipped as data.

The rules live in ``defaults.yaml`` beside this module, in the format users write,
so a user can copy and adapt them.
"""

from __future__ import annotations

import functools
from importlib import resources

import yaml

from .inhibition import InhibitRule, Matcher
from .loader import _LineLoader, parse_rules
from .model import Rule

__all__ = ["DEFAULT_RULES_RESOURCE", "default_inhibit_rules", "default_rules"]

DEFAULT_RULES_RESOURCE = "defaults.yaml"


@functools.lru_cache(maxsize=1)
def _load() -> tuple[Rule, ...]:
    text = resources.files(__package__).joinpath(DEFAULT_RULES_RESOURCE).read_text(encoding="utf-8")
    loaded = parse_rules(yaml.load(text, Loader=_LineLoader), f"<built-in {DEFAULT_RULES_RESOURCE}>")
    if loaded.errors:  # a packaging mistake, caught by the tests
        raise RuntimeError("; ".join(str(e) for e in loaded.errors))
    return loaded.rules


def default_rules() -> list[Rule]:
    return list(_load())


def default_inhibit_rules() -> list[InhibitRule]:
    """While Redis is down, the hit rate of the caches on that Redis is not notified:
    every read misses, and the outage is the one alert worth a page."""
    return [
        InhibitRule(
            source_matchers=(
                Matcher.parse('alertname="DependencyDown"'),
                Matcher.parse('otel_alerting.dependency.name="redis"'),
            ),
            target_matchers=(Matcher.parse('alertname="CacheHitRateLow"'),),
            equal=("server.address",),
        )
    ]
