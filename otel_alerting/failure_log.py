"""How many lines a step of the plugin's own work writes when it keeps failing.

An evaluation, a collection or a save of the alert state runs at every tick (every
second by default): a store or a probe that stays broken would write one traceback a
second into the host's log. Per step (``STEPS``), the first failure with a given error
(type and message) is logged at ERROR with its traceback; its repeats are not, but at
most once per ``interval`` one WARNING gives their count since the line before and the
latest error; the first success after failures logs one INFO. A step that fails and
works by turns is told like one that keeps failing: its errors get their traceback
again only after an interval without a line. Every failure is still counted, exactly:
``steps()`` feeds ``/health`` and ``listen`` the counter ``otel_alerting.plugin.failures``.

Lines are written after this log's lock is released; the module never raises (a
logging handler that fails is the logging module's to report).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .forking import after_fork_in_child
from .secrets import clean

__all__ = ["STEPS", "FailureLog", "StepFailures", "process_failures"]

_logger = logging.getLogger("otel_alerting")

#: each step of the plugin's own work that may fail again and again, and what it does
STEPS = {
    "cache_stats": "reading cache statistics",
    "collection": "collection",
    "evaluation": "evaluation",
    "flush": "scheduled notification flush",
    "health_report": "building the health report",
    "probe_record": "recording a dependency check",
    "probes": "a round of dependency checks",
    "state_save": "saving the alert state",
    "subscriber": "a notification subscriber",
}

#: distinct errors of one failing step that each get their traceback; past it, a step
#: whose message changes at every failure (an id, a time in it) is told as repeats
_DISTINCT_ERRORS = 16
_MESSAGE_LIMIT = 300

#: called with a step and how many failures to add to its count
FailureListener = Callable[[str, int], None]
_Line = tuple[int, str, tuple[object, ...], BaseException | None]


@dataclass(frozen=True)
class StepFailures:
    """A step's failures so far: how many, the last error (its message clipped and
    without secrets), when (the log's clock), and whether it still fails."""

    count: int
    error_type: str
    message: str
    at: float
    failing: bool


class _Step:
    __slots__ = ("at", "count", "error_type", "failing_since", "last_line", "message", "seen", "told", "unsaid")

    def __init__(self) -> None:
        self.count = 0
        self.error_type = ""
        self.message = ""
        self.at = 0.0
        #: count when the present run of failures began; None while the step works
        self.failing_since: int | None = None
        #: the errors told (with a traceback) in the present run of failures
        self.seen: set[tuple[str, str]] = set()
        self.unsaid = 0
        self.last_line = 0.0
        #: a line was written for the present run (so its end is told too)
        self.told = False


def _describe(error: BaseException | str) -> tuple[str, str]:
    if isinstance(error, str):
        return "", error
    return type(error).__name__, str(error)


def _safe(message: str) -> str:
    """One line, no URL beyond its host, no ``password=``-style value, clipped."""
    text = " ".join(clean(message, ()).split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


class FailureLog:
    """Decides which failures of each step are logged, and counts them all; thread-safe."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        self.interval = interval
        self._clock = clock
        self._steps: dict[str, _Step] = {}
        #: the steps failing now: ``succeeded`` reads it without the lock (a set lookup)
        self._failing: set[str] = set()
        self._listener: FailureListener | None = None
        self._lock = threading.Lock()
        after_fork_in_child(self._after_fork_in_child)

    def _after_fork_in_child(self) -> None:
        # a lock held by a parent's thread at fork() stays held forever in the child
        self._lock = threading.Lock()

    def listen(self, listener: FailureListener) -> None:
        """Tell ``listener`` every failure from now on, and the count of each step so far
        (one listener: a later one replaces it)."""
        with self._lock:
            self._listener = listener
            counts = {name: step.count for name, step in self._steps.items() if step.count}
        for name, count in counts.items():
            self._tell(listener, name, count)

    def failed(
        self, step: str, error: BaseException, logger: logging.Logger = _logger, what: str | None = None
    ) -> None:
        """One failure of ``step``, logged as the module says (as ``what`` failed: the
        step's description by default)."""
        self._note(step, error, logger, what, told_elsewhere=False)

    def counted(self, step: str, error: str) -> None:
        """One failure of ``step`` that its caller logged already (the state keeper logs
        a failed write once per error): counted and shown, never logged here."""
        self._note(step, error, _logger, None, told_elsewhere=True)

    def succeeded(self, step: str, logger: logging.Logger = _logger) -> None:
        """``step`` worked: the end of its failures, if it was failing, is told once."""
        if step not in self._failing:  # the common case, without the lock
            return
        try:
            with self._lock:
                state = self._steps.get(step)
                self._failing.discard(step)
                if state is None or state.failing_since is None:
                    return
                failures = state.count - state.failing_since
                told, state.told, state.failing_since = state.told, False, None
                if told:  # the line below covers what was not told
                    state.unsaid = 0
                    state.last_line = self._clock()
            if told:
                logger.info("otel-alerting: %s works again, after %s failure(s)", STEPS.get(step, step), failures)
        except Exception:  # pragma: no cover - the log must never break its caller
            pass

    def steps(self) -> dict[str, StepFailures]:
        """Every step that has failed, by name."""
        with self._lock:
            return {
                name: StepFailures(s.count, s.error_type, s.message, s.at, s.failing_since is not None)
                for name, s in sorted(self._steps.items())
            }

    def _note(
        self, step: str, error: BaseException | str, logger: logging.Logger, what: str | None, *, told_elsewhere: bool
    ) -> None:
        try:
            now = self._clock()
            error_type, raw = _describe(error)
            with self._lock:
                state = self._steps.get(step)
                if state is None:
                    state = self._steps[step] = _Step()
                line = self._line(step, state, (error_type, raw), error, now, what, told_elsewhere)
                listener = self._listener
            if listener is not None:
                self._tell(listener, step, 1)
            if line is not None:
                level, message, args, exc = line
                logger.log(level, message, *args, exc_info=exc)
        except Exception:  # pragma: no cover - the log must never break its caller
            pass

    def _line(
        self,
        step: str,
        state: _Step,
        key: tuple[str, str],
        error: BaseException | str,
        now: float,
        what: str | None,
        told_elsewhere: bool,
    ) -> _Line | None:
        """Counts one failure (under the lock) and returns the line to write, if any."""
        if state.failing_since is None:
            state.failing_since = state.count
            self._failing.add(step)
            # A step that works and fails by turns stays quiet: its errors are told again
            # only once it has been quiet for an interval.
            if not 0 <= now - state.last_line < self.interval:
                state.seen.clear()
        state.count += 1
        state.error_type = key[0]
        state.message = _safe(key[1])
        state.at = now
        what = what or STEPS.get(step, step)
        if told_elsewhere:
            return None
        if key not in state.seen and len(state.seen) < _DISTINCT_ERRORS:
            state.seen.add(key)
            state.told = True
            state.last_line = now
            # the repeats not yet told, of the errors before, go with the next WARNING
            traceback = error if isinstance(error, BaseException) else None
            return logging.ERROR, "otel-alerting: %s failed", (what,), traceback
        state.unsaid += 1
        # a clock that went back starts the interval again rather than muting the step
        if 0 <= now - state.last_line < self.interval:
            return None
        seconds, state.last_line = now - state.last_line, now
        count, state.unsaid = state.unsaid, 0
        return (
            logging.WARNING,
            "otel-alerting: %s failed %s more time(s) in the last %.0f s, latest: %s: %s; repeats are logged "
            "at most every %.0f s, every failure is counted (/health, otel_alerting.plugin.failures)",
            (what, count, seconds, key[0], state.message, self.interval),
            None,
        )

    @staticmethod
    def _tell(listener: FailureListener, step: str, count: int) -> None:
        try:
            listener(step, count)
        except Exception:
            _logger.debug("otel-alerting: counting a failure of %s failed", step, exc_info=True)


#: the failures of the process-wide parts (the dependency probes, the cache statistics,
#: a collection before the alerting system runs); the alerting system keeps its own
process_failures = FailureLog()
