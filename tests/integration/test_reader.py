"""The reader on a real MeterProvider: timer, suppression, shutdown, flush, export mode."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, get_value
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)

from otel_alerting.channels import Channel, DeliveryResult
from otel_alerting.config import Settings
from otel_alerting.errors import ConfigurationProblems
from otel_alerting.export_mode import Forwarder, export_interval_s, load_exporters
from otel_alerting.notify.model import Batch, Notification, Status
from otel_alerting.reader import AlertingMetricReader
from otel_alerting.testing import FakeClock

from ..support.waiting import wait_until

RULES = """
rules:
  - alert: LevelHigh
    expr:
      value: {metric: app.level}
    above: {high: 10}
"""


class Recorder(Channel):
    name = "recorder"

    def __init__(self) -> None:
        self.received: list[Notification] = []
        self.threads: list[str] = []
        self.suppressed: list[object] = []

    async def send(self, batch: Batch) -> DeliveryResult:
        notifications = batch.notifications
        self.received.extend(notifications)
        self.threads.append(threading.current_thread().name)
        self.suppressed.append(get_value(_SUPPRESS_INSTRUMENTATION_KEY))
        return DeliveryResult.delivered()


class MemoryExporter(MetricExporter):
    def __init__(self, delta: bool = False) -> None:
        temporality = {Counter: AggregationTemporality.DELTA} if delta else None
        super().__init__(preferred_temporality=temporality)
        self.batches: list[MetricsData] = []
        self.shut = False

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object) -> MetricExportResult:
        self.batches.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        self.shut = True


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


def make(
    rules_file: Path, interval_ms: float = 50, **kwargs: object
) -> tuple[AlertingMetricReader, MeterProvider, Recorder, dict[str, float], list[object]]:
    recorder = Recorder()
    settings = Settings(interval_ms=interval_ms, rules_paths=(str(rules_file),), cooldown_s=0, **kwargs)  # type: ignore[arg-type]
    reader = AlertingMetricReader(settings, environ={}, channels=[recorder])
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    level = {"value": 0.0}
    seen_suppressed: list[object] = []

    def observe(options: CallbackOptions) -> list[Observation]:
        seen_suppressed.append(get_value(_SUPPRESS_INSTRUMENTATION_KEY))
        return [Observation(level["value"])]

    provider.get_meter("app").create_observable_gauge("app.level", callbacks=[observe])
    return reader, provider, recorder, level, seen_suppressed


def test_timer_evaluates_off_the_application_thread_under_suppression(rules_file: Path) -> None:
    reader, provider, recorder, level, seen = make(rules_file)
    try:
        level["value"] = 50
        wait_until(lambda: any(n.status is Status.FIRING for n in recorder.received), "FIRING", 5)
        level["value"] = 0
        wait_until(lambda: any(n.status is Status.RESOLVED for n in recorder.received), "RESOLVED", 5)
    finally:
        provider.shutdown()
    assert reader.system is not None
    stats = reader.system.manager.stats()
    assert stats.deliveries[("recorder", "delivered")] == len(recorder.received) >= 2
    assert threading.main_thread().name not in recorder.threads
    assert set(recorder.threads) == {"otel-alerting-notify"}
    assert all(s is True for s in recorder.suppressed)
    assert seen and all(s is True for s in seen), "collection ran without instrumentation suppression"


@pytest.mark.parametrize("how", ["timer", "force_flush", "collect"])
def test_the_evaluation_runs_suppressed_whoever_collects(rules_file: Path, how: str) -> None:
    # the timer and force_flush collect in the plugin's own context; a plain collect()
    # by someone else gets it for the evaluation alone
    reader, provider, _recorder, level, _ = make(rules_file, interval_ms=50 if how == "timer" else 60_000)
    during: list[object] = []
    try:
        wait_until(lambda: reader.system is not None or reader.force_flush(1_000), "the alerting system", 5)
        assert reader.system is not None
        reader.system.subscribe(lambda _: during.append(get_value(_SUPPRESS_INSTRUMENTATION_KEY)))
        level["value"] = 50
        if how == "force_flush":
            assert reader.force_flush(5_000)
        elif how == "collect":
            reader.collect()
        wait_until(lambda: bool(during), "an evaluation", 5)
    finally:
        provider.shutdown()
    assert during[0] is True
    assert get_value(_SUPPRESS_INSTRUMENTATION_KEY) is None  # and the caller's context is back


def test_shutdown_runs_a_final_evaluation_and_delivers_it(rules_file: Path) -> None:
    _reader, provider, recorder, level, _ = make(rules_file, interval_ms=60_000)
    level["value"] = 50
    provider.shutdown()
    assert [n.status for n in recorder.received] == [Status.FIRING]


def test_force_flush_evaluates_and_waits_for_delivery(rules_file: Path) -> None:
    reader, provider, recorder, level, _ = make(rules_file, interval_ms=60_000)
    try:
        level["value"] = 50
        assert reader.force_flush(5_000)
        assert [n.alert for n in recorder.received] == ["LevelHigh"]
    finally:
        provider.shutdown()


def test_second_shutdown_is_ignored_with_a_warning(rules_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    reader, provider, *_ = make(rules_file, interval_ms=60_000)
    provider.shutdown()
    with caplog.at_level(logging.WARNING):
        reader.shutdown()
    assert "Can't shutdown multiple times" in caplog.text


def test_built_with_no_arguments_from_the_environment(rules_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_PYTHON_ALERTING_RULES", str(rules_file))
    monkeypatch.setenv("OTEL_PYTHON_ALERTING_INTERVAL", "60000")
    monkeypatch.setenv("OTEL_PYTHON_ALERTING_CHANNELS", "log")
    reader = AlertingMetricReader()
    try:
        assert reader.system is not None
        assert [r.alert for r in reader.system.rule_set.rules] == [
            "CacheHitRateLow",
            "MemoryPressure",
            "DependencyDown",
            "TelemetryExportFailing",
            "LevelHigh",
        ]
        assert reader.settings.interval_ms == 60_000
        assert [c.name for c in reader.system.dispatcher.channels] == ["log"]
    finally:
        MeterProvider(metric_readers=[reader], shutdown_on_exit=False).shutdown()


def test_invalid_settings_never_raise_and_are_logged_once(
    rules_file: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_PYTHON_ALERTING_RULES", str(rules_file) + "-missing")
    monkeypatch.setenv("OTEL_PYTHON_ALERTING_QUEUE_SIZE", "-3")
    with caplog.at_level(logging.ERROR, logger="otel_alerting"):
        reader = AlertingMetricReader()
        reader.system  # noqa: B018 (the configuration loads on a thread of its own: wait for it)
    records = [r for r in caplog.records if r.name == "otel_alerting"]
    assert len(records) == 1
    assert "OTEL_PYTHON_ALERTING_QUEUE_SIZE: invalid value '-3'" in records[0].getMessage()
    assert "rules.yaml-missing: cannot read" in records[0].getMessage()
    # worded in one place, as the problems of what the system builds itself
    assert records[0].funcName == "report_problems"
    assert reader.system is not None and reader.system.settings.queue_size == 10_000
    MeterProvider(metric_readers=[reader], shutdown_on_exit=False).shutdown()


def test_strict_mode_lists_every_problem_and_stops(rules_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(strict=True, rules_paths=(str(rules_file) + "-missing",), interval_ms=60_000)
    with caplog.at_level(logging.ERROR, logger="otel_alerting"), pytest.raises(ConfigurationProblems):
        AlertingMetricReader(settings, environ={"OTEL_PYTHON_ALERTING_ROUTE_HIGH": "nowhere"})
    (record,) = [r for r in caplog.records if r.name == "otel_alerting"]
    assert record.levelno == logging.CRITICAL
    assert record.getMessage().startswith("otel-alerting: invalid configuration (strict mode):\n  ")
    assert "rules.yaml-missing: cannot read" in record.getMessage()
    assert "OTEL_PYTHON_ALERTING_ROUTE_HIGH: channel(s) nowhere not configured" in record.getMessage()


def test_disabled_reader_does_nothing(rules_file: Path) -> None:
    reader = AlertingMetricReader(Settings(enabled=False, rules_paths=(str(rules_file),)), environ={})
    assert reader.system is None
    MeterProvider(metric_readers=[reader], shutdown_on_exit=False).shutdown()


def test_cardinality_overflow_is_reported(rules_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "by.yaml"
    path.write_text(
        "rules:\n  - alert: PerUser\n    expr:\n      rate: {metric: app.hits}\n      window: 10s\n"
        "      by: [user]\n    above: {high: 1000}\n"
    )
    recorder = Recorder()
    reader = AlertingMetricReader(
        Settings(interval_ms=60_000, rules_paths=(str(path),), cardinality_limit=5), environ={}, channels=[recorder]
    )
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    hits = provider.get_meter("app").create_counter("app.hits")
    for user in range(20):
        hits.add(1, {"user": str(user)})
    with caplog.at_level(logging.WARNING, logger="otel_alerting"):
        reader.force_flush()
        reader.force_flush()
    assert reader.system is not None
    assert reader.system.evaluator.overflowed_metrics() == ["app.hits"]
    assert sum("cardinality limit (5)" in r.getMessage() for r in caplog.records) == 1
    provider.shutdown()


def test_export_mode_forwards_the_same_collection(rules_file: Path) -> None:
    exporter = MemoryExporter()
    recorder = Recorder()
    reader = AlertingMetricReader(
        Settings(interval_ms=60_000, mode="export", rules_paths=(str(rules_file),), cooldown_s=0),
        environ={"OTEL_METRIC_EXPORT_INTERVAL": "3600000"},
        channels=[recorder],
        exporters=[exporter],
    )
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    level = {"value": 50.0}
    provider.get_meter("app").create_observable_gauge("app.level", callbacks=[lambda o: [Observation(level["value"])]])
    reader.force_flush()  # evaluates, and forwards the newest collection
    assert recorder.received and recorder.received[0].status is Status.FIRING
    assert len(exporter.batches) == 1
    names = {m.name for rm in exporter.batches[0].resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert "app.level" in names
    reader.collect()  # within OTEL_METRIC_EXPORT_INTERVAL: evaluated, not exported (cumulative)
    assert len(exporter.batches) == 1
    provider.shutdown()
    assert len(exporter.batches) == 2 and exporter.shut


def test_export_mode_with_delta_exports_every_collection(rules_file: Path) -> None:
    exporter = MemoryExporter(delta=True)
    reader = AlertingMetricReader(
        Settings(interval_ms=60_000, mode="export", rules_paths=(str(rules_file),)),
        environ={"OTEL_METRIC_EXPORT_INTERVAL": "3600000"},
        channels=[],
        exporters=[exporter],
    )
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    counter = provider.get_meter("app").create_counter("app.count")
    for _ in range(3):
        counter.add(2)
        reader.force_flush()
    provider.shutdown()
    values = [
        p.value
        for batch in exporter.batches
        for rm in batch.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "app.count"
        for p in m.data.data_points
    ]
    assert values == [2, 2, 2]


def test_a_slow_exporter_loses_the_oldest_delta_collections_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()

    class Stuck(MemoryExporter):
        def export(
            self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object
        ) -> MetricExportResult:
            release.wait(10)
            return super().export(metrics_data, timeout_millis)

    exporter = Stuck(delta=True)
    drops: list[int] = []
    forwarder = Forwarder([exporter], {}, every_collection=True, on_drop=drops.append)
    data = MetricsData(resource_metrics=[])
    with caplog.at_level(logging.WARNING, logger="otel_alerting"):
        for _ in range(Forwarder._MAX_BACKLOG + 3):  # one taken by the stuck export, 64 queued
            forwarder.offer(data)
    release.set()
    forwarder.shutdown(5)
    assert 1 <= forwarder.dropped <= 3 and drops == list(range(1, forwarder.dropped + 1))
    warnings = [r.getMessage() for r in caplog.records if "exporter is too slow" in r.getMessage()]
    assert warnings[0] == "otel-alerting: the metric exporter is too slow; 1 collection(s) were not exported so far"
    assert len(exporter.batches) == Forwarder._MAX_BACKLOG + 3 - forwarder.dropped and exporter.shut


def test_a_flush_exports_the_latest_collection_once() -> None:
    """A collection already on its way (the interval had passed) is not exported again by
    a flush, and one the interval held back is exported by the flush, once."""
    exporter = MemoryExporter()
    forwarder = Forwarder([exporter], {"OTEL_METRIC_EXPORT_INTERVAL": "60000"}, every_collection=False)
    first, held = MetricsData(resource_metrics=[]), MetricsData(resource_metrics=[])
    forwarder.offer(first, force=True)
    assert forwarder.flush(5, force_last=True) and forwarder.flush(5, force_last=True)
    assert exporter.batches == [first]
    forwarder.offer(held)  # within the interval: held back
    assert forwarder.flush(5, force_last=True) and forwarder.flush(5, force_last=True)
    assert exporter.batches == [first, held]
    forwarder.shutdown(5)
    assert exporter.batches == [first, held]


def test_the_exporter_named_none_is_no_exporter() -> None:
    assert load_exporters(["none"], {}) == []


@pytest.mark.parametrize(
    ("value", "seconds", "warned"),
    [
        (None, 60.0, False),
        (" ", 60.0, False),
        ("500", 0.5, False),
        (" 2500.5 ", 2.5005, False),
        ("inf", float("inf"), False),  # the SDK's periodic reader: no periodic export
        ("abc", 60.0, True),
        ("0", 60.0, True),
        ("-5", 60.0, True),
        ("nan", 60.0, True),
    ],
)
def test_the_export_interval_is_read_as_the_sdk_reads_it(
    value: str | None, seconds: float, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    env = {} if value is None else {"OTEL_METRIC_EXPORT_INTERVAL": value}
    with caplog.at_level(logging.WARNING, logger="otel_alerting"):
        assert export_interval_s(env) == seconds
    warnings = [r.getMessage() for r in caplog.records if r.name == "otel_alerting"]
    expected = (
        [
            f"otel-alerting: OTEL_METRIC_EXPORT_INTERVAL: invalid value {value.strip()!r}: "
            "expected a number of milliseconds above 0; using 60s"
        ]
        if warned and value
        else []
    )
    assert warnings == expected


def test_shutdown_is_bounded_by_our_own_timeout(rules_file: Path) -> None:
    """A hung channel cannot take the whole MeterProvider shutdown budget."""
    import asyncio

    class Hung(Channel):
        name = "hung"

        async def send(self, batch: Batch) -> DeliveryResult:
            await asyncio.sleep(60)
            return DeliveryResult.delivered()

    settings = Settings(interval_ms=60_000, rules_paths=(str(rules_file),), cooldown_s=0, shutdown_timeout_s=0.5)
    reader = AlertingMetricReader(settings, environ={}, channels=[Hung()])
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    provider.get_meter("app").create_observable_gauge("app.level", callbacks=[lambda o: [Observation(50.0)]])
    started = time.monotonic()
    provider.shutdown(timeout_millis=30_000)
    assert time.monotonic() - started < 2.0
    assert reader.system is not None
    assert reader.system.dispatcher.counts()["hung"].get("dropped") == 1


def test_the_running_system_is_reachable_and_custom_channels_can_be_routed(tmp_path: Path) -> None:
    import otel_alerting

    path = tmp_path / "rules.yaml"
    path.write_text(RULES + "route:\n  receiver: recorder\n")
    recorder = Recorder()
    reader = AlertingMetricReader(
        Settings(interval_ms=60_000, rules_paths=(str(path),), strict=True), environ={}, channels=[recorder]
    )
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    try:
        assert otel_alerting.active_system() is reader.system  # strict mode found no problem
        assert reader.system is not None
        silence = reader.system.silences.add(
            ['alertname="Other"'], starts_at=time.time(), ends_at=time.time() + 60, comment="c", created_by="me"
        )
        assert [s.id for s in reader.system.silences.list(time.time())] == [silence.id]
    finally:
        provider.shutdown()


def test_zero_deadlines_are_refused() -> None:
    from otel_alerting.config import load_settings

    settings = load_settings(
        {"OTEL_PYTHON_ALERTING_DELIVERY_DEADLINE": "0", "OTEL_PYTHON_ALERTING_SHUTDOWN_TIMEOUT": "0s"}
    )
    assert (settings.delivery_deadline_s, settings.shutdown_timeout_s) == (120.0, 5.0)
    assert [e.variable for e in settings.errors] == [
        "OTEL_PYTHON_ALERTING_DELIVERY_DEADLINE",
        "OTEL_PYTHON_ALERTING_SHUTDOWN_TIMEOUT",
    ]


def test_the_engine_is_assembled_at_the_first_tick_not_during_bootstrap(rules_file: Path) -> None:
    """Start-up only loads and checks the configuration; the engine, the notification
    pipeline and its thread come with the first tick (or the first ``system`` access)."""
    script = f"""
