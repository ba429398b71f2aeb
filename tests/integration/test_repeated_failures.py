"""A real reader whose SQLite state store fails at every save, and a notification
subscriber that raises at every evaluation, over 100 ticks of a fake clock: the log
holds one line for the store and one traceback for the subscriber (not 100 each),
the counter ``otel_alerting.plugin.failures`` reads 100 for each step, and the real
/health server shows the counts and the errors, without the secret the subscriber's
error carried."""

from __future__ import annotations

import json
import logging
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_alerting.config import Settings
from otel_alerting.notify.model import Notification
from otel_alerting.reader import AlertingMetricReader
from otel_alerting.testing import FakeClock

from ..support.ports import free_port

CANARY = "cAnArY7s3cr3tZq"
RULES = """
rules:
  - alert: LevelHigh
    expr:
      value: {metric: app.level}
    above: {high: 10}
"""
# every write of an alert's record fails, as a full or broken disk would make it
BREAK_THE_STORE = (
    "CREATE TRIGGER injected_failure BEFORE INSERT ON alert_rows "
    "BEGIN SELECT RAISE(ABORT, 'injected failure: disk full'); END"
)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _failure_counts(memory: InMemoryMetricReader) -> dict[str, int]:
    data = memory.get_metrics_data()
    assert data is not None
    return {
        str(point.attributes["otel_alerting.failure.step"]): int(point.value)
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name == "otel_alerting.plugin.failures"
        for point in metric.data.data_points  # type: ignore[union-attr]
        if point.attributes is not None
    }


def test_a_store_and_a_subscriber_failing_at_every_tick(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="otel_alerting")
    rules, store, port = tmp_path / "rules.yaml", tmp_path / "state.db", free_port()
    rules.write_text(RULES)
    clock = FakeClock()
    settings = Settings(
        interval_ms=1000,
        rules_paths=(str(rules),),
        default_rules=False,
        cooldown_s=0,
        state_path=str(store),
        http_port=port,
    )
    reader = AlertingMetricReader(settings, environ={}, channels=[], clock=clock, start_timer=False)
    memory = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader, memory], shutdown_on_exit=False)
    level = {"value": 50.0}

    def observe(options: CallbackOptions) -> list[Observation]:
        return [Observation(level["value"])]

    provider.get_meter("app").create_observable_gauge("app.level", callbacks=[observe])
    try:
        system = reader.system
        assert system is not None

        def subscriber(notifications: list[Notification]) -> None:
            raise RuntimeError(f"cannot post to https://hooks:{CANARY}@hooks.example.com/in?token={CANARY}")

        system.subscribe(subscriber)
        with sqlite3.connect(store) as connection:
            connection.execute(BREAK_THE_STORE)
        caplog.clear()

        for _ in range(100):
            clock.advance(1)
            reader.collect()

        # the log: the store's failure told once (by the state keeper, without a
        # traceback), the subscriber's once with its traceback, then once a minute
        records = [r for r in caplog.records if r.levelno >= logging.WARNING]
        store_lines = [r for r in records if "alert state not saved" in r.getMessage()]
        assert len(store_lines) == 1 and "injected failure: disk full" in store_lines[0].getMessage()
        subscriber_lines = [r for r in records if "a notification subscriber failed" in r.getMessage()]
        assert [(r.levelno, r.exc_info is not None) for r in subscriber_lines] == [
            (logging.ERROR, True),
            (logging.WARNING, False),
        ]
        assert "failed 60 more time(s) in the last 60 s" in subscriber_lines[1].getMessage()
        assert caplog.text.count("Traceback") == 1
        assert CANARY not in subscriber_lines[1].getMessage()

        # the counter also replays the process-wide steps (other tests' /health sections)
        counts = _failure_counts(memory)
        assert {step: counts.get(step) for step in ("state_save", "subscriber")} == {
            "state_save": 100,
            "subscriber": 100,
        }

        status, body = _get(f"http://127.0.0.1:{port}/health")
        assert status == 200, body
        failures: dict[str, Any] = json.loads(body)["plugin"]["failures"]
        assert failures["state_save"]["count"] == 100 and failures["state_save"]["failing"] is True
        assert "injected failure: disk full" in failures["state_save"]["message"]
        subscriber_failures = failures["subscriber"]
        assert (subscriber_failures["count"], subscriber_failures["error_type"]) == (100, "RuntimeError")
        assert subscriber_failures["message"].startswith("cannot post to https://hooks.example.com/")
        assert subscriber_failures["last_failure"] is not None
        assert CANARY not in body
        page_status, page = _get(f"http://127.0.0.1:{port}/")
        assert page_status == 200 and "subscriber: 100 failure(s), failing" in page and CANARY not in page

        # the store works again: counted no more, and /health says so
        with sqlite3.connect(store) as connection:
            connection.execute("DROP TRIGGER injected_failure")
        clock.advance(1)
        reader.collect()
        assert _failure_counts(memory)["state_save"] == 100
        failures = json.loads(_get(f"http://127.0.0.1:{port}/health")[1])["plugin"]["failures"]
        assert (failures["state_save"]["count"], failures["state_save"]["failing"]) == (100, False)
    finally:
        provider.shutdown()
