"""AlertingMetricReader: evaluates alert rules on every collection.

Registered under ``opentelemetry_metrics_exporter`` as ``otel_alerting``, so the SDK
builds it with no arguments: it reads its own environment. Like the SDK's
``PeriodicExportingMetricReader`` it runs a daemon timer thread that restarts after
``fork()``, suppresses instrumentation while it works, and never raises into the
application.

Two modes (see docs/modes.md):

* ``reader``: a second reader beside the OTLP one. The SDK aggregates every
  measurement once per reader, so the application pays twice for each one.
* ``export``: the only reader. It evaluates, then hands the same ``MetricsData`` to
  the metric exporters (``export_mode``).

At start-up it reads the settings, then loads the rules and the channels on a thread of
its own and reports their problems, so that the host's start-up does not wait for a large
rules file; strict mode loads them during the start-up, to stop the process there. The alerting system itself (the
engine, the notification pipeline and its thread) is assembled at the first tick,
or when something asks for it first: the host's start-up does not pay for it.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry.context import attach, detach
from opentelemetry.metrics import MeterProvider
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
from opentelemetry.sdk.metrics.view import Aggregation

from .active import set_active_reader
from .config import Settings, load_settings, report_problems
from .configuration import Configuration, load_configuration
from .cumulative import CumulativeExport, exports_folded
from .errors import ConfigurationProblems
from .export_mode import Forwarder, exporters_for
from .export_watch import watch_exports
from .failure_log import process_failures
from .forking import after_fork_in_child, around_fork
from .notify.channel import Channel
from .own_work import OWN_WORK
from .telemetry import SelfTelemetry

if TYPE_CHECKING:
    from .http import HealthServer
    from .system import AlertingSystem

__all__ = ["READER_MODE_TEMPORALITY", "AlertingMetricReader"]

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

#: The aggregation of a reader-mode reader, and of an export-mode reader whose exporter
#: wants cumulative data (folded back for it: ``cumulative``): counters and histograms as
#: deltas, so that the SDK forgets a series at the first collection without a measurement
#: of it (cumulative aggregation keeps every series ever seen, and counts them all against
#: the cardinality limit). Gauges and up-down counters stay cumulative: their value is
#: their last one, measured or not.
READER_MODE_TEMPORALITY: Mapping[type, AggregationTemporality] = {
    Counter: AggregationTemporality.DELTA,
    Histogram: AggregationTemporality.DELTA,
}


class AlertingMetricReader(MetricReader):
    """A ``MetricReader`` that evaluates alert rules on its own timer.

    Every argument is optional: the SDK passes none, tests and
    ``otel_alerting.testing`` pass a clock, channels or settings.
    ``interval_ms=math.inf`` (or ``start_timer=False``) leaves collection to the caller.
    In ``export`` mode, ``exporters`` replaces the exporters the settings name.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        channels: Sequence[Channel] | None = None,
        exporters: Sequence[MetricExporter] | None = None,
        clock: Callable[[], float] | None = None,
        start_timer: bool = True,
        preferred_temporality: dict[type, AggregationTemporality] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.settings = settings = settings or _read_settings(env)
        forward_to = exporters_for(settings, env, exporters)
        plan = _aggregation_plan(forward_to[0] if forward_to else None, preferred_temporality)
        super().__init__(
            preferred_temporality=plan.temporality,
            preferred_aggregation=plan.aggregation,
            cardinality_limits=dict.fromkeys(_INSTRUMENTS, settings.cardinality_limit),
        )
        self._env = env
        self._clock = clock
        # what the evaluator counts from: the start, not the first tick
        self._start = clock() if clock is not None else time.time()
        self._start_ns = time.time_ns()
        self._system: AlertingSystem | None = None
        #: loaded and checked at start-up; the system is built from it on first need
        self._configuration: Configuration | None = None
        self._system_lock = threading.Lock()
        #: held while this reader collects (see ``_before_fork``)
        self._collect_lock = threading.Lock()
        #: the locks the thread that forks holds until the parent goes on
        self._held_for_fork: list[threading.Lock] = []
        #: the plugin's own metrics, created with the MeterProvider, fed once the system runs
        self._telemetry: SelfTelemetry | None = None
        self._shutdown_done = False
        self._shutdown_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._forwarder: Forwarder | None = None
        #: the thread that collects in our own context (see ``_collect_once``), if any
        self._suppressed_in: int | None = None
        #: the standalone /health server, when OTEL_PYTHON_ALERTING_HTTP_PORT is set
        self._http: HealthServer | None = None
        #: the configuration loading on its own thread (see ``_load_in_background``)
        self._loading: threading.Thread | None = None
        if not settings.enabled:
            return
        self._given_channels = channels
        if _loads_in_background(settings, start_timer):
            set_active_reader(self)
            self._loading = self._start_loading(settings, env, channels)
        else:
            self._configuration = self._start_up(settings, env, channels)
        if (self._configuration is not None or self._loading is not None) and settings.http_port is not None:
            self._http = self._start_http()
        if forward_to:
            self._forwarder = Forwarder(
                forward_to,
                env,
                every_collection=plan.every_collection,
                on_drop=self._forward_dropped,
                on_failure=self._export_failed,
                cumulative=CumulativeExport(settings.cardinality_limit) if plan.folded else None,
            )
        # In export mode the timer also carries the application's metrics to the
        # exporters: it runs even when the alerting system could not be built.
        if start_timer and settings.interval_ms != math.inf and self._has_work():
            self._start_timer()
        if self._thread is not None or self._configuration is not None or self._loading is not None:
            after_fork_in_child(self._after_fork_in_child)
            around_fork(self._before_fork, self._after_fork_in_parent)

    def _start_http(self) -> HealthServer | None:
        # held weakly: the server's thread must not keep a dropped reader alive
        system = weakref.WeakMethod(self._ensure_system)

        def current() -> AlertingSystem | None:
            ensure = system()
            return ensure() if ensure is not None else None

        try:
            from .http import start_server

            return start_server(self.settings, current)
        except Exception:
            _logger.exception("otel-alerting: cannot start the HTTP server")
            return None

    def _has_work(self) -> bool:
        return self._configuration is not None or self._forwarder is not None or self._loading is not None

    def _start_loading(
        self, settings: Settings, env: Mapping[str, str], channels: Sequence[Channel] | None
    ) -> threading.Thread:
        """Load the configuration on a thread of its own: ten thousand rules take
        seconds to read, which the host's start-up must not wait for. Whatever needs
        the configuration (the first tick, ``system``, a flush) waits for it."""

        def load() -> None:
            token = attach(OWN_WORK)
            try:
                self._configuration = self._start_up(settings, env, channels)
            except Exception:  # strict mode loads in the foreground; nothing else raises
                _logger.exception("otel-alerting: failed to start; alerting disabled")
            finally:
                detach(token)

        thread = threading.Thread(target=load, name="otel-alerting-load", daemon=True)
        thread.start()
        return thread

    def _wait_for_loading(self) -> None:
        loading = self._loading
        if loading is None or loading is threading.current_thread():
            return
        # not past shutdown: a process that ends while its rules load has nothing to
        # evaluate yet, and neither its exit nor its final export waits for them
        while loading.is_alive() and not self._stop.is_set():
            loading.join(0.05)

    def _start_up(
        self, settings: Settings, env: Mapping[str, str], channels: Sequence[Channel] | None
    ) -> Configuration | None:
        """The configuration loaded and checked, this reader made the active one;
        None (logged) when it cannot start. Strict mode's stop is let through."""
        try:
            configuration = self._load(settings, env, channels)
            set_active_reader(self)
        except ConfigurationProblems:
            raise
        except Exception:
            _logger.exception("otel-alerting: failed to start; alerting disabled")
            return None
        return configuration

    def _load(self, settings: Settings, env: Mapping[str, str], channels: Sequence[Channel] | None) -> Configuration:
        """The configuration, its problems reported now (in strict mode, raised)."""
        config = load_configuration(settings, env, channels)
        problems = config.problems
        if problems and settings.strict:
            _logger.critical("otel-alerting: invalid configuration (strict mode):\n  %s", "\n  ".join(problems))
            raise ConfigurationProblems("otel-alerting: invalid configuration (strict mode), see above")
        report_problems(problems)
        return config

    # --- the MetricReader API ---------------------------------------------------------

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        # collections of the timer, force_flush and shutdown run suppressed already;
        # someone else's ``collect()`` does not
        token = None if self._suppressed_in == threading.get_ident() else attach(OWN_WORK)
        try:
            system = self._system if self._system is not None else self._ensure_system()
            if system is not None:
                try:
                    system.evaluate(metrics_data)
                except Exception as exc:
                    system.failures.failed("evaluation", exc)
                else:
                    system.failures.succeeded("evaluation")
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
        if self._system is not None or self._has_work():
            self._collect_once(max(deadline - time.monotonic(), 0.001) * 1000)  # the final evaluation
        if self._forwarder is not None:
            self._forwarder.shutdown(max(deadline - time.monotonic(), 0.0))
        if self._system is not None:
            self._system.shutdown(max(deadline - time.monotonic(), 0.0))
        if self._http is not None:
            self._http.close(max(deadline - time.monotonic(), 0.1))

    # --- the alerting system, assembled on first need ---------------------------------

    @property
    def system(self) -> AlertingSystem | None:
        """The running alerting system (assembled now if the first tick has not come
        yet), None when disabled."""
        return self._ensure_system()

    def _ensure_system(self) -> AlertingSystem | None:
        """The alerting system, assembled from the loaded configuration on first call."""
        if self._system is not None:
            return self._system
        self._wait_for_loading()
        if self._configuration is None:
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
                    configuration_problems=config.problems,
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

    def _set_meter_provider(self, meter_provider: MeterProvider) -> None:
        super()._set_meter_provider(meter_provider)
        if self.settings.enabled and self.settings.mode == "reader":  # the OTLP reader's failures, counted too
            watch_exports(meter_provider, self._export_failed)
        if self._system is None and self._configuration is None and self._loading is None:
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

    def _forward_dropped(self, total: int) -> None:
        if self._system is not None:
            self._system.record_forward_drop()

    def _export_failed(self) -> None:
        if self._system is not None:
            self._system.record_export_failure()

    # --- the timer --------------------------------------------------------------------

    def _start_timer(self) -> None:
        self._thread = threading.Thread(target=self._ticker, name="otel-alerting-reader", daemon=True)
        self._thread.start()

    def _ticker(self) -> None:
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
        # the running system's log; the process's before it runs (export mode without it)
        failures = self._system.failures if self._system is not None else process_failures
        try:
            with self._collect_lock:
                self._suppressed_in = threading.get_ident()
                try:
                    self.collect(timeout_millis=timeout_millis)
                finally:
                    self._suppressed_in = None
        except Exception as exc:
            failures.failed("collection", exc)
        else:
            failures.succeeded("collection")
        finally:
            if token is not None:
                detach(token)

    # --- fork() -----------------------------------------------------------------------

    def _before_fork(self) -> None:
        # A lock held by a thread of the parent at fork() stays held in the child, which
        # does not have that thread. Assembling the system (on the timer's thread, at the
        # first tick) would leave the child half of it and maybe a module half imported;
        # a collection holds the SDK's own collection lock, which the SDK does not renew
        # in a child. So the fork waits, a bounded time, until neither is under way
        # (collect first: a collection may assemble the system).
        deadline = time.monotonic() + _FORK_WAIT_S
        # a child forked while the configuration loads would have none, nor the thread
        if self._loading is not None and self._loading is not threading.current_thread():
            self._loading.join(_FORK_WAIT_S)
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
        if self._loading is not None and self._loading.is_alive():
            # forked while loading, past the wait: the thread is the parent's; load again
            self._loading = self._start_loading(self.settings, self._env, self._given_channels)
        if self._thread is not None and not self._stop.is_set():
            self._start_timer()