import sys, threading, time
from otel_alerting.config import Settings
from otel_alerting.reader import AlertingMetricReader
reader = AlertingMetricReader(Settings(interval_ms=200, rules_paths=({str(rules_file)!r},)), environ={{}})
assert not any(m.startswith("otel_alerting.engine") for m in sys.modules), "engine imported at start-up"
assert "otel-alerting-notify" not in {{t.name for t in threading.enumerate()}}
deadline = time.monotonic() + 10
while reader._system is None and time.monotonic() < deadline:
    time.sleep(0.01)
assert reader._system is not None, "not built at the first tick"
assert "otel-alerting-notify" in {{t.name for t in threading.enumerate()}}
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def assert_fork_waited_and_child_ran(script: str) -> None:
    """Run ``script``, which forks at ``started`` (``pid`` the child's), in a fresh
    interpreter: the fork must have waited (a release 0.3 s later) and the child exited 0."""
    script += """
waited = time.monotonic() - started
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status), waited >= 0.25)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "True"], (done.stdout, done.stderr)


def test_a_fork_while_the_system_is_assembled_gives_the_child_a_whole_one(rules_file: Path) -> None:
    """A pre-fork server may fork while the timer's first tick assembles the system: the
    fork waits for it, and the child evaluates (before, the child had neither the
    configuration nor a system, and never alerted)."""
    script = f"""
