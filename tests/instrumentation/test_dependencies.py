"""Dependency health against real peers: a redis-server killed and restarted, ``chroma run``
stopped and started, an HTTP embeddings stub made to fail, a TCP black hole.

The alert tests run the real alerting reader (``RuleTester``) on the MeterProvider the
probes report to, with a rules file whose thresholds are shortened through the
environment; time is the tester's fake clock, shared with the health board, while
every check is real I/O. One test runs the probe thread against real time, with
bounded polling.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from otel_alerting import environment_variables as ev
from otel_alerting.instrumentation.dependencies import DependencyHealthInstrumentor
from otel_alerting.instrumentation.probes import (
    DependencyKey,
    HealthBoard,
    HealthMetrics,
    ProbeRunner,
    load_probe_settings,
    redact_url,
)
from otel_alerting.instrumentation.probes.metrics import CHECK_DURATION_BUCKETS
from otel_alerting.notify.model import Status
from otel_alerting.testing import FakeClock, RuleTester

from ..support.waiting import wait_until
from .servers import BlackHole, ChromaServer, EmbeddingsStub, RedisServer

PASSWORD = "s3cret-Pa55"
TOKEN = "sk-test-T0KEN"
NAME = "otel_alerting.dependency.name"

RULES = """
rules:
  - alert: ProbeDown
    expr:
      value: {metric: otel_alerting.dependency.downtime, reduce: max}
      by: [otel_alerting.dependency.name, server.address, server.port]
    above: {medium: 60, high: 300, critical: 900}
"""
# the test's thresholds, shortened through the environment as an operator would
SHORT = {"OTEL_PYTHON_ALERTING_RULE_PROBEDOWN_ABOVE": "medium:1,high:2,critical:3"}


class ThreadRecorder(SpanProcessor):
    """Remembers on which thread each span started."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.threads.append(threading.current_thread().name)

    def on_end(self, span: ReadableSpan) -> None:
        pass


@dataclass
class Tracing:
    provider: TracerProvider
    exporter: InMemorySpanExporter
    threads: ThreadRecorder

    def spans(self, prefix: str = "otel_alerting.probe") -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if s.name.startswith(prefix)]


@pytest.fixture
def tracing() -> Iterator[Tracing]:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    threads = ThreadRecorder()
    provider.add_span_processor(threads)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Tracing(provider, exporter, threads)
    provider.shutdown()


@pytest.fixture
def instrumentor() -> Iterator[DependencyHealthInstrumentor]:
    instrumentor = DependencyHealthInstrumentor()
    yield instrumentor
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


