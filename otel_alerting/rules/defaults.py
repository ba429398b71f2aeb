"""The built-in rule pack, loaded unless OTEL_PYTHON_ALERTING_DEFAULT_RULES=false.

Filled by the instrumentation (cache hit rate, memory pressure, dependency downtime);
a rule of the same name in a user's file replaces the built-in one.
"""

from __future__ import annotations

from .model import Rule

__all__ = ["default_rules"]


def default_rules() -> list[Rule]:
    return []
