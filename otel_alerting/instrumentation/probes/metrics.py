"""The dependency metrics: two observable gauges read from the board at collection
and a histogram of check durations recorded by the probe thread.

Instruments cannot be removed from a MeterProvider, and creating one a second time
returns the first with its first callbacks. So there is one ``HealthMetrics`` per
provider, whose board is switched (or set to None, to report nothing) rather than
a second set of instruments.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation, get_meter
from opentelemetry.util.types import AttributeValue

from ...version import __version__
from .state import HealthBoard

__all__ = ["CHECK_DURATION_BUCKETS", "HealthMetrics", "health_metrics"]

UP = "otel_alerting.dependency.up"
DOWNTIME = "otel_alerting.dependency.downtime"
CHECK_DURATION = "otel_alerting.dependency.check.duration"

# A healthy loopback check takes under a millisecond, a remote one a few; a failing
# one can last up to the probe timeout (2 s by default, twice that for connect + read).
CHECK_DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HealthMetrics:
    def __init__(self, board: HealthBoard | None, meter_provider: MeterProvider | None = None) -> None:
        self.board = board
        meter = get_meter("otel_alerting.dependencies", __version__, meter_provider)
        meter.create_observable_gauge(
            UP,
            callbacks=[self._observe_up],
            unit="1",
            description="1 when the last check of the dependency succeeded, 0 when it failed.",
        )
        meter.create_observable_gauge(
            DOWNTIME,
            callbacks=[self._observe_downtime],
            unit="s",
            description="Seconds since the first failed check of the current outage; 0 when up.",
        )
        self._duration = meter.create_histogram(
            CHECK_DURATION,
            unit="s",
            description="Duration of one dependency check, failed ones included.",
            explicit_bucket_boundaries_advisory=CHECK_DURATION_BUCKETS,
        )

    def _observe_up(self, options: CallbackOptions) -> Iterable[Observation]:
        board = self.board
        if board is None:
            return []
        return [Observation(1 if s.up else 0, s.key.attributes()) for s in board.snapshots()]

    def _observe_downtime(self, options: CallbackOptions) -> Iterable[Observation]:
        board = self.board
        if board is None:
            return []
        return [Observation(s.downtime, s.key.attributes()) for s in board.snapshots()]

    def record_check(self, seconds: float, attributes: Mapping[str, AttributeValue]) -> None:
        self._duration.record(seconds, attributes)


_by_provider: weakref.WeakKeyDictionary[Any, HealthMetrics] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def health_metrics(board: HealthBoard, meter_provider: MeterProvider | None = None) -> HealthMetrics:
    """The ``HealthMetrics`` of ``meter_provider`` (the global one by default), now reading ``board``."""
    if meter_provider is None:
        from opentelemetry.metrics import get_meter_provider

        meter_provider = get_meter_provider()
    with _lock:
        metrics = _by_provider.get(meter_provider)
        if metrics is None:
            metrics = _by_provider[meter_provider] = HealthMetrics(board, meter_provider)
        else:
            metrics.board = board
        return metrics