def leaked(secret: str, tracing: Tracing, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Everywhere ``secret`` shows up: log records, span attributes, statuses, events."""
    found = [f"log: {r.getMessage()}" for r in caplog.records if secret in r.getMessage()]
    for span in tracing.exporter.get_finished_spans():
        texts = [str(v) for v in (span.attributes or {}).values()] + [span.status.description or ""]
        texts += [str(v) for e in span.events for v in (e.attributes or {}).values()]
        found += [f"span {span.name}: {t}" for t in texts if secret in t]
    return found


# --- configuration ------------------------------------------------------------


def test_targets_from_the_environment_and_fallbacks() -> None:
    settings = load_probe_settings(
        {
            "REDIS_URL": f"redis://:{PASSWORD}@10.0.0.5:6380/1",
            "CHROMA_SERVER_HOST": "chroma.internal",
            "CHROMA_SERVER_HTTP_PORT": "8001",
            "CHROMA_HOST": "ignored-when-chromadb-settings-exist",
            ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_URL: "embed=http://embed:9000/health,backup=https://e2.example/health",
            ev.OTEL_PYTHON_ALERTING_PROBE_INTERVAL: "250ms",
            ev.OTEL_PYTHON_ALERTING_PROBE_TIMEOUT: "1.5",
        }
    )
    assert settings.errors == ()
    assert (settings.interval_s, settings.timeout_s) == (0.25, 1.5)
    keys = [t.key for t in settings.targets]
    assert keys == [
        DependencyKey("redis", "10.0.0.5", 6380),
        DependencyKey("chroma", "chroma.internal", 8001),
        DependencyKey("embed", "embed", 9000),
        DependencyKey("backup", "e2.example", 443),
    ]
    redis, chroma = settings.targets[:2]
    assert redis.display == "redis://:[secure]@10.0.0.5:6380/1"
    assert PASSWORD not in repr(settings)
    assert chroma.url == "http://chroma.internal:8001/api/v2/heartbeat"

    # the plugin's own variables win over the application's; CHROMA_HOST/PORT as a last resort
    settings = load_probe_settings(
        {
            "REDIS_URL": "redis://app-redis:6379",
            ev.OTEL_PYTHON_ALERTING_REDIS_URL: "cache=redis://c1:7000,sessions=unix:///run/redis.sock",
            "CHROMA_HOST": "chroma",
            "CHROMA_PORT": "8100",
        }
    )
    assert [t.key for t in settings.targets] == [
        DependencyKey("cache", "c1", 7000),
        DependencyKey("sessions", "/run/redis.sock", None),
        DependencyKey("chroma", "chroma", 8100),
    ]
    url = load_probe_settings({ev.OTEL_PYTHON_ALERTING_CHROMA_URL: "https://vec.example/api/v2"}).targets[0].url
    assert url == "https://vec.example/api/v2/heartbeat"


def test_bad_settings_are_reported_without_secrets_and_fall_back() -> None:
    settings = load_probe_settings(
        {
            ev.OTEL_PYTHON_ALERTING_REDIS_URL: f"http://:{PASSWORD}@host:1",
            ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_URL: "http://e/health",
            ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_HEADERS: f"Authorization=Bearer%20{TOKEN},{TOKEN}",
            ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_REQUEST: "{not json",
            ev.OTEL_PYTHON_ALERTING_PROBE_INTERVAL: "0",
            ev.OTEL_PYTHON_ALERTING_PROBE_TIMEOUT: "soon",
        }
    )
    errors = {e.variable: e.message for e in settings.errors}
    assert set(errors) == {
        ev.OTEL_PYTHON_ALERTING_REDIS_URL,
        ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_HEADERS,
        ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_REQUEST,
        ev.OTEL_PYTHON_ALERTING_PROBE_INTERVAL,
        ev.OTEL_PYTHON_ALERTING_PROBE_TIMEOUT,
    }
    assert all(PASSWORD not in m and TOKEN not in m for m in errors.values()), errors
    assert (settings.interval_s, settings.timeout_s) == (5.0, 2.0)
    (embeddings,) = settings.targets
    assert embeddings.method == "GET"  # the bad JSON body falls back to a GET
    assert embeddings.headers == (("Authorization", f"Bearer {TOKEN}"),)
    assert embeddings.scrub(f"rejected Bearer {TOKEN}") == "rejected [secure]"


def test_redact_url() -> None:
    assert redact_url(f"rediss://user:{PASSWORD}@h:6380/0") == "rediss://user:[secure]@h:6380/0"
    assert redact_url("http://h/health?key=abc&v=1") == "http://h/health?key=[secure]&v=[secure]"
    assert redact_url("redis://h:6379") == "redis://h:6379"


# --- the alert ladder, per dependency --------------------------------------------


@dataclass
class Outage:
    """How to configure a probe of one real dependency, break it and bring it back."""

    name: str
    env: dict[str, str]
    break_it: Callable[[], None]
    restore: Callable[[], object]
    error_type: str
    secret: str | None = None


@pytest.fixture(params=["redis", "chroma", "embeddings-503", "embeddings-closed"])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outage]:
    kind = request.param
    if kind == "redis":
        with RedisServer(tmp_path / "redis", password=PASSWORD) as redis:
            env = {ev.OTEL_PYTHON_ALERTING_REDIS_URL: redis.url}
            yield Outage("redis", env, redis.kill, redis.start, "redis.exceptions.ConnectionError", PASSWORD)
    elif kind == "chroma":
        with ChromaServer(tmp_path / "chroma") as chroma:
            env = {"CHROMA_SERVER_HOST": "127.0.0.1", "CHROMA_SERVER_HTTP_PORT": str(chroma.port)}
            yield Outage("chroma", env, chroma.stop, chroma.start, "httpx.ConnectError")
    else:
        with EmbeddingsStub() as stub:
            env = {ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_URL: f"{stub.url}/health?api_key={TOKEN}"}
            if kind == "embeddings-503":

                def fail() -> None:
                    stub.failing = True

                def heal() -> None:
                    stub.failing = False

                yield Outage("embeddings", env, fail, heal, "503", TOKEN)
            else:
                yield Outage("embeddings", env, stub.stop, stub.start, "httpx.ConnectError", TOKEN)


def test_downtime_alert_fires_at_each_level_and_resolves_with_the_outage(
    outage: Outage,
    rules_file: Path,
    tracing: Tracing,
    instrumentor: DependencyHealthInstrumentor,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with RuleTester(rules_file, environ=SHORT, interval="1s") as tester:
        board = HealthBoard(clock=tester.clock)
        instrumentor.instrument(
            meter_provider=tester.provider,
            tracer_provider=tracing.provider,
            board=board,
            environ={**outage.env, ev.OTEL_PYTHON_ALERTING_PROBE_TIMEOUT: "2s"},
            start=False,
        )
        runner = instrumentor.runner
        assert runner is not None and [t.name for t in runner.targets] == [outage.name]
        labels = {NAME: outage.name}

        assert [r.ok for r in runner.check_now()] == [True]
        tester.evaluate()
        tester.assert_inactive("ProbeDown", **labels)

        outage.break_it()
        (failed,) = runner.check_now()
        assert not failed.ok and failed.error_type == outage.error_type, failed
        tester.evaluate()  # downtime 0: below every level
        tester.assert_inactive("ProbeDown", **labels)
        for severity in ("medium", "high", "critical"):
            tester.clock.advance(1)
            assert not runner.check_now()[0].ok
            tester.evaluate()
            tester.assert_firing("ProbeDown", severity, **labels)

        outage.restore()
        tester.clock.advance(0.5)
        (recovered,) = runner.check_now()
        assert recovered.ok and recovered.transition is not None
        assert recovered.transition.outage == pytest.approx(3.5)
        tester.evaluate()
        resolved = tester.assert_resolved("ProbeDown", **labels)
        assert resolved.status is Status.RESOLVED
        # it fired when the downtime reached the first level (1 s), so it fired for 2.5 s
        assert resolved.fired_for == pytest.approx(2.5)
        assert [n.severity.name for n in tester.notifications] == ["MEDIUM", "HIGH", "CRITICAL", "CRITICAL"]

    messages = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "otel_alerting.dependencies"]
    downs = [m for level, m in messages if level == logging.WARNING and "is down" in m]
    ups = [m for level, m in messages if level == logging.INFO and "back up" in m]
    assert len(downs) == 1 and outage.error_type in downs[0], messages
    assert ups == [f"otel-alerting: dependency {runner.targets[0].key.describe()} is back up after 3.5s of downtime"]

    spans = tracing.spans()
    assert [s.status.status_code for s in spans] == [StatusCode.UNSET] + [StatusCode.ERROR] * 4 + [StatusCode.UNSET]
    assert {s.name for s in spans} == {f"otel_alerting.probe {outage.name}"}
    assert all(s.kind is SpanKind.CLIENT and s.parent is None for s in spans)
    attributes = dict(spans[1].attributes or {})
    assert attributes[NAME] == outage.name and attributes["server.address"] == "127.0.0.1"
    assert attributes["error.type"] == outage.error_type
    assert (spans[-1].attributes or {})["otel_alerting.dependency.outage.duration"] == pytest.approx(3.5)
    if outage.secret:
        assert leaked(outage.secret, tracing, caplog) == []


# --- metrics ---------------------------------------------------------------------


def points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    found: list[Any] = []
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    found += list(metric.data.data_points)
    return found


def test_metrics_read_the_board_at_collection(tmp_path: Path) -> None:
    clock = FakeClock()
    board = HealthBoard(clock=clock)
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    stub = EmbeddingsStub().start()
    try:
        metrics = HealthMetrics(board, provider)
        settings = load_probe_settings({ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_URL: f"{stub.url}/health"})
        runner = ProbeRunner(settings.targets, board, metrics=metrics, timeout=2)
        runner.check_now()
        attributes = {NAME: "embeddings", "server.address": "127.0.0.1", "server.port": stub.port}
        up: list[NumberDataPoint] = points(reader, "otel_alerting.dependency.up")
        assert [(p.value, dict(p.attributes or {})) for p in up] == [(1, attributes)]

        stub.failing = True
        runner.check_now()
        clock.advance(7.25)  # the downtime grows between checks: it is read at collection
        (downtime,) = points(reader, "otel_alerting.dependency.downtime")
        assert downtime.value == pytest.approx(7.25)
        assert [p.value for p in points(reader, "otel_alerting.dependency.up")] == [0]

        histograms: list[HistogramDataPoint] = points(reader, "otel_alerting.dependency.check.duration")
        by_error = {dict(p.attributes or {}).get("error.type"): p for p in histograms}
        assert set(by_error) == {None, "503"}
        assert all(tuple(p.explicit_bounds) == CHECK_DURATION_BUCKETS and p.count == 1 for p in histograms)
        assert 0 < by_error[None].sum < 2

        # a metrics object without a board (uninstrumented) reports nothing
        metrics.board = None
        assert points(reader, "otel_alerting.dependency.up") == []
    finally:
        stub.stop()
        provider.shutdown()


# --- timeouts, POST mode, suppression ----------------------------------------------


def test_a_hung_dependency_fails_within_the_timeout() -> None:
    with BlackHole() as hole:
        settings = load_probe_settings(
            {
                ev.OTEL_PYTHON_ALERTING_REDIS_URL: f"redis://127.0.0.1:{hole.port}",
                ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_URL: f"http://127.0.0.1:{hole.port}/health",
                ev.OTEL_PYTHON_ALERTING_PROBE_TIMEOUT: "300ms",
            }
        )
        runner = ProbeRunner(settings.targets, HealthBoard(), timeout=settings.timeout_s)
        started = time.monotonic()
        results = runner.check_now()
        took = time.monotonic() - started
    assert [r.error_type for r in results] == ["redis.exceptions.TimeoutError", "httpx.ReadTimeout"]
    assert all(0.25 < r.duration < 1.0 for r in results), results
    assert took < 2.0


def test_embeddings_post_mode_sends_the_configured_request_and_headers(
    tracing: Tracing, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with EmbeddingsStub() as stub:
        settings = load_probe_settings(
            {
                ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_URL: f"{stub.url}/v1/embeddings",
                ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_REQUEST: '{"input": "ping", "model": "tiny"}',
                ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_HEADERS: f"Authorization=Bearer%20{TOKEN}",
            }
        )
        runner = ProbeRunner(settings.targets, HealthBoard(), tracer_provider=tracing.provider)
        assert [r.ok for r in runner.check_now()] == [True]
        stub.failing = True
        assert [r.error_type for r in runner.check_now()] == ["503"]
    first = stub.requests[0]
    assert (first.method, first.path, first.body) == ("POST", "/v1/embeddings", b'{"input": "ping", "model": "tiny"}')
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.headers["content-type"] == "application/json"
    assert (tracing.spans()[0].attributes or {})["http.request.method"] == "POST"
    assert leaked(TOKEN, tracing, caplog) == []


def test_checks_are_invisible_to_the_redis_and_httpx_instrumentations(tmp_path: Path, tracing: Tracing) -> None:
    import httpx
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    RedisInstrumentor().instrument(tracer_provider=tracing.provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=tracing.provider, meter_provider=meters)
    try:
        with RedisServer(tmp_path / "redis") as redis, EmbeddingsStub() as stub:
            env = {
                ev.OTEL_PYTHON_ALERTING_REDIS_URL: redis.url,
                ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_URL: f"{stub.url}/health",
            }
            settings = load_probe_settings(env)
            runner = ProbeRunner(settings.targets, HealthBoard(), tracer_provider=tracing.provider)
            assert [r.ok for r in runner.check_now()] == [True, True]
            assert [s.name for s in tracing.exporter.get_finished_spans()] == [
                "otel_alerting.probe redis",
                "otel_alerting.probe embeddings",
            ]
            assert points(reader, "http.client.request.duration") + points(reader, "http.client.duration") == []
            # the application's own call is still instrumented: the silence above is suppression
            with httpx.Client() as client:
                client.get(f"{stub.url}/health")
            assert len(tracing.exporter.get_finished_spans()) == 3
    finally:
        HTTPXClientInstrumentor().uninstrument()
        RedisInstrumentor().uninstrument()
        meters.shutdown()


# --- the thread, against real time ---------------------------------------------------


def test_probe_thread_detects_an_outage_and_recovery_in_real_time(
    tmp_path: Path, rules_file: Path, tracing: Tracing, instrumentor: DependencyHealthInstrumentor
) -> None:
    env = {"OTEL_PYTHON_ALERTING_RULE_PROBEDOWN_ABOVE": "medium:0.3,high:0.6,critical:0.9"}
    with RedisServer(tmp_path / "redis") as redis, RuleTester(rules_file, environ=env) as tester:
        board = HealthBoard()  # the real monotonic clock
        instrumentor.instrument(
            meter_provider=tester.provider,
            tracer_provider=tracing.provider,
            board=board,
            environ={
                ev.OTEL_PYTHON_ALERTING_REDIS_URL: redis.url,
                ev.OTEL_PYTHON_ALERTING_PROBE_INTERVAL: "50ms",
                ev.OTEL_PYTHON_ALERTING_PROBE_TIMEOUT: "500ms",
            },
        )
        instrumentor.instrument()  # a second call changes nothing
        runner = instrumentor.runner
        assert runner is not None and runner.thread is not None
        thread = runner.thread
        assert thread.daemon and thread.name == "otel-alerting-probes"
        key = runner.targets[0].key

        def state() -> str:
            return f"{board.get(key)}; notifications {[(n.status.name, n.severity.name) for n in tester.notifications]}"

        wait_until(lambda: (s := board.get(key)) is not None and s.up, "a first successful check", 5, seen=state)
        redis.kill()

        def critical() -> bool:
            tester.evaluate()
            return any(n.severity.name == "CRITICAL" for n in tester.notifications)

        wait_until(critical, "ProbeDown to reach CRITICAL", 10, seen=state)
        # each level is checked exactly in the fake-clock test; against real time a slow
        # machine may evaluate once per level or skip one, but never go down the ladder
        severities = [n.severity.value for n in tester.notifications]
        assert tester.notifications[0].severity.name == "MEDIUM" and severities == sorted(severities), state()
        redis.start()

        def resolved() -> bool:
            tester.evaluate()
            return any(n.status is Status.RESOLVED for n in tester.notifications)

        wait_until(resolved, "ProbeDown to resolve", 10, seen=state)
        snapshot = board.get(key)
        assert snapshot is not None and snapshot.up and snapshot.downtime == 0
        # every check ran on the probe thread, none on this one
        assert set(tracing.threads.threads) == {"otel-alerting-probes"}

    instrumentor.uninstrument()
    wait_until(lambda: not thread.is_alive(), "the probe thread to stop after uninstrument", 5)


def test_instrumentor_is_registered_and_idle_without_targets(instrumentor: DependencyHealthInstrumentor) -> None:
    # every installed copy of the metadata is searched: a stale build's otel_alerting.egg-info
    # in the working directory would otherwise shadow the installed one
    found = [
        ep
        for dist in distributions()
        if dist.metadata["Name"] == "otel-alerting"
        for ep in dist.entry_points
        if ep.group == "opentelemetry_instrumentor" and ep.name == "otel_alerting_dependencies"
    ]
    assert found and found[0].load() is DependencyHealthInstrumentor
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        instrumentor.instrument(meter_provider=provider, board=HealthBoard(), environ={})
        runner = instrumentor.runner
        assert runner is not None and runner.targets == [] and runner.thread is None
        assert points(reader, "otel_alerting.dependency.up") == []
    finally:
        provider.shutdown()


FORK_SCRIPT = """
import os, sys, time
from otel_alerting.instrumentation.dependencies import DependencyHealthInstrumentor
from otel_alerting.instrumentation.probes import HealthBoard

board = HealthBoard()
instrumentor = DependencyHealthInstrumentor()
instrumentor.instrument(board=board, environ={
    "OTEL_PYTHON_ALERTING_EMBEDDINGS_URL": sys.argv[1], "OTEL_PYTHON_ALERTING_PROBE_INTERVAL": "50ms"})

def checks():
    snapshots = board.snapshots()
    return snapshots[0].checks if snapshots else 0

def wait_for_checks(n, who):
    end = time.monotonic() + 10
    while checks() < n:
        if time.monotonic() > end:
            print(f"{who}: only {checks()} checks", flush=True)
            os._exit(1)
        time.sleep(0.02)  # bounded polling (10 s) in a script of its own, which cannot import tests.support

wait_for_checks(2, "parent")
pid = os.fork()
if pid == 0:
    start = checks()
    wait_for_checks(start + 3, "child")  # only a thread started in the child can count these
    print("child ok", instrumentor.runner.thread.name, instrumentor.runner.thread.is_alive(), flush=True)
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("parent ok", os.waitstatus_to_exitcode(status), flush=True)
"""


def test_probe_thread_restarts_after_fork(tmp_path: Path) -> None:
    script = tmp_path / "fork_probe.py"
    script.write_text(textwrap.dedent(FORK_SCRIPT))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    with EmbeddingsStub() as stub:
        done = subprocess.run(
            [sys.executable, str(script), f"{stub.url}/health"], capture_output=True, text=True, timeout=60, env=env
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "child ok otel-alerting-probes True" in done.stdout, done.stdout + done.stderr
    assert "parent ok 0" in done.stdout, done.stdout + done.stderr


def test_a_chroma_server_in_use_is_discovered_when_none_is_configured(tmp_path: Path) -> None:
    from otel_alerting.instrumentation.probes.targets import chroma_target

    board = HealthBoard()
    runner = ProbeRunner([], board, interval=0.05)
    runner.start()  # no target: no thread until one is found
    assert runner.thread is None
    target = chroma_target("http://127.0.0.1:1/api/v2", discovered=True)
    assert target is not None and target.url == "http://127.0.0.1:1/api/v2/heartbeat"
    try:
        assert runner.discover(target)
        assert not runner.discover(target)  # once
        assert runner.thread is not None
        key = DependencyKey("chroma", "127.0.0.1", 1)
        wait_until(lambda: (s := board.get(key)) is not None and not s.up, "a failed check of the discovered server", 5)
    finally:
        assert runner.stop()
    configured = load_probe_settings({ev.OTEL_PYTHON_ALERTING_CHROMA_URL: "http://127.0.0.1:2"})
    assert not ProbeRunner(configured.targets, board).discover(target)  # a configured target wins
