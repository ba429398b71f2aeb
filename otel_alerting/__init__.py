"""otel-alerting: alert rules evaluated inside any service run under opentelemetry-instrument."""

from .reader import AlertingMetricReader
from .rules.model import Rule, Severity
from .version import __version__

__all__ = ["AlertingMetricReader", "Rule", "Severity", "__version__"]
