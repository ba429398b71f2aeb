"""ProbeRunner: checks every target on one daemon thread, each check in its own span.

Like the SDK's ``PeriodicExportingMetricReader`` (and our reader) the thread waits on
an Event, restarts after ``fork()`` and never raises. Checks run one after the other,
never inside a metric callback and never on the application's threads; the gauges
read the board they fill. Each check's I/O runs under instrumentation suppression so
the Redis and httpx instrumentations stay silent about it; the check's own span is
started first, with the tracer directly, so suppression does not hide it too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context, attach, detach, set_value
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.util.types import AttributeValue

from ...failure_log import process_failures
from ...forking import after_fork_in_child
from ...version import __version__
from .check import Check, CheckFailed
from .http_check import HttpCheck
from .metrics import HealthMetrics
from .redis_ping import RedisPing
from .state import DependencyKey, HealthBoard, Transition, error_type_of
from .targets import DEFAULT_INTERVAL_S, DEFAULT_TIMEOUT_S, ProbeTarget

__all__ = ["CheckResult", "ProbeRunner", "active_runner", "set_active_runner"]

_logger = logging.getLogger("otel_alerting.dependencies")

ERROR_TYPE = "error.type"
OUTAGE_DURATION = "otel_alerting.dependency.outage.duration"
MAX_DISCOVERED = 4
_MAX_MESSAGE = 300


@dataclass(frozen=True)
class CheckResult:
    key: DependencyKey
    ok: bool
    duration: float
    error_type: str | None = None
    message: str | None = None
    transition: Transition | None = None


def _make_check(target: ProbeTarget, timeout: float) -> Check:
    if target.kind == "redis":
        return RedisPing(target, timeout)
    return HttpCheck(target, timeout)


class ProbeRunner:
    """Probes ``targets`` every ``interval`` seconds once ``start``-ed.

    ``check_now`` runs one round on the calling thread, which is how tests drive it
    against a fake clock.
    """

    def __init__(
        self,
        targets: Sequence[ProbeTarget],
        board: HealthBoard,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        timeout: float = DEFAULT_TIMEOUT_S,
        tracer_provider: TracerProvider | None = None,
        metrics: HealthMetrics | None = None,
    ) -> None:
        self.board = board
        self.interval = interval
        self.timeout = timeout
        self._tracer = trace.get_tracer("otel_alerting.dependencies", __version__, tracer_provider)
        self._metrics = metrics
        self._targets: list[tuple[ProbeTarget, Check]] = [(t, _make_check(t, timeout)) for t in targets]
        self._lock = threading.Lock()  # guards _targets; a round copies the list
        self._round_lock = threading.Lock()  # one round at a time (thread, or a test's check_now)
        self._stop = threading.Event()
        self._started = False
        self._thread: threading.Thread | None = None
        after_fork_in_child(self._after_fork_in_child)

    @property
    def targets(self) -> list[ProbeTarget]:
        with self._lock:
            return [t for t, _ in self._targets]

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    # --- targets found at run time -------------------------------------------

    def discover(self, target: ProbeTarget) -> bool:
        """Add a target the application revealed (the server of a ``chromadb.HttpClient``)
        unless one of that name was configured; starts the thread if it was waiting
        for a first target. Returns whether it was added."""
        with self._lock:
            if any(t.name == target.name and (not t.discovered or t.key == target.key) for t, _ in self._targets):
                return False
            if sum(1 for t, _ in self._targets if t.discovered) >= MAX_DISCOVERED:
                return False
            self._targets.append((target, _make_check(target, self.timeout)))
            start = self._started and self._thread is None
        _logger.info("otel-alerting: probing %s at %s, found in use", target.name, target.display)
        if start:
            self._start_thread()
        return True

    # --- thread --------------------------------------------------------------

    def start(self) -> None:
        """Start the thread, now if there is a target, else at the first discovered one."""
        with self._lock:
            self._started = True
            ready = bool(self._targets) and self._thread is None and not self._stop.is_set()
        if ready:
            self._start_thread()

    def _start_thread(self) -> None:
        thread = threading.Thread(target=self._run, name="otel-alerting-probes", daemon=True)
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = thread
        thread.start()

    def _run(self) -> None:
        next_round = time.monotonic()
        while not self._stop.wait(max(next_round - time.monotonic(), 0.0)):
            try:
                self.check_now()
            except Exception as exc:  # check_now guards each check; this is the last resort
                process_failures.failed("probes", exc, _logger)
            else:
                process_failures.succeeded("probes", _logger)
            next_round += self.interval
            now = time.monotonic()
            if next_round < now:  # a slow round: skip the missed ones, keep the phase
                next_round += ((now - next_round) // self.interval + 1) * self.interval

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the thread; True if it ended within ``timeout``."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                return False
        for _, check in self._targets:
            try:
                check.close()
            except Exception:
                _logger.debug("otel-alerting: closing a probe failed", exc_info=True)
        return True

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._round_lock = threading.Lock()
        running = self._thread is not None and not self._stop.is_set()
        self._stop = threading.Event()
        self._thread = None
        for _, check in self._targets:
            check.reset_after_fork()
        if running:
            self._start_thread()

    # --- checks --------------------------------------------------------------

    def check_now(self) -> list[CheckResult]:
        """One check of every target, in order; never raises."""
        with self._round_lock:
            with self._lock:
                targets = list(self._targets)
            return [self._check(target, check) for target, check in targets]

    def _check(self, target: ProbeTarget, check: Check) -> CheckResult:
        key = target.key
        attributes: dict[str, AttributeValue] = dict(key.attributes())
        at = self.board.clock()
        # A root span (an empty context): a check belongs to no request of the application.
        span = self._tracer.start_span(
            f"otel_alerting.probe {target.name}", context=Context(), kind=SpanKind.CLIENT, attributes=attributes
        )
        started = time.perf_counter()
        error: BaseException | None = None
        extra: dict[str, AttributeValue] = {}
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True, trace.set_span_in_context(span)))
        try:
            extra = dict(check.run())
        except Exception as exc:
            error = exc
        finally:
            detach(token)
            duration = time.perf_counter() - started
        error_type = message = None
        if error is not None:
            error_type = error.error_type if isinstance(error, CheckFailed) else error_type_of(error)
            message = target.scrub(str(error))[:_MAX_MESSAGE] or error_type
        transition = None
        try:
            transition = self.board.record(
                key, error is None, at=at, error_type=error_type, message=message, latency=duration
            )
            span.set_attributes(extra)
            if error_type is not None:
                span.set_attribute(ERROR_TYPE, error_type)
                span.set_status(Status(StatusCode.ERROR, f"{error_type}: {message}"))
            if transition is not None and transition.outage is not None:
                span.set_attribute(OUTAGE_DURATION, transition.outage)
            span.end()
            if self._metrics is not None:
                recorded = dict(attributes)
                if error_type is not None:
                    recorded[ERROR_TYPE] = error_type
                self._metrics.record_check(duration, recorded)
        except Exception as exc:
            process_failures.failed("probe_record", exc, _logger)
        else:
            process_failures.succeeded("probe_record", _logger)
        return CheckResult(key, error is None, duration, error_type, message, transition)


_active: ProbeRunner | None = None


def active_runner() -> ProbeRunner | None:
    """The runner of the dependency instrumentor, if instrumented (for discovery)."""
    return _active


def set_active_runner(runner: ProbeRunner | None) -> None:
    global _active
    _active = runner
