"""Test helpers for users of otel-alerting and for its own tests.

* ``RuleTester``: unit-test rules over simulated time (like ``promtool test rules``).
* ``OtlpReceiver``: a real OTLP/HTTP endpoint that decodes what exporters send
  (needs ``opentelemetry-proto``, installed with the OTLP exporter).
"""

from .otlp import MetricPoint, OtlpReceiver
from .rules import FakeClock, RuleTester

__all__ = ["FakeClock", "MetricPoint", "OtlpReceiver", "RuleTester"]
