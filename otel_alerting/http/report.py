"""The health report: one JSON-ready dict from what the parts already keep.

Sections read the alert manager and the notification pipeline (alerts), the
dependency probes' board, the cache counts and the memory readings. A section whose
source is not there (an instrumentation not active, the plugin disabled) says so as
``{"available": false, "reason": ...}``; building a report never raises for it.
The report names channels and nothing of their configuration, so it holds no secret.

Status: ``failing`` when a CRITICAL alert fires or a dependency is down,
``degraded`` when any other alert fires, ``ok`` otherwise.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..engine.lifecycle import AlertState
from ..failure_log import FailureLog, StepFailures, process_failures
from ..instrumentation.cache import CacheMetrics
from ..instrumentation.probes.state import HealthBoard
from ..rules.model import Severity
from .caches import CacheWindow, totals_by_cache

if TYPE_CHECKING:
    from ..system import AlertingSystem

__all__ = ["DEGRADED", "FAILING", "OK", "ReportSources", "build_report"]

_logger = logging.getLogger("otel_alerting")

OK, DEGRADED, FAILING = "ok", "degraded", "failing"
Section = dict[str, Any]


@dataclass
class ReportSources:
    """Where the sections other than the alerts read from; each callable gives None
    when its part is not active."""

    board: Callable[[], HealthBoard | None]
    caches: Callable[[], CacheMetrics | None]
    memory: Callable[[], Section]
    cache_window: CacheWindow = field(default_factory=CacheWindow)
    wall_clock: Callable[[], float] = time.time


def _unavailable(reason: str) -> Section:
    return {"available": False, "reason": reason}


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _section(name: str, build: Callable[[], Section], failed: list[str]) -> Section:
    try:
        return build()
    except Exception as exc:  # one broken source must not cost the whole report
        # told once, not at every request: a monitor polls /health, often
        process_failures.failed("health_report", exc, _logger, f"the health report's {name} section")
        failed.append(name)
        return _unavailable(f"reading it failed ({type(exc).__name__})")


def _alerts(system: AlertingSystem) -> Section:
    active = system.manager.active()
    firing = [a for a in active if a.state is AlertState.FIRING and a.severity is not None]
    by_severity = {s.name: 0 for s in sorted(Severity, reverse=True)}
    for a in firing:
        by_severity[a.severity.name] += 1  # type: ignore[union-attr]
    stats = system.manager.stats()
    notifications = {c.name: {"delivered": 0, "failed": 0, "dropped": 0} for c in system.dispatcher.channels}
    for (channel, outcome), count in stats.deliveries.items():
        notifications.setdefault(channel, {"delivered": 0, "failed": 0, "dropped": 0})[outcome] = count
    muted = dict(system.pipeline.muted)
    return {
        "available": True,
        "active": by_severity,
        "pending": sum(1 for a in active if a.state is AlertState.PENDING),
        "firing": [
            {
                "alert": a.alert,
                "severity": a.severity.name,  # type: ignore[union-attr]
                "labels": a.labels,
                "value": a.value,
                "threshold": a.threshold,
                "since": _iso(a.fired_at),
            }
            for a in firing
        ],
        "fired": stats.fired,
        "resolved": stats.resolved,
        "escalated": stats.escalated,
        "deescalated": stats.deescalated,
        "suppressed_by_cooldown": stats.suppressed_by_cooldown,
        "silenced": muted.get("silenced", 0),
        "inhibited": muted.get("inhibited", 0),
        "notifications": notifications,
    }


def _dependencies(board: HealthBoard | None, wall_now: float) -> Section:
    if board is None:
        return _unavailable("no dependency is probed (dependency instrumentation not active or no target)")
    board_now = board.clock()
    items = []
    for s in sorted(board.snapshots(), key=lambda s: s.key.describe()):
        age = max(board_now - s.last_checked, 0.0)
        items.append(
            {
                "name": s.key.name,
                "address": s.key.address,
                "port": s.key.port,
                "up": s.up,
                "downtime_s": _round(s.downtime, 3),
                "last_check": _iso(wall_now - age),
                "seconds_since_check": _round(age, 3),
                "latency_s": _round(s.latency),
                "checks": s.checks,
                "error_type": s.last_error_type,
            }
        )
    if not items:
        return _unavailable("no dependency has been checked yet")
    return {"available": True, "up": all(i["up"] for i in items), "items": items}


def _caches(metrics: CacheMetrics | None, window: CacheWindow, now: float) -> Section:
    if metrics is None:
        return _unavailable("cache instrumentation not active")
    totals = totals_by_cache(metrics)
    if not totals:
        return _unavailable("no cache lookup counted yet")
    stats = window.stats(now, totals)
    window.sample(now, totals)
    return {
        "available": True,
        "window_s": window.window_s,
        "items": [
            {
                "name": s.name,
                "hit_rate": _round(s.hit_rate),
                "over_s": _round(s.over_s, 3),
                "hits": s.hits,
                "misses": s.misses,
            }
            for s in stats
        ],
    }


def _plugin(system: AlertingSystem, wall_now: float) -> Section:
    last = system.last_evaluation
    manager = system.manager
    return {
        "available": True,
        "last_evaluation": _iso(last),
        "seconds_since_evaluation": _round(max(wall_now - last, 0.0), 3) if last is not None else None,
        "evaluation_duration_s": _round(system.last_evaluation_duration),
        "evaluations": manager.stats().evaluations,
        "rules": len(manager.rules),
        "rules_in_error": manager.rule_errors(),
        "configuration_problems": list(system.problems),
        # series that cannot alert: past the SDK's cardinality limit, past a rule's series limit
        "cardinality_overflow": system.evaluator.overflowed_metrics(),
        "series_refused": system.evaluator.series_refused(),
        "channels": [c.name for c in system.dispatcher.channels],
        "heartbeat": _heartbeat(system),
        "failures": _failures(system.failures),
    }


def _failures(own: FailureLog | None) -> Section:
    """By step: the failures of the plugin's own work, this system's and the process's
    parts' (a step failing in both, the collection, is added up)."""
    steps: dict[str, StepFailures] = process_failures.steps()
    for name, mine in (own.steps() if own is not None else {}).items():
        other = steps.get(name)
        if other is not None:
            latest = mine if mine.at >= other.at else other
            mine = dataclasses.replace(latest, count=mine.count + other.count, failing=mine.failing or other.failing)
        steps[name] = mine
    # the messages are clipped and hold no URL beyond its host (failure_log)
    return {
        name: {
            "count": s.count,
            "failing": s.failing,
            "error_type": s.error_type or None,
            "message": s.message,
            "last_failure": _iso(s.at),
        }
        for name, s in sorted(steps.items())
    }