import os, threading, time
from opentelemetry.sdk.metrics import MeterProvider
from otel_alerting import system as system_module
from otel_alerting.config import Settings
from otel_alerting.reader import AlertingMetricReader

building, release = threading.Event(), threading.Event()
assemble = system_module.AlertingSystem.__init__
def slow_assembly(self, *args, **kwargs):
    building.set()
    release.wait(10)
    assemble(self, *args, **kwargs)
system_module.AlertingSystem.__init__ = slow_assembly

settings = Settings(interval_ms=float("inf"), rules_paths=({str(rules_file)!r},))
reader = AlertingMetricReader(settings, environ={{}}, channels=[], start_timer=False)
provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
provider.get_meter("app").create_counter("app.requests").add(1)  # something to collect
threading.Thread(target=lambda: reader.system, daemon=True).start()
assert building.wait(10), "the build did not start"
threading.Timer(0.3, release.set).start()
started = time.monotonic()
pid = os.fork()
if pid == 0:
    system = reader.system
    if system is None:
        os._exit(3)
    reader.collect()
    os._exit(0 if system.last_evaluation is not None else 4)
"""
    assert_fork_waited_and_child_ran(script)


def test_a_fork_during_a_collection_leaves_the_child_able_to_collect(rules_file: Path) -> None:
    """The SDK does not renew its collection lock in a forked child: a fork in the middle
    of one of our collections would leave every collection of the child stuck. The
    fork waits for the collection."""
    script = f"""
