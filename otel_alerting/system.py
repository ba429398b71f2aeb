"""The alerting system assembled: evaluator -> manager -> dispatcher -> channels.

Built by the reader at its first tick (or when first asked for), from the
configuration it loaded and checked at start-up (``configuration``); also built
directly by tests and by ``otel_alerting.testing`` with a fake clock.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricsData

from . import environment_variables as ev
from .channels import build_channels
from .config import ConfigError, Settings, report_problems
from .configuration import Configuration, load_configuration
from .engine.evaluator import Evaluator
from .engine.lifecycle import AlertState
from .engine.manager import AlertManager
from .failure_log import FailureLog, process_failures
from .forking import after_fork_in_child, first_of_siblings, forked_children, spawned_worker
from .notify.channel import Channel
from .notify.config import NotifyConfig, load_notify_config
from .notify.dedup import SharedDedup, SharedLog
from .notify.dispatcher import DeliveryOutcome, Dispatcher
from .notify.heartbeat import Heartbeat
from .notify.model import Batch, Notification
from .notify.pipeline import Inhibitor, NotificationPipeline
from .notify.routing import routing_labels
from .notify.silences import SilenceStore
from .rules import RuleSet
from .state import MemoryStore, SavedState, StateError, StateKeeper, open_store
from .telemetry import SelfTelemetry

__all__ = ["AlertingSystem", "Configuration", "load_configuration"]

_logger = logging.getLogger("otel_alerting")

Clock = Callable[[], float]


class AlertingSystem:
    def __init__(
        self,
        settings: Settings,
        rule_set: RuleSet,
        *,
        channels: Sequence[Channel] | None = None,
        notify: NotifyConfig | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Clock = time.time,
        start: float | None = None,
        start_ns: int | None = None,
        configuration_problems: Sequence[str] = (),
    ) -> None:
        """``start`` and ``start_ns`` (the clock's time and the Unix time in ns when
        alerting started) default to now; ``configuration_problems`` are the configuration problems
        found before (kept for the health report, already logged)."""
        self.settings = settings
        self.rule_set = rule_set
        self._clock = clock
        #: the failures of this system's steps, each logged once and counted (/health)
        self.failures = FailureLog(clock=clock)
        env = os.environ if environ is None else environ
        now = clock() if start is None else start
        self.evaluator = Evaluator(
            rule_set.rules, now, start_ns if start_ns is not None else time.time_ns(), settings.max_series_per_rule
        )
        self.manager = AlertManager(rule_set.rules, settings.cooldown_s, settings.history_size)
        # what the caller did not pass is built here, and its problems reported once
        problems: list[ConfigError] = []
        if channels is None:
            channels, channel_errors = build_channels(settings, env)
            problems.extend(channel_errors)
        if notify is None:
            notify = load_notify_config(
                rule_set.extra, [c.name for c in channels], env, include_defaults=settings.default_rules
            )
            problems.extend(notify.errors)
        #: the alert state kept across restarts (memory when none is configured or usable)
        self.state, saved = _open_state(settings.state_path, problems)
        if not isinstance(self.state.store, MemoryStore):
            self.manager.keep_changes()  # each evaluation writes only what changed
        #: with a store other processes share: each notification claimed there, sent once
        self.dedup: SharedDedup | None = None
        if isinstance(self.state.store, SharedLog):
            lease = max(settings.state_lease_s, 3 * settings.interval_ms / 1000)
            self.dedup = SharedDedup(self.state.store, lease, start=now)
            self.state.shared_log = True
            self.state.holder = self.dedup.holder  # its alert records live as long as its leases
        # one warning for a pre-fork server without a shared store (see _check_prefork)
        self._prefork_checked = self.dedup is not None
        report_problems(problems)
        #: every configuration problem, as logged (for the health report)
        self.problems: tuple[str, ...] = (*configuration_problems, *map(str, problems))
        self.silences = SilenceStore()
        self.pipeline = NotificationPipeline(
            notify.route,
            inhibitor=Inhibitor(notify.inhibit_rules, self._firing_labels),
            silences=self.silences,
        )
        self._restore(saved, now)
        self._channels = {c.name: c for c in channels}
        self.dispatcher = Dispatcher(
            channels,
            queue_size=settings.queue_size,
            deadline=settings.delivery_deadline_s,
            listener=self._on_outcome,
            failures=self.failures,
        )
        #: the dead man's switch, when OTEL_PYTHON_ALERTING_HEARTBEAT_URL is set
        self.heartbeat: Heartbeat | None = None
        if settings.heartbeat_url is not None:
            self.heartbeat = Heartbeat(settings.heartbeat_url, settings.heartbeat_interval_s, self.dispatcher.spawn)
        self._telemetry: SelfTelemetry | None = None
        self._subscribers: list[Callable[[list[Notification]], None]] = []
        self._warned_overflow: set[str] = set()
        self.last_evaluation: float | None = None
        #: seconds the last evaluation took (rules and lifecycles, before delivery)
        self.last_evaluation_duration: float | None = None
        # The timer thread and a force_flush or shutdown on another thread may both
        # deliver a collection; the evaluator's windows must see them one at a time.
        self._evaluate_lock = threading.Lock()
        after_fork_in_child(self._after_fork_in_child)

    def _after_fork_in_child(self) -> None:
        # A lock held by a parent's thread at fork() stays held forever in the child.
        self._evaluate_lock = threading.Lock()
        self.manager.reset_lock_after_fork()
        if self.dedup is not None:
            self.dedup.after_fork()
        # another process: its alert records are written again under its own name
        self.state.after_fork(None if self.dedup is None else self.dedup.holder)
        self.manager.export_all_again()

    def _restore(self, saved: SavedState, now: float) -> None:
        """Give the manager, the silences and the notification groups what they had
        before a restart; what no longer fits the rules is left out, with a warning."""
        if not (saved.alerts or saved.silences):
            return
        # the first collections after a start may not hold every series yet
        grace = max(5 * self.settings.interval_ms / 1000, 10.0)
        skipped = self.manager.restore_state(saved.alerts, now, grace)
        skipped += self.silences.restore(saved.silences)
        told = self.state.notified()
        firing = self.manager.told_firing(now)
        for notification in firing:
            self.pipeline.restore(notification, told.get(notification.fingerprint, {}), now)
        if self.dedup is not None:
            # held from the start: a process that died meanwhile does not make them orphans
            self.dedup.hold(firing, now)
        if skipped:
            _logger.warning(
                "otel-alerting: %d saved item(s) of %s left out (the rules changed):\n  %s",
                len(skipped),
                self.state.store.description,
                "\n  ".join(skipped),
            )
        _logger.info(
            "otel-alerting: %d alert(s) and %d silence(s) restored from %s",
            len(saved.alerts) - sum(s.startswith("alert ") for s in skipped),
            len(saved.silences) - sum(s.startswith("silence ") for s in skipped),
            self.state.store.description,
        )

    def _read_silences(self) -> None:
        """The silences other processes sharing the store made or changed since the
        last evaluation, before this one's notifications meet the silences."""
        if isinstance(self.state.store, MemoryStore):
            return
        changed = self.state.read_silences()
        if changed:
            for skipped in self.silences.restore(changed):
                _logger.warning("otel-alerting: a silence of %s left out: %s", self.state.store.description, skipped)

    def _save(self, now: float) -> None:
        """One transaction: the lifecycles, the silences and what was sent since the last."""
        if isinstance(self.state.store, MemoryStore):
            return  # nothing outlives the process: no record is worth building
        try:
            changed, forgotten = self.manager.export_changes()
            saved = self.state.write(changed, self.silences.export(now), now, removed=forgotten)
        except Exception as exc:
            self.failures.failed("state_save", exc)
            return
        if saved:
            self.failures.succeeded("state_save")
        else:  # the keeper logged it, once per error
            self.failures.counted("state_save", self.state.error or "the store failed")

    def attach_telemetry(self, provider: MeterProvider) -> None:
        self.use_telemetry(SelfTelemetry(provider))

    def use_telemetry(self, telemetry: SelfTelemetry) -> None:
        """Feed the plugin's own metrics (instruments created beforehand) from this system."""
        telemetry.bind(self.manager, self.evaluator.overflowed_metrics, self.evaluator.series_refused)
        self._telemetry = telemetry
        self.failures.listen(telemetry.record_failure)
        # the process-wide parts count on the running system's telemetry (one per process)
        process_failures.listen(telemetry.record_failure)

    def subscribe(self, callback: Callable[[list[Notification]], None]) -> None:
        """Call ``callback`` with each evaluation's notifications, on the evaluating
        thread, before they are queued for the channels. It must be quick."""
        self._subscribers.append(callback)

    def _on_outcome(self, outcome: DeliveryOutcome) -> None:
        self.manager.record_delivery(outcome.channel, outcome.outcome, outcome.count)
        if self._telemetry is not None:
            self._telemetry.record_outcome(outcome)

    def evaluate(self, data: MetricsData | None, now: float | None = None) -> list[Notification]:
        """One evaluation: rules over ``data``, lifecycles stepped, notifications queued."""
        with self._evaluate_lock:
            now = self._clock() if now is None else now
            started = time.perf_counter()
            results = self.evaluator.evaluate(data, now)
            notifications = self.manager.process(results, now)
            self.last_evaluation_duration = time.perf_counter() - started
        self._tell_subscribers(notifications)
        self._read_silences()
        if self.dedup is not None:
            # before delivery: a RESOLVED claimed below finds this process's lease gone
            self.dedup.hold(notifications, now)
        batches = self.pipeline.process(notifications, now)
        if batches or not self.pipeline.idle():
            self._deliver(batches)
        if self.dedup is not None:
            orphaned = self.dedup.orphans(now)
            if orphaned:  # claimed already: resolved in the log as they were found
                self.dispatcher.submit([b for b in map(self._without_unwanted_resolutions, orphaned) if b is not None])
        if not self._prefork_checked:
            self._check_prefork()
        self._save(now)
        self.last_evaluation = now
        if self.evaluator.overflowed and len(self.evaluator.overflowed) > len(self._warned_overflow):
            self._warn_overflow()
        if self._telemetry is not None:
            self._telemetry.record_evaluation(time.perf_counter() - started, results)
        if self.heartbeat is not None:
            # only an evaluation that ran to its end pings: a stuck or dead evaluator stops the pings
            self.heartbeat.beat()
        return notifications

    def _tell_subscribers(self, notifications: list[Notification]) -> None:
        failed = False
        for callback in self._subscribers:
            try:
                callback(notifications)
            except Exception as exc:
                failed = True
                self.failures.failed("subscriber", exc)
        if not failed:
            self.failures.succeeded("subscriber")

    def _check_prefork(self) -> None:
        """Warn once when this process is part of a pre-fork server that has no shared
        store: said by the process that forked the workers (gunicorn's master), or by
        the first spawned worker of a supervisor (uvicorn ``--workers``)."""
        # asked at each evaluation until known: a spawned worker is told it is one only
        # once multiprocessing has started it, which may be after the first evaluation
        spawned = spawned_worker()
        if spawned:
            self._prefork_checked = True
            if not first_of_siblings():
                return
        elif forked_children():
            self._prefork_checked = True
        else:
            return  # maybe later: a master forks its workers after it starts
        _logger.warning(
            "otel-alerting: this process runs in a pre-fork server (%s): each worker evaluates its own "
            "metrics and notifies on its own, so an alert that every worker trips is sent once per worker; "
            "set %s to a file (or a redis:// URL) they share to send it once",
            "a worker spawned by its supervisor" if spawned else "it forked its workers",
            ev.OTEL_PYTHON_ALERTING_STATE,
        )

    def _warn_overflow(self) -> None:
        for name in self.evaluator.overflowed_metrics():
            if name not in self._warned_overflow:
                self._warned_overflow.add(name)
                _logger.warning(
                    "metric %s has more series than the cardinality limit (%d): the SDK merges the "
                    "rest into one overflow series, and series merged there cannot alert; raise %s",
                    name,
                    self.settings.cardinality_limit,
                    ev.OTEL_PYTHON_ALERTING_CARDINALITY_LIMIT,
                )

    def _firing_labels(self) -> list[dict[str, str]]:
        return [
            routing_labels(a.labels, a.severity)
            for a in self.manager.active()
            if a.state is AlertState.FIRING and a.severity is not None
        ]

    def _deliver(self, batches: list[Batch]) -> None:
        self._submit(batches)
        wake = self.pipeline.next_wake()
        if wake is not None:
            self.dispatcher.call_at(wake, self._flush_due)

    def _submit(self, batches: list[Batch]) -> None:
        """Hand batches to the channels, and note what each receiver is sent (the
        notification log, saved with the next evaluation)."""
        wanted = [b for b in map(self._without_unwanted_resolutions, batches) if b is not None]
        if self.dedup is not None:
            # the shared log records what is sent, as it is claimed
            self.dispatcher.submit(self.dedup.filter(wanted, self._clock(), self.pipeline.repeat_interval))
            return
        self.state.sent(
            (
                (n.fingerprint, batch.channel, n.status.value, int(n.severity))
                for batch in wanted
                for n in batch.notifications
            ),
            self._clock(),
        )
        self.dispatcher.submit(wanted)

    def _without_unwanted_resolutions(self, batch: Batch) -> Batch | None:
        channel = self._channels.get(batch.channel)
        if channel is None or channel.send_resolved or not batch.resolved:
            return batch
        firing = batch.firing
        return dataclasses.replace(batch, notifications=firing) if firing else None

    def _flush_due(self) -> None:
        """On the dispatcher's thread, when a group's wait ends between evaluations."""
        self._deliver(self.pipeline.flush_due(self._clock()))

    def record_forward_drop(self) -> None:
        if self._telemetry is not None:
            self._telemetry.record_forward_drop()

    def record_export_failure(self) -> None:
        if self._telemetry is not None:
            self._telemetry.record_export_failure()

    def status_line(self) -> str:
        s = self.settings
        sources = ", ".join(f"{src}: {n}" for src, n in self.rule_set.sources.items()) or "none"
        channels = ", ".join(c.describe() for c in self.dispatcher.channels) or "none"
        return (
            f"otel-alerting {'enabled' if s.enabled else 'disabled'}: mode={s.mode}, "
            f"interval={s.interval_ms:g}ms, {len(self.rule_set.rules)} rule(s) loaded ({sources}), "
            f"channels: {channels}"
        )

    def flush(self, timeout: float) -> bool:
        """Deliver what group waits still hold and wait for the channels (force_flush)."""
        self._submit(self.pipeline.flush_due(self._clock(), force=True))
        return self.dispatcher.flush(timeout)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Deliver everything still held by a group wait (a pending CRITICAL is not
        lost at a clean exit), then drain the channels within ``timeout``."""
        if self.heartbeat is not None:
            self.heartbeat.close()
        try:
            self._submit(self.pipeline.flush_due(self._clock(), force=True))
        except Exception:
            _logger.exception("otel-alerting: final notification flush failed")
        # the state of the final evaluation, with what its flush sent: a restart goes on from here
        self._save(self._clock())
        if self.dedup is not None:
            self.dedup.stop()
        self.state.close()
        self.dispatcher.shutdown(timeout)


def _open_state(location: str | None, problems: list[ConfigError]) -> tuple[StateKeeper, SavedState]:
    """The keeper of the configured store and what it holds; memory (and one problem
    saying why) when the store cannot be opened or read."""
    store, problem = open_store(location)
    if problem is None:
        keeper = StateKeeper(store)
        try:
            return keeper, keeper.load()
        except StateError as exc:
            problem = f"{exc}; alert state is kept in memory only (lost at exit)"
            keeper.close()
    problems.append(ConfigError(ev.OTEL_PYTHON_ALERTING_STATE, problem))
    return StateKeeper(MemoryStore()), SavedState()