def _heartbeat(system: AlertingSystem) -> Section:
    """Counts and times of the dead man's switch; never its URL (it carries a token)."""
    heartbeat = system.heartbeat
    if heartbeat is None:
        return {"configured": False}
    state = heartbeat.state()
    for key in ("last_success", "last_failure"):
        value = state[key]
        state[key] = _iso(value) if isinstance(value, float) else None
    return state


def _status(alerts: Section, dependencies: Section) -> tuple[str, list[str]]:
    failing: list[str] = []
    degraded: list[str] = []
    for a in alerts.get("firing", ()):
        reason = f"alert {a['alert']} is firing at {a['severity']}"
        (failing if a["severity"] == Severity.CRITICAL.name else degraded).append(reason)
    for d in dependencies.get("items", ()):
        if not d["up"]:
            failing.append(f"dependency {d['name']} is down")
    if failing:
        return FAILING, failing + degraded
    return (DEGRADED, degraded) if degraded else (OK, [])


def build_report(system: AlertingSystem | None, sources: ReportSources) -> dict[str, Any]:
    """The report for ``system`` (None: the plugin runs no alerting system)."""
    now = sources.wall_clock()
    failed: list[str] = []
    if system is None:
        alerts = _unavailable("alerting is disabled or did not start (see the log)")
        # the process's parts (probes, cache statistics, export mode's collections) still run
        plugin = {**alerts, "failures": _section("failures", lambda: _failures(None), failed)}
    else:
        alerts = _section("alerts", lambda: _alerts(system), failed)
        plugin = _section("plugin", lambda: _plugin(system, now), failed)
    dependencies = _section("dependencies", lambda: _dependencies(sources.board(), now), failed)
    caches = _section("caches", lambda: _caches(sources.caches(), sources.cache_window, now), failed)
    memory = _section("memory", sources.memory, failed)
    if not failed:
        process_failures.succeeded("health_report", _logger)
    status, reasons = _status(alerts, dependencies)
    return {
        "status": status,
        "reasons": reasons,
        "time": _iso(now),
        "alerts": alerts,
        "dependencies": dependencies,
        "caches": caches,
        "memory": memory,
        "plugin": plugin,
    }
