"""otel-alerting: alert rules evaluated inside any service run under opentelemetry-instrument.

The names below are imported on first use: ``opentelemetry-instrument`` imports this
package just to read ``environment_variables``, and that must not pull in the SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .active import active_system
    from .reader import AlertingMetricReader
    from .rules.model import Rule, Severity

__all__ = ["AlertingMetricReader", "Rule", "Severity", "__version__", "active_system"]


def __getattr__(name: str) -> Any:
    if name == "AlertingMetricReader":
        from .reader import AlertingMetricReader

        return AlertingMetricReader
    if name == "active_system":
        from .active import active_system

        return active_system
    if name in ("Rule", "Severity"):
        from .rules import model

        return getattr(model, name)
    raise AttributeError(f"module 'otel_alerting' has no attribute {name!r}")
