"""The ``export`` mode: one aggregation, evaluated, then forwarded to the exporters.

The alerting reader is then the only reader on the provider. What it collects for
its rules goes, unchanged, to the metric exporters named in
``OTEL_PYTHON_ALERTING_EXPORTERS`` (loaded here by entry-point name, as the SDK's
configurator loads them), on a forwarding thread of its own, so a slow collector
never delays an evaluation.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from opentelemetry.context import attach, detach
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_METRIC_EXPORT_INTERVAL,
    OTEL_METRIC_EXPORT_TIMEOUT,
)
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from .config import EnvReader, Settings
from .cumulative import CumulativeExport
from .exit_probe import PROBE_TIMEOUT_S, endpoint_of, unreachable
from .forking import after_fork_in_child
from .own_work import OWN_WORK
from .secrets import redact_location

__all__ = ["NO_EXPORTER", "ExportOutcomes", "Forwarder", "export_interval_s", "exporters_for", "load_exporters"]

_logger = logging.getLogger("otel_alerting")

#: the value of OTEL_PYTHON_ALERTING_EXPORTERS that forwards to nothing (as the SDK's
#: OTEL_METRICS_EXPORTER=none)
NO_EXPORTER = "none"


class ExportOutcomes:
    """Counts failed metric exports and says so: a WARNING when exporting starts failing
    or fails differently (not at every retry of a collector that stays down), an INFO
    when it works again. ``on_failure`` is called for each failure; what it raises is
    logged at debug and goes no further."""

    def __init__(self, on_failure: Callable[[], None] | None = None) -> None:
        self._on_failure = on_failure
        self.failures = 0
        #: the error last logged (None: the last export succeeded)
        self._failing: str | None = None

    def failed(self, exporter: object, error: str) -> None:
        self.failures += 1
        if error != self._failing:
            self._failing = error
            # the exporter logs its own details (the endpoint, the HTTP error) on each attempt
            _logger.warning(
                "otel-alerting: exporting metrics with %s failed (%s); counted in otel_alerting.export.failures, "
                "logged again only if the error changes",
                type(exporter).__name__,
                error,
            )
        if self._on_failure is not None:
            try:
                self._on_failure()
            except Exception:
                _logger.debug("otel-alerting: counting an export failure failed", exc_info=True)

    def succeeded(self, exporter: object) -> None:
        if self._failing is not None:
            self._failing = None
            _logger.info("otel-alerting: exporting metrics with %s works again", type(exporter).__name__)


class Forwarder:
    """Exports collected data on its own thread.

    With cumulative temporality only the newest collection matters, so it exports
    the latest one every ``OTEL_METRIC_EXPORT_INTERVAL``. With delta temporality
    every collection carries data no other does, so each one is exported, oldest
    dropped (logged, and counted through ``on_drop``) if the exporter falls 64
    batches behind. Each export that fails (the exporter returns FAILURE or raises) is
    counted in ``failures`` and through ``on_failure``, and logged when it starts failing
    or fails differently, not at every retry of a collector that stays down.

    At shutdown, an OTLP/HTTP exporter whose collector refuses the connection (or does
    not answer within ``PROBE_TIMEOUT_S``) is not tried again: its exports are dropped,
    counted, and said in one WARNING naming the endpoint, instead of retried with
    backoff for ``OTEL_EXPORTER_OTLP_TIMEOUT``. The others export as before.

    With ``cumulative`` (the reader aggregates deltas for an exporter that wants
    cumulative data), every collection is folded into it, and what is exported is its
    snapshot, built on the forwarding thread.
    """

    _MAX_BACKLOG = 64

    def __init__(
        self,
        exporters: Sequence[MetricExporter],
        env: Mapping[str, str],
        every_collection: bool,
        on_drop: Callable[[int], None] | None = None,
        on_failure: Callable[[], None] | None = None,
        cumulative: CumulativeExport | None = None,
    ) -> None:
        self._on_drop = on_drop
        self._cumulative = cumulative
        self._outcomes = ExportOutcomes(on_failure)
        self._exporters = exporters
        self._every = every_collection
        self._interval = export_interval_s(env)
        self._timeout_ms = _env_seconds(env, OTEL_METRIC_EXPORT_TIMEOUT, 30.0) * 1000
        self._last_export = time.monotonic()
        self._pending: deque[MetricsData] = deque()
        self._latest: MetricsData | None = None
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self.dropped = 0
        #: exporters given up at shutdown (by id): their endpoint, why, and the exports dropped
        self._given_up: dict[int, _GivenUp] = {}
        self._thread = threading.Thread(target=self._run, name="otel-alerting-forward", daemon=True)
        self._thread.start()
        after_fork_in_child(self._after_fork_in_child)

    def _after_fork_in_child(self) -> None:
        self._cond = threading.Condition()
        self._pending.clear()
        self._busy = False
        if not self._closed:
            self._thread = threading.Thread(target=self._run, name="otel-alerting-forward", daemon=True)
            self._thread.start()

    def offer(self, data: MetricsData, force: bool = False) -> None:
        """Queue one collection for export (``force``: now, whatever the interval)."""
        with self._cond:
            if self._cumulative is not None:
                self._cumulative.add(data)
            if self._every:
                if len(self._pending) >= self._MAX_BACKLOG:
                    self._pending.popleft()
                    self._dropped()
                self._pending.append(data)
            elif force or time.monotonic() - self._last_export >= self._interval:
                self._pending.clear()
                self._pending.append(data)
                self._last_export = time.monotonic()
                self._latest = None  # on its way: a flush must not export it again
            else:
                self._latest = data  # held back by the interval: a flush exports it
            self._cond.notify_all()

    def _dropped(self) -> None:
        self.dropped += 1
        if self.dropped == 1 or self.dropped % 100 == 0:
            _logger.warning(
                "otel-alerting: the metric exporter is too slow; %d collection(s) were not exported so far",
                self.dropped,
            )
        if self._on_drop is not None:
            self._on_drop(self.dropped)

    def _run(self) -> None:
        token = attach(OWN_WORK)
        try:
            while True:
                with self._cond:
                    while not self._pending and not self._closed:
                        self._cond.wait()
                    if not self._pending and self._closed:
                        return
                    data = self._pending.popleft()
                    if self._cumulative is not None:
                        data = self._cumulative.snapshot()
                    self._busy = True
                for exporter in self._exporters:
                    self._export(exporter, data)
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        finally:
            detach(token)

    def _export(self, exporter: MetricExporter, data: MetricsData) -> None:
        given_up = self._given_up.get(id(exporter))
        if given_up is not None:
            given_up.dropped += 1
            return
        try:
            result = exporter.export(data, timeout_millis=self._timeout_ms)
        except Exception as exc:
            _logger.debug("otel-alerting: the metric exporter raised", exc_info=True)
            self._outcomes.failed(exporter, f"{type(exc).__name__} raised")
            return
        if result is MetricExportResult.FAILURE:
            given_up = self._given_up.get(id(exporter))
            if given_up is not None:  # under way when shut down at exit: said in its warning
                given_up.dropped += 1
            else:
                self._outcomes.failed(exporter, "FAILURE returned")
        else:
            self._outcomes.succeeded(exporter)

    @property
    def failures(self) -> int:
        """The exports that failed so far."""
        return self._outcomes.failures

    def flush(self, timeout: float, force_last: bool = False) -> bool:
        """Wait for the queued exports, then flush the exporters; ``force_last``: export
        the latest collection too if the interval held it back."""
        with self._cond:
            if force_last and not self._every and self._latest is not None and not self._pending:
                self._pending.append(self._latest)
                self._latest = None
                self._last_export = time.monotonic()
                self._cond.notify_all()
            if not self._wait_idle(time.monotonic() + timeout):
                return False
        ok = True
        for exporter in self._exporters:
            try:
                ok = bool(exporter.force_flush(timeout_millis=max(timeout, 0.001) * 1000)) and ok
            except Exception:
                ok = False
        return ok

    def _wait_idle(self, end: float) -> bool:
        """Under ``self._cond``: until nothing is queued or exporting, or ``end``."""
        while self._pending or self._busy:
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            self._cond.wait(remaining)
        return True

    def shutdown(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        self._give_up_unreachable(min(timeout, PROBE_TIMEOUT_S))
        self.flush(max(end - time.monotonic(), 0.0), force_last=True)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(max(end - time.monotonic(), 0.0))
        for exporter in self._exporters:
            if id(exporter) not in self._given_up:
                self._shut(exporter, end)
        self._report_given_up()

    def _give_up_unreachable(self, timeout: float) -> None:
        """Probe the endpoint of each exporter that has something to export; shut those
        that cannot be reached down now (which also ends the backoff of an export under
        way) and skip them from here on."""
        with self._cond:
            if not (self._pending or self._busy or self._latest is not None):
                return
        for exporter in self._exporters:
            endpoint = endpoint_of(exporter)
            reason = unreachable(endpoint, timeout) if endpoint is not None and timeout > 0 else None
            if endpoint is not None and reason is not None:
                self._given_up[id(exporter)] = _GivenUp(redact_location(endpoint), reason)
                self._shut(exporter, time.monotonic())

    def _report_given_up(self) -> None:
        for given_up in self._given_up.values():
            self.dropped += given_up.dropped
            if self._on_drop is not None and given_up.dropped:
                self._on_drop(self.dropped)
            _logger.warning(
                "otel-alerting: the collector at %s cannot be reached (%s); %d metric export(s) due at exit "
                "dropped, not retried",
                given_up.endpoint,
                given_up.reason,
                given_up.dropped,
            )

    @staticmethod
    def _shut(exporter: MetricExporter, end: float) -> None:
        try:
            exporter.shutdown(timeout_millis=max(end - time.monotonic(), 0.001) * 1000)
        except Exception:
            _logger.exception("otel-alerting: exporter shutdown failed")


@dataclass
class _GivenUp:
    """An exporter not tried at exit: where it sends, why not, what it did not send."""

    endpoint: str
    reason: str
    dropped: int = 0


def exporters_for(
    settings: Settings, env: Mapping[str, str], given: Sequence[MetricExporter] | None
) -> list[MetricExporter]:
    """The exporters a reader forwards to: ``given``, else those the settings name;
    none in ``reader`` mode or when alerting is disabled."""
    if settings.mode != "export" or not settings.enabled:
        return []
    return list(given) if given is not None else load_exporters(settings.exporters, env)


def export_interval_s(env: Mapping[str, str]) -> float:
    """``OTEL_METRIC_EXPORT_INTERVAL`` in seconds, read as the SDK's periodic reader reads it."""
    return _env_seconds(env, OTEL_METRIC_EXPORT_INTERVAL, 60.0)