import os, signal, threading, time
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from otel_alerting.config import Settings
from otel_alerting.reader import AlertingMetricReader

collecting, release = threading.Event(), threading.Event()
def observe(options):
    collecting.set()
    release.wait(10)
    return [Observation(1.0)]

settings = Settings(interval_ms=float("inf"), rules_paths=({str(rules_file)!r},))
reader = AlertingMetricReader(settings, environ={{}}, channels=[], start_timer=False)
provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
provider.get_meter("app").create_observable_gauge("app.level", callbacks=[observe])
system = reader.system
threading.Thread(target=reader.force_flush, daemon=True).start()
assert collecting.wait(10), "the collection did not start"
threading.Timer(0.3, release.set).start()
started = time.monotonic()
pid = os.fork()
if pid == 0:
    signal.alarm(10)  # a child stuck on a lock ends here, with SIGALRM
    before = system.last_evaluation
    reader.force_flush()
    os._exit(0 if system.last_evaluation != before else 4)
"""
    assert_fork_waited_and_child_ran(script)


def test_alerting_counts_from_start_up_not_from_the_first_tick(tmp_path: Path) -> None:
    """An ``absent`` metric counts from start-up, even though the engine is built later."""
    path = tmp_path / "absent.yaml"
    path.write_text("rules:\n  - alert: NoData\n    expr:\n      absent: {metric: app.never}\n    above: {high: 20}\n")
    clock = FakeClock()
    recorder = Recorder()
    reader = AlertingMetricReader(
        Settings(interval_ms=60_000, rules_paths=(str(path),), cooldown_s=0),
        environ={},
        channels=[recorder],
        clock=clock,
    )
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    provider.get_meter("app").create_counter("app.other").add(1)  # a collection with no data is not evaluated
    try:
        clock.advance(30)  # the engine is built now, at the first collection
        assert reader.force_flush(5_000)
        assert [(n.alert, n.status, n.value) for n in recorder.received] == [("NoData", Status.FIRING, 30)]
    finally:
        provider.shutdown()