@dataclass(frozen=True)
class _AggregationPlan:
    """How the reader's one aggregation is made, and how its forwarder exports it."""

    temporality: dict[type, AggregationTemporality] | None
    aggregation: dict[type, Aggregation] | None
    #: counters and histograms collected as deltas and folded back for the exporter
    folded: bool = False
    #: the exporter wants deltas: every collection carries data of its own
    every_collection: bool = False


def _aggregation_plan(
    exporter: MetricExporter | None, preferred: dict[type, AggregationTemporality] | None
) -> _AggregationPlan:
    """Without an exporter (reader mode), ``preferred`` or reader mode's deltas. With one
    (export mode), the exporter's preferences, since the collector receives this one
    aggregation; but when it wants cumulative counters and histograms, they are
    aggregated as deltas, so that idle series are forgotten, and folded back for it
    (``cumulative``)."""
    if exporter is None:
        return _AggregationPlan(preferred if preferred is not None else dict(READER_MODE_TEMPORALITY), None)
    wanted: dict[type, AggregationTemporality] = getattr(exporter, "_preferred_temporality", preferred) or {}
    folded = exports_folded(exporter)
    return _AggregationPlan(
        temporality={**wanted, **READER_MODE_TEMPORALITY} if folded else wanted,
        aggregation=getattr(exporter, "_preferred_aggregation", None),
        folded=folded,
        every_collection=AggregationTemporality.DELTA in wanted.values(),
    )


def _loads_in_background(settings: Settings, start_timer: bool) -> bool:
    """Whether the configuration loads on a thread of its own: not in strict mode, which
    must stop the process during its start-up, nor for a reader without its timer (tests
    and ``otel_alerting.testing`` read the result at once)."""
    return not settings.strict and start_timer and settings.interval_ms != math.inf


def _read_settings(env: Mapping[str, str]) -> Settings:
    try:
        return load_settings(env)
    except Exception:
        _logger.exception("otel-alerting: cannot read settings; alerting disabled")
        return Settings(enabled=False)
