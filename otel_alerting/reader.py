"""AlertingMetricReader: evaluates alert rules on every collection.

Registered under ``opentelemetry_metrics_exporter`` as ``otel_alerting``, so the SDK
builds it with no arguments: it reads its own environment. Like the SDK's
``PeriodicExportingMetricReader`` it runs a daemon timer thread that restarts after
``fork()``, suppresses instrumentation while it works, and never raises into the
application.

Two modes:

* ``reader``: a second reader beside the OTLP one. The SDK aggregates every
  measurement once per reader, so the application pays twice for each one.
* ``export``: the only reader. It evaluates, then hands the same ``MetricsData`` to
  the metric exporters (OTLP by default) on a forwarding thread, so a slow collector
  never delays an evaluation.

At start-up it loads the settings, the rules and the channels, and reports their
problems (strict mode stops the process there). The alerting system itself (the
engine, the notification pipeline and its thread) is assembled at the first tick,
or when something asks for it first: the host's start-up does not pay for it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.context import attach, detach
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_METRIC_EXPORT_INTERVAL,
    OTEL_METRIC_EXPORT_TIMEOUT,
)
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics import _Gauge as Gauge
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricReader,
    MetricsData,
)

from .active import set_active_reader
from .channels import Channel
from .config import Settings, load_settings
from .configuration import Configuration, load_configuration
from .errors import ConfigurationProblems
from .forking import after_fork_in_child, around_fork
from .own_work import OWN_WORK
from .telemetry import SelfTelemetry

if TYPE_CHECKING:
    from .system import AlertingSystem

__all__ = ["AlertingMetricReader"]

_logger = logging.getLogger("otel_alerting")

#: how long a fork() waits at most for an assembly or a collection under way (see _before_fork)
_FORK_WAIT_S = 5.0

_INSTRUMENTS = (
    Counter,
    UpDownCounter,
    Histogram,
    Gauge,
    ObservableCounter,
    ObservableUpDownCounter,
    ObservableGauge,
)


class AlertingMetricReader(MetricReader):
    """A ``MetricReader`` that evaluates alert rules on its own timer.

    Every argument is optional: the SDK passes none, tests and
    ``otel_alerting.testing`` pass a clock, channels or settings.
    ``interval_ms=math.inf`` (or ``start_timer=False``) leaves collection to the caller.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        channels: Sequence[Channel] | None = None,
        exporters: Sequence[MetricExporter] | None = None,
        clock: Any = None,
        start_timer: bool = True,
        preferred_temporality: dict[type, AggregationTemporality] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self._system: AlertingSystem | None = None
        #: loaded and checked at start-up; the system is built from it on first need
        self._configuration: Configuration | None = None
        self._system_lock = threading.Lock()
        #: held while this reader collects (see ``_before_fork``)
        self._collect_lock = threading.Lock()
        #: the locks the thread that forks holds until the parent goes on
        self._held_for_fork: list[threading.Lock] = []
        self._env = env
        self._clock = clock
        # what the evaluator counts from: the start, not the first tick
        self._start = clock() if clock is not None else time.time()
        self._start_ns = time.time_ns()
        #: the plugin's own metrics, created with the MeterProvider, fed once the system runs
        self._telemetry: SelfTelemetry | None = None
        self._exporters: list[MetricExporter] = []
        self._shutdown_done = False
        self._shutdown_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._forwarder: _Forwarder | None = None
        self._received = 0
        #: the thread that collects in our own context (see ``_collect_once``), if any
        self._suppressed_in: int | None = None
        try:
            settings = settings or load_settings(env)
        except Exception:
            _logger.exception("otel-alerting: cannot read settings; alerting disabled")
            settings = Settings(enabled=False)
        self.settings = settings
        if settings.mode == "export" and settings.enabled:
            self._exporters = list(exporters) if exporters is not None else _load_exporters(settings.exporters, env)
        first = self._exporters[0] if self._exporters else None
        limits = {kind: settings.cardinality_limit for kind in _INSTRUMENTS}
        super().__init__(
            preferred_temporality=getattr(first, "_preferred_temporality", preferred_temporality),
            preferred_aggregation=getattr(first, "_preferred_aggregation", None),
            cardinality_limits=limits,
        )
        if not settings.enabled:
            return
        try:
            self._configuration = self._load(settings, env, channels)
            set_active_reader(self)
        except ConfigurationProblems:
            raise
        except Exception:
            _logger.exception("otel-alerting: failed to start; alerting disabled")
            self._configuration = None
        if self._exporters:
            delta = any(t == AggregationTemporality.DELTA for t in self._instrument_class_temporality.values())
            self._forwarder = _Forwarder(self._exporters, env, every_collection=delta, on_drop=self._forward_dropped)
        # In export mode the timer also carries the application's metrics to the
        # exporters: it runs even when the alerting system could not be built.
        if (
            start_timer
            and (self._configuration is not None or self._forwarder is not None)
            and settings.interval_ms != float("inf")
        ):
            self._start_timer()
        if self._thread is not None or self._configuration is not None:
            after_fork_in_child(self._after_fork_in_child)
            around_fork(self._before_fork, self._after_fork_in_parent)

    def _load(self, settings: Settings, env: Mapping[str, str], channels: Sequence[Channel] | None) -> Configuration:
        """The configuration, its problems reported now (in strict mode, raised)."""
        config = load_configuration(settings, env, channels)
        problems = config.problems
        if problems:
            listing = "\n  ".join(problems)
            if settings.strict:
                _logger.critical("otel-alerting: invalid configuration (strict mode):\n  %s", listing)
                raise ConfigurationProblems("otel-alerting: invalid configuration (strict mode), see above")
            _logger.error(
                "otel-alerting: %d configuration problem(s); the affected settings use their "
                "defaults and the affected rules are not loaded:\n  %s",
                len(problems),
                listing,
            )
        return config

    def _ensure_system(self) -> AlertingSystem | None:
        """The alerting system, assembled from the loaded configuration on first call."""
        if self._system is not None or self._configuration is None:
            return self._system
        with self._system_lock:
            # The configuration is let go of once the system is built, not before: a
            # child forked in between would have neither (see _before_fork).
            config = self._configuration
            if config is None:  # another thread built it meanwhile
                return self._system
            try:
                from .system import AlertingSystem

                system = AlertingSystem(
                    self.settings,
                    config.rule_set,
                    channels=list(config.channels),
                    notify=config.notify,
                    environ=self._env,
                    clock=self._clock if self._clock is not None else time.time,
                    start=self._start,
                    start_ns=self._start_ns,
                )
            except Exception:
                _logger.exception("otel-alerting: failed to start; alerting disabled")
                self._configuration = None
                return None
            if self._telemetry is not None:
                system.use_telemetry(self._telemetry)
            self._system = system
            self._configuration = None
            return system

    def _forward_dropped(self, total: int) -> None:
        if total == 1 or total % 100 == 0:
            _logger.warning(
                "otel-alerting: the metric exporter is too slow; %d collection(s) were not exported so far", total
            )
        if self._system is not None:
            self._system.record_forward_drop()

    @property
    def system(self) -> AlertingSystem | None:
        """The running alerting system (assembled now if the first tick has not come
        yet), None when disabled."""
        return self._ensure_system()

    def _set_meter_provider(self, meter_provider: Any) -> None:
        super()._set_meter_provider(meter_provider)
        if self._system is None and self._configuration is None:
            return
        try:
            telemetry = SelfTelemetry(meter_provider)
        except Exception:
            _logger.exception("otel-alerting: cannot create its own metrics")
            return
        with self._system_lock:
            self._telemetry = telemetry
            system = self._system
        if system is not None:
            system.use_telemetry(telemetry)

    # --- timer ---------------------------------------------------------------

    def _start_timer(self) -> None:
        self._thread = threading.Thread(target=self._tick_forever, name="otel-alerting-reader", daemon=True)
        self._thread.start()

    def _before_fork(self) -> None:
        # A lock held by a thread of the parent at fork() stays held in the child, which
        # does not have that thread. Assembling the system (on the timer's thread, at the
        # first tick) would leave the child half of it and maybe a module half imported;
        # a collection holds the SDK's own collection lock, which the SDK does not renew
        # in a child. So the fork waits, a bounded time, until neither is under way
        # (collect first: a collection may assemble the system).
        deadline = time.monotonic() + _FORK_WAIT_S
        for lock in (self._collect_lock, self._system_lock):
            if lock.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
                self._held_for_fork.append(lock)

    def _after_fork_in_parent(self) -> None:
        held, self._held_for_fork = self._held_for_fork, []
        for lock in reversed(held):
            lock.release()

    def _after_fork_in_child(self) -> None:
        self._system_lock = threading.Lock()
        self._collect_lock = threading.Lock()
        self._held_for_fork = []
        self._suppressed_in = None  # a parent's collection, if fork() did not wait for it
        if self._thread is not None and not self._stop.is_set():
            self._start_timer()

    def _tick_forever(self) -> None:
        interval = self.settings.interval_ms / 1000.0
        next_tick = time.monotonic() + interval
        announced = False
        while not self._stop.wait(max(next_tick - time.monotonic(), 0.0)):
            if not announced:
                system = self._ensure_system()
                if system is not None:
                    # Stated at the first tick, not during bootstrap: by then the application
                    # has usually configured logging, so the record is not lost.
                    _logger.info("%s", system.status_line())
                announced = True
                # From now on this thread does only the plugin's own work: its context is
                # set once rather than on every tick (it dies with the thread).
                attach(OWN_WORK)
            self._collect_once(in_own_work=True)
            next_tick += interval
            now = time.monotonic()
            if next_tick < now:  # a slow collection: skip missed ticks, keep the phase
                next_tick += ((now - next_tick) // interval + 1) * interval

    def _collect_once(self, timeout_millis: float = 10_000, *, in_own_work: bool = False) -> None:
        """One collection and its evaluation, in the plugin's own context (``in_own_work``:
        the caller runs in it already, as the timer's thread does)."""
        token = None if in_own_work else attach(OWN_WORK)
        try:
            with self._collect_lock:
                self._suppressed_in = threading.get_ident()
                try:
                    self.collect(timeout_millis=timeout_millis)
                finally:
                    self._suppressed_in = None
        except Exception:
            _logger.exception("otel-alerting: collection failed")
        finally:
            if token is not None:
                detach(token)

    # --- MetricReader --------------------------------------------------------

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        self._received += 1
        # collections of the timer, force_flush and shutdown run suppressed already;
        # someone else's ``collect()`` does not
        token = None if self._suppressed_in == threading.get_ident() else attach(OWN_WORK)
        try:
            system = self._system if self._system is not None else self._ensure_system()
            if system is not None:
                try:
                    system.evaluate(metrics_data)
                except Exception:
                    _logger.exception("otel-alerting: evaluation failed")
            if self._forwarder is not None:
                self._forwarder.offer(metrics_data, force=kwargs.get("force", False))
        finally:
            if token is not None:
                detach(token)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        deadline = time.monotonic() + timeout_millis / 1000
        self._ensure_system()  # before the collection, so that it has the plugin's own metrics
        self._collect_once(timeout_millis)
        ok = True
        if self._forwarder is not None:
            ok = self._forwarder.flush(max(deadline - time.monotonic(), 0.0), force_last=True)
        if self._system is not None:
            ok = self._system.flush(max(deadline - time.monotonic(), 0.0)) and ok
        return ok

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        with self._shutdown_lock:
            if self._shutdown_done:
                _logger.warning("Can't shutdown multiple times")
                return
            self._shutdown_done = True
        # our own limit, so that a channel that is down cannot take the whole budget
        # of MeterProvider.shutdown from the readers shut down after this one
        deadline = time.monotonic() + min(timeout_millis / 1000, self.settings.shutdown_timeout_s)
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(max(deadline - time.monotonic(), 0.0))
        if self._system is not None or self._configuration is not None or self._forwarder is not None:
            self._collect_once(max(deadline - time.monotonic(), 0.001) * 1000)  # the final evaluation
        if self._forwarder is not None:
            self._forwarder.shutdown(max(deadline - time.monotonic(), 0.0))
        if self._system is not None:
            self._system.shutdown(max(deadline - time.monotonic(), 0.0))


class _Forwarder:
    """Exports collected data on its own thread (``export`` mode).

    With cumulative temporality only the newest collection matters, so it exports
    the latest one every ``OTEL_METRIC_EXPORT_INTERVAL``. With delta temporality
    every collection carries data no other does, so each one is exported, oldest
    dropped (and counted) if the exporter falls 64 batches behind.
    """

    _MAX_BACKLOG = 64

    def __init__(
        self,
        exporters: Sequence[MetricExporter],
        env: Mapping[str, str],
        every_collection: bool,
        on_drop: Callable[[int], None] | None = None,
    ) -> None:
        self._on_drop = on_drop
        self._exporters = exporters
        self._every = every_collection
        self._interval = _env_seconds(env, OTEL_METRIC_EXPORT_INTERVAL, 60.0)
        self._timeout_ms = _env_seconds(env, OTEL_METRIC_EXPORT_TIMEOUT, 30.0) * 1000
        self._last_export = time.monotonic()
        self._pending: deque[MetricsData] = deque()
        self._latest: MetricsData | None = None
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self.dropped = 0
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
        with self._cond:
            if self._every:
                if len(self._pending) >= self._MAX_BACKLOG:
                    self._pending.popleft()
                    self.dropped += 1
                    if self._on_drop is not None:
                        self._on_drop(self.dropped)
                self._pending.append(data)
            else:
                self._latest = data
                if force or time.monotonic() - self._last_export >= self._interval:
                    self._pending.clear()
                    self._pending.append(data)
                    self._last_export = time.monotonic()
            self._cond.notify_all()

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
                    self._busy = True
                for exporter in self._exporters:
                    try:
                        exporter.export(data, timeout_millis=self._timeout_ms)
                    except Exception:
                        _logger.exception("otel-alerting: exporting metrics failed")
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        finally:
            detach(token)

    def flush(self, timeout: float, force_last: bool = False) -> bool:
        with self._cond:
            if force_last and not self._every and self._latest is not None and not self._pending:
                self._pending.append(self._latest)
                self._last_export = time.monotonic()
                self._cond.notify_all()
            end = time.monotonic() + timeout
            while self._pending or self._busy:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        ok = True
        for exporter in self._exporters:
            try:
                ok = bool(exporter.force_flush(timeout_millis=max(timeout, 0.001) * 1000)) and ok
            except Exception:
                ok = False
        return ok

    def shutdown(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        self.flush(timeout, force_last=True)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(max(end - time.monotonic(), 0.0))
        for exporter in self._exporters:
            try:
                exporter.shutdown(timeout_millis=max(end - time.monotonic(), 0.001) * 1000)
            except Exception:
                _logger.exception("otel-alerting: exporter shutdown failed")


def _env_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        value = float(env.get(name, default * 1000)) / 1000
    except ValueError:
        _logger.warning("invalid %s; using %gs", name, default)
        return default
    return value if value > 0 else default


def _load_exporters(names: Sequence[str], env: Mapping[str, str]) -> list[MetricExporter]:
    """Instantiate metric exporters by entry-point name, as the SDK's configurator does
    (``otlp`` resolved through ``OTEL_EXPORTER_OTLP_*PROTOCOL``)."""
    from opentelemetry.sdk._configuration import _get_exporter_entry_point
    from opentelemetry.util._importlib_metadata import entry_points

    exporters: list[MetricExporter] = []
    protocol_set = any(env.get(v) for v in (OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL))
    for name in names:
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
