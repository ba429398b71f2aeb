"""The OTel log records channel with a real SDK LoggerProvider: in memory, over
OTLP/HTTP to a real receiver, and under opentelemetry-instrument with the global
provider the SDK sets up."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry._logs import NoOpLoggerProvider, SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from otel_alerting.channels.otel_logs import (
    EVENT_NAME,
    OtelLogsChannel,
    OtelLogsConfig,
    load_otel_logs_config,
    severity_of,
)
from otel_alerting.notify.model import Batch, Change, Notification, Status
from otel_alerting.notify.render import summary_line
from otel_alerting.rules.model import Severity
from otel_alerting.testing import OtlpReceiver

from ..unit.helpers import notification

SWITCH = "OTEL_PYTHON_ALERTING_OTEL_LOGS"
NOW = 1_750_000_000.0


@pytest.fixture
def memory() -> Iterator[tuple[LoggerProvider, InMemoryLogRecordExporter]]:
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    provider = LoggerProvider(resource=Resource.create({"service.name": "checkout"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def firing(**kwargs: Any) -> Notification:
    return notification(
        Severity.HIGH,
        labels={"alertname": "QueueBacklog", "queue": "ingest"},
        annotations={"summary": "Queue ingest is backing up"},
        at=NOW,
        starts_at=NOW - 60,
        fingerprint="f00dfeedf00dfeed",
        **kwargs,
    )


def ended() -> Notification:
    return notification(
        Severity.HIGH,
        Status.RESOLVED,
        labels={"alertname": "QueueBacklog", "queue": "ingest"},
        at=NOW + 120,
        starts_at=NOW - 60,
        ends_at=NOW + 120,
        value=12.0,
        last_firing_value=640.0,
        fired_for=180.0,
        reason="value 12 back below threshold 500",
        fingerprint="f00dfeedf00dfeed",
    )


def send(channel: OtelLogsChannel, *notifications: Notification) -> Any:
    return asyncio.run(channel.send(Batch("otel_logs", notifications)))


def test_each_notification_is_an_event_record(memory: tuple[LoggerProvider, InMemoryLogRecordExporter]) -> None:
    provider, exporter = memory
    n, r = firing(change=Change.ESCALATED, previous_severity=Severity.MEDIUM), ended()
    assert send(OtelLogsChannel(logger_provider=provider), n, r).ok
    fired, resolved = exporter.get_finished_logs()
    assert fired.instrumentation_scope is not None and fired.instrumentation_scope.name == "otel_alerting"
    assert fired.resource.attributes["service.name"] == "checkout"
    record = fired.log_record
    assert record.event_name == EVENT_NAME
    assert (record.severity_number, record.severity_text) == (SeverityNumber.ERROR, "ERROR")
    assert record.body == summary_line(n)
    assert record.timestamp == int(NOW * 1e9)
    assert record.observed_timestamp is not None and abs(record.observed_timestamp / 1e9 - time.time()) < 60
    assert dict(record.attributes or {}) == {
        "otel_alerting.alert.name": "QueueBacklog",
        "otel_alerting.alert.state": "firing",
        "otel_alerting.alert.severity": "HIGH",
        "otel_alerting.alert.change": "escalated",
        "otel_alerting.alert.previous_severity": "MEDIUM",
        "otel_alerting.alert.fingerprint": "f00dfeedf00dfeed",
        "otel_alerting.alert.starts_at": NOW - 60,
        "otel_alerting.alert.value": 612.0,
        "otel_alerting.alert.threshold": 500.0,
        "otel_alerting.label.queue": "ingest",
        "otel_alerting.annotation.summary": "Queue ingest is backing up",
    }
    record = resolved.log_record
    assert (record.event_name, record.severity_number, record.severity_text) == (
        EVENT_NAME,
        SeverityNumber.INFO,
        "INFO",
    )
    attributes = dict(record.attributes or {})
    assert attributes["otel_alerting.alert.state"] == "resolved"
    assert attributes["otel_alerting.alert.value"] == 12.0
    assert attributes["otel_alerting.alert.last_firing_value"] == 640.0
    assert attributes["otel_alerting.alert.fired_for"] == 180.0
    assert attributes["otel_alerting.alert.ends_at"] == NOW + 120
    assert attributes["otel_alerting.alert.reason"] == "value 12 back below threshold 500"


@pytest.mark.parametrize(
    ("severity", "status", "number", "text"),
    [
        (Severity.LOW, Status.FIRING, SeverityNumber.INFO, "INFO"),
        (Severity.MEDIUM, Status.FIRING, SeverityNumber.WARN, "WARN"),
        (Severity.HIGH, Status.FIRING, SeverityNumber.ERROR, "ERROR"),
        (Severity.CRITICAL, Status.FIRING, SeverityNumber.FATAL, "FATAL"),
        (Severity.CRITICAL, Status.RESOLVED, SeverityNumber.INFO, "INFO"),
    ],
)
def test_severity_mapping(severity: Severity, status: Status, number: SeverityNumber, text: str) -> None:
    assert severity_of(notification(severity, status)) == (number, text)


def test_without_an_sdk_logger_provider_the_send_fails_clearly() -> None:
    channel = OtelLogsChannel(OtelLogsConfig("true"), logger_provider=NoOpLoggerProvider())
    assert not channel.available()
    assert "no SDK LoggerProvider" in channel.describe()
    result = send(channel, firing())
    assert not result.ok and not result.retryable
    assert "no OpenTelemetry SDK LoggerProvider" in (result.error or "")


def test_a_slow_exporter_does_not_hold_the_event_loop() -> None:
    entered, released = threading.Event(), threading.Event()
    waited: list[bool] = []

    class Slow(LogRecordProcessor):
        """Blocks in on_emit until the event loop, still running, lets it go."""

        def on_emit(self, log_record: ReadWriteLogRecord) -> None:
            entered.set()
            waited.append(released.wait(5))

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return True

    provider = LoggerProvider()
    provider.add_log_record_processor(Slow())

    async def main() -> Any:
        async def release() -> None:
            # runs only if the loop keeps running while the processor blocks
            assert await asyncio.to_thread(entered.wait, 5)
            released.set()

        task = asyncio.ensure_future(release())
        result = await OtelLogsChannel(logger_provider=provider).send(Batch("otel_logs", (firing(),)))
        await task
        return result

    assert asyncio.run(main()).ok
    assert waited == [True]  # the loop let the processor go: it was not held
    provider.shutdown()


def test_records_reach_a_collector_over_otlp_http() -> None:
    with OtlpReceiver() as receiver:
        provider = LoggerProvider(resource=Resource.create({"service.name": "checkout"}))
        provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(f"{receiver.endpoint}/v1/logs")))
        try:
            assert send(OtelLogsChannel(logger_provider=provider), firing(), ended()).ok
            assert provider.force_flush(10_000)
        finally:
            provider.shutdown()
        records = receiver.log_records()
    assert [r.event_name for r in records] == [EVENT_NAME, EVENT_NAME]
    assert [r.severity_text for r in records] == ["ERROR", "INFO"]
    assert [r.severity_number for r in records] == [SeverityNumber.ERROR.value, SeverityNumber.INFO.value]
    assert records[0].body.string_value == summary_line(firing())
    attributes = {kv.key: kv.value for kv in records[0].attributes}
    assert attributes["otel_alerting.alert.name"].string_value == "QueueBacklog"
    assert attributes["otel_alerting.alert.value"].double_value == 612.0
    assert attributes["otel_alerting.label.queue"].string_value == "ingest"
    assert records[0].time_unix_nano == int(NOW * 1e9)


INSTRUMENTED = textwrap.dedent(
    """
    import asyncio, time
    from opentelemetry._logs import get_logger_provider
    from otel_alerting.channels.otel_logs import OtelLogsChannel, load_otel_logs_config
    from otel_alerting.notify.model import Batch, Change, Notification, Status
    from otel_alerting.rules.model import Severity

    config, errors = load_otel_logs_config()
    print("config", config, errors, flush=True)
    channel = OtelLogsChannel(config)
    now = time.time()
    n = Notification("DependencyDown", Status.FIRING, Change.FIRED, Severity.CRITICAL, {"alertname": "DependencyDown",
        "otel_alerting.dependency.name": "redis"}, {}, 400.0, 300.0, now - 400, now, fingerprint="0123")
    print("result", asyncio.run(channel.send(Batch("otel_logs", (n,)))).ok, flush=True)
    get_logger_provider().force_flush()
    """
)


def test_under_opentelemetry_instrument_the_default_sends_over_otlp(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(INSTRUMENTED)
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    assert instrument.exists(), "opentelemetry-instrument is not installed next to the interpreter"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    with OtlpReceiver() as receiver:
        env.update(
            {
                # the distro sets OTEL_LOGS_EXPORTER=otlp: OTEL_PYTHON_ALERTING_OTEL_LOGS is left at auto
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                "OTEL_SERVICE_NAME": "checkout",
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_TRACES_EXPORTER": "none",
                "OTEL_PYTHON_ALERTING_ENABLED": "false",
            }
        )
        done = subprocess.run(
            [str(instrument), sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "config OtelLogsConfig(mode='auto') []" in done.stdout, done.stdout + done.stderr
        assert "result True" in done.stdout, done.stdout + done.stderr
        receiver.wait_for(lambda: bool(receiver.log_records()), 10, "the alert's log record")
        (record,) = [r for r in receiver.log_records() if r.event_name == EVENT_NAME]
    assert record.severity_text == "FATAL"
    resource = {
        kv.key: kv.value.string_value for kv in receiver.requests["/v1/logs"][0].resource_logs[0].resource.attributes
    }
    assert resource["service.name"] == "checkout"
    attributes = {kv.key: kv.value for kv in record.attributes}
    assert attributes["otel_alerting.label.otel_alerting.dependency.name"].string_value == "redis"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"OTEL_LOGS_EXPORTER": "otlp"}, OtelLogsConfig("auto")),
        ({"OTEL_LOGS_EXPORTER": "console,otlp"}, OtelLogsConfig("auto")),
        ({"OTEL_LOGS_EXPORTER": "none"}, None),
        ({SWITCH: "auto", "OTEL_LOGS_EXPORTER": "otlp"}, OtelLogsConfig("auto")),
        ({SWITCH: "true"}, OtelLogsConfig("true")),
        ({SWITCH: "TRUE", "OTEL_LOGS_EXPORTER": "none"}, OtelLogsConfig("true")),
        ({SWITCH: "false", "OTEL_LOGS_EXPORTER": "otlp"}, None),
    ],
)
def test_configuration(env: dict[str, str], expected: OtelLogsConfig | None) -> None:
    assert load_otel_logs_config(env) == (expected, [])


def test_a_bad_switch_is_an_error_naming_the_variable() -> None:
    config, errors = load_otel_logs_config({SWITCH: "sometimes", "OTEL_LOGS_EXPORTER": "otlp"})
    assert config is None
    assert [e.variable for e in errors] == [SWITCH] and "true, false or auto" in errors[0].message


def test_emitting_runs_off_the_loop_thread(memory: tuple[LoggerProvider, InMemoryLogRecordExporter]) -> None:
    provider, _ = memory
    seen: list[str] = []

    class Spy(LogRecordProcessor):
        def on_emit(self, log_record: ReadWriteLogRecord) -> None:
            seen.append(threading.current_thread().name)

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return True

    provider.add_log_record_processor(Spy())
    loop_thread: list[str] = []

    async def main() -> None:
        loop_thread.append(threading.current_thread().name)
        await OtelLogsChannel(logger_provider=provider).send(Batch("otel_logs", (firing(),)))

    asyncio.run(main())
    assert seen and seen[0] != loop_thread[0]
