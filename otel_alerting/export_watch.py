"""Reader mode: the failed exports of the host's other metric readers, counted.

In ``reader`` mode the SDK's ``PeriodicExportingMetricReader`` owns the OTLP exporter
and ignores what its ``export`` returns. The alerting reader wraps the ``export`` of
each such exporter on its MeterProvider, so that a FAILURE result or an exception is
counted in ``otel_alerting.export.failures`` and logged as export mode does
(``export_mode.ExportOutcomes``). The exporter's result and exception pass through
unchanged; nothing in the watching raises into the host.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

import wrapt
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)

from .export_mode import ExportOutcomes

__all__ = ["watch_exports"]

_logger = logging.getLogger("otel_alerting")

#: the exporters already watched: two alerting readers on one provider count each failure once
_watched: weakref.WeakSet[MetricExporter] = weakref.WeakSet()


def watch_exports(meter_provider: object, on_failure: Callable[[], None]) -> int:
    """Wrap the ``export`` of the push exporters of ``meter_provider``'s periodic
    readers; each failure is counted through ``on_failure``. Returns how many were
    wrapped (0 when the provider's shape is not the one known)."""
    try:
        outcomes = ExportOutcomes(on_failure)
        wrapped = 0
        for exporter in _push_exporters(meter_provider):
            if exporter in _watched:
                continue
            exporter.export = wrapt.FunctionWrapper(exporter.export, _counting(outcomes))  # type: ignore[method-assign]
            _watched.add(exporter)
            wrapped += 1
        return wrapped
    except Exception:
        _logger.debug("otel-alerting: cannot watch the metric exporters; their failures are not counted", exc_info=True)
        return 0


def _push_exporters(meter_provider: object) -> list[MetricExporter]:
    """The exporters of the provider's ``PeriodicExportingMetricReader``s.

    This reads private attributes of the SDK (``MeterProvider._metric_readers``,
    ``PeriodicExportingMetricReader._exporter``), set before the provider hands itself
    to its readers; the SDK offers no public way. Any other shape gives none found."""
    readers = getattr(meter_provider, "_metric_readers", None)
    if not isinstance(readers, (list, tuple)):
        return []
    found: list[MetricExporter] = []
    for reader in readers:
        exporter = getattr(reader, "_exporter", None) if isinstance(reader, PeriodicExportingMetricReader) else None
        if isinstance(exporter, MetricExporter):
            found.append(exporter)
    return found


def _counting(outcomes: ExportOutcomes) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        exporter = getattr(wrapped, "__self__", wrapped)
        try:
            result = wrapped(*args, **kwargs)
        except Exception as exc:
            _note(outcomes.failed, exporter, f"{type(exc).__name__} raised")
            raise
        if result is MetricExportResult.FAILURE:
            _note(outcomes.failed, exporter, "FAILURE returned")
        else:
            _note(outcomes.succeeded, exporter)
        return result

    return wrapper


def _note(record: Callable[..., None], *args: Any) -> None:
    try:
        record(*args)
    except Exception:
        _logger.debug("otel-alerting: noting an export's outcome failed", exc_info=True)
