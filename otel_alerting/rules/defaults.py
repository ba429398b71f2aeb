"""The built-in rule pack and its inhibition, shipped as data.

The rules are written in the structure of a rules file (the YAML a user writes, as
Python data so that loading them needs no YAML parser at start-up); print them with
``otel-alerting check`` and copy them into your own file to adapt them. Thresholds
follow the system otel-alerting replaces; override any of them with
OTEL_PYTHON_ALERTING_RULE_<ALERT>_<FIELD>, turn one off with ..._ENABLED=false, or
replace one by defining a rule of the same name in your own file.
"""

from __future__ import annotations

import functools
from typing import Any

from .loader import parse_rules
from .model import Rule

__all__ = ["DEFAULT_INHIBIT_RULES", "DEFAULT_RULES", "default_rules"]

DEFAULT_RULES: dict[str, Any] = {
    "rules": [
        {
            "alert": "CacheHitRateLow",
            "expr": {
                "ratio": {
                    "numerator": {
                        "metric": "otel_alerting.cache.requests",
                        "match": {"otel_alerting.cache.result": "hit"},
                    },
                    "denominator": {"metric": "otel_alerting.cache.requests"},
                    "min_denominator": 100,
                },
                "window": "5m",
                "by": ["otel_alerting.cache.name", "server.address", "server.port"],
            },
            "below": {"medium": 0.5, "high": 0.3, "critical": 0.1},
            "labels": {"category": "cache"},
            "annotations": {
                "summary": "Cache {labels[otel_alerting.cache.name]} hit rate is {value:.0%} over {window}"
            },
        },
        {
            "alert": "MemoryPressure",
            "expr": {"value": {"metric": "otel_alerting.memory.utilization", "reduce": "max"}},
            "above": {"medium": 0.75, "high": 0.85, "critical": 0.95},
            "for": "30s",
            "labels": {"category": "memory"},
            "annotations": {"summary": "Memory use is {value:.0%} of the effective limit"},
        },
        {
            "alert": "DependencyDown",
            "expr": {
                "value": {"metric": "otel_alerting.dependency.downtime", "reduce": "max"},
                "by": ["otel_alerting.dependency.name", "server.address", "server.port"],
            },
            "above": {"medium": 60, "high": 300, "critical": 900},
            "labels": {"category": "dependency"},
            "annotations": {
                "summary": "{labels[otel_alerting.dependency.name]} at {labels[server.address]} "
                "has been down for {last_firing_value:.0f}s"
            },
        },
        {
            # Export mode only: there the plugin forwards the metrics and sees each export's
            # result. Alerting goes on in-process while the collector is unreachable, and
            # this rule is how it says that the fleet's view has gone blind.
            "alert": "TelemetryExportFailing",
            "expr": {"rate": {"metric": "otel_alerting.export.failures"}, "window": "5m"},
            "above": {"high": 0.001},  # one failed export in the window is 1/300 per second
            "for": "2m",
            "labels": {"category": "telemetry"},
            "annotations": {
                "summary": "Metric exports to the collector are failing ({value:.3f} per second over {window})",
                "description": "The OTLP exporter cannot deliver this service's metrics, so dashboards and "
                "Prometheus rules downstream see nothing new; alerting here keeps working. Check that the "
                "collector at OTEL_EXPORTER_OTLP_ENDPOINT is up and reachable (and its TLS and auth headers), "
                "and read the exporter's own log lines for the error.",
            },
        },
    ]
}


@functools.lru_cache(maxsize=1)
def _load() -> tuple[Rule, ...]:
    loaded = parse_rules(DEFAULT_RULES, "<built-in rules>")
    if loaded.errors:  # a packaging mistake, caught by the tests
        raise RuntimeError("; ".join(str(e) for e in loaded.errors))
    return loaded.rules


def default_rules() -> list[Rule]:
    return list(_load())


#: The built-in pack's ``inhibit_rules`` section, in the shape of a rules file (the
#: notification layer parses it with the file's own). While Redis is down, the hit rate
#: of the caches on that Redis is not notified: every read misses, and the outage is the
#: one alert worth a page. The Redis is the dependency at the cache's address and port,
#: whatever name its probe was given (a dependency at that address and port is that server).
DEFAULT_INHIBIT_RULES: list[dict[str, Any]] = [
    {
        "source_matchers": ['alertname="DependencyDown"'],
        "target_matchers": ['alertname="CacheHitRateLow"'],
        "equal": ["server.address", "server.port"],
    }
]
