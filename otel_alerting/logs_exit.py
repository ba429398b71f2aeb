"""The batch processor of the logs exporter the distro turns on, prompt at exit.

The SDK's ``BatchLogRecordProcessor`` exports what is queued when the process ends; its
OTLP/HTTP exporter retries a refused connection with backoff for its whole timeout
(``OTEL_EXPORTER_OTLP_TIMEOUT``, 10 s by default). This one probes the endpoint first
(``exit_probe``): a collector that is down is not tried, the records are counted and
said in one WARNING naming the endpoint; one that is up gets the usual export.
The configurator uses it only for the logs exporter the distro chose: one the user
named keeps the SDK's own processor.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
)

from .exit_probe import endpoint_of, unreachable
from .secrets import redact_location

__all__ = ["PromptExitLogRecordProcessor"]

_logger = logging.getLogger("otel_alerting")


class PromptExitLogRecordProcessor(BatchLogRecordProcessor):
    """``BatchLogRecordProcessor`` that gives an unreachable collector up at shutdown."""

    def __init__(self, exporter: LogRecordExporter) -> None:
        self._guard = _ExitGuard(exporter)
        super().__init__(self._guard)

    def shutdown(self) -> None:
        self._guard.at_exit()
        super().shutdown()  # type: ignore[no-untyped-call]
        self._guard.report()


class _ExitGuard(LogRecordExporter):
    """Passes exports through until shutdown finds the endpoint unreachable; then
    counts them instead."""

    def __init__(self, exporter: LogRecordExporter) -> None:
        self._exporter = exporter
        #: (endpoint, why) once given up
        self._given_up: tuple[str, str] | None = None
        self._dropped = 0
        self._lock = threading.Lock()

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if self._given_up is None:
            result: LogRecordExportResult = self._exporter.export(batch)
            # under way when given up: its backoff was cut short, so it failed
            if self._given_up is None or result is not LogRecordExportResult.FAILURE:
                return result
        with self._lock:
            self._dropped += len(batch)
        return LogRecordExportResult.FAILURE

    def at_exit(self) -> None:
        """Probe the endpoint; unreachable, shut the exporter down now (which ends the
        backoff of an export under way) and count what comes from here on."""
        endpoint = endpoint_of(self._exporter)
        reason = unreachable(endpoint) if endpoint is not None else None
        if endpoint is not None and reason is not None:
            self._given_up = (redact_location(endpoint), reason)
            self._exporter.shutdown()  # type: ignore[no-untyped-call]

    def report(self) -> None:
        if self._given_up is not None and self._dropped:
            endpoint, reason = self._given_up
            _logger.warning(
                "otel-alerting: the collector at %s cannot be reached (%s); %d log record(s) due at exit "
                "dropped, not retried",
                endpoint,
                reason,
                self._dropped,
            )

    def shutdown(self) -> None:
        if self._given_up is None:
            self._exporter.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self._exporter.force_flush(timeout_millis))
