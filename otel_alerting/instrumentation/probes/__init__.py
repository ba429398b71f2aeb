"""Dependency health probes: targets from the environment, one check per module
(``redis_ping``, ``http_check``), the shared health board, the runner thread and the
metrics. ``DependencyHealthInstrumentor`` (in ``..dependencies``) assembles them."""

from .check import Check, CheckFailed
from .metrics import HealthMetrics, health_metrics
from .runner import CheckResult, ProbeRunner, active_runner
from .state import DependencyKey, HealthBoard, HealthSnapshot, Transition, default_board
from .targets import ProbeSettings, ProbeTarget, load_probe_settings, redact_url

__all__ = [
    "Check",
    "CheckFailed",
    "CheckResult",
    "DependencyKey",
    "HealthBoard",
    "HealthMetrics",
    "HealthSnapshot",
    "ProbeRunner",
    "ProbeSettings",
    "ProbeTarget",
    "Transition",
    "active_runner",
    "default_board",
    "health_metrics",
    "load_probe_settings",
    "redact_url",
]