def _env_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """An SDK setting in milliseconds, in seconds; a bad one is a warning and ``default``.
    ``inf`` stays: for the SDK's periodic reader it means no periodic export."""
    reader = EnvReader(env)
    millis = reader.parsed(name, _milliseconds)
    for error in reader.errors:
        _logger.warning("otel-alerting: %s; using %gs", error, default)
    return default if millis is None else millis / 1000


def _milliseconds(text: str) -> float:
    try:
        millis = float(text)
    except ValueError:
        millis = math.nan
    if not millis > 0:
        raise ValueError(f"invalid value {text!r}: expected a number of milliseconds above 0")
    return millis


def load_exporters(names: Sequence[str], env: Mapping[str, str]) -> list[MetricExporter]:
    """Instantiate metric exporters by entry-point name, as the SDK's configurator does
    (``otlp`` resolved through ``OTEL_EXPORTER_OTLP_*PROTOCOL``; ``none`` is nothing)."""
    from opentelemetry.sdk._configuration import _get_exporter_entry_point
    from opentelemetry.util._importlib_metadata import entry_points

    exporters: list[MetricExporter] = []
    protocol_set = any(env.get(v) for v in (OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL))
    for name in names:
        if name.strip().lower() == NO_EXPORTER:
            continue
        try:
            if name == "otlp" and not protocol_set:
                # The SDK's bare "otlp" means gRPC, which this package does not depend
                # on; HTTP/protobuf is what it ships with (and what its distro sets).
                name = "otlp_proto_http"
            resolved = _get_exporter_entry_point(name, "metrics")
            found = list(entry_points(group="opentelemetry_metrics_exporter", name=resolved))
            if not found:
                _logger.error("otel-alerting: no metric exporter named %r is installed", resolved)
                continue
            exporter_class = found[0].load()
            if not (isinstance(exporter_class, type) and issubclass(exporter_class, MetricExporter)):
                _logger.error(
                    "otel-alerting: %r is not a push metric exporter; it cannot be forwarded to",
                    name,
                )
                continue
            exporters.append(exporter_class())
        except Exception:
            _logger.exception("otel-alerting: cannot create metric exporter %r", name)
    return exporters
