"""The configuration loads on a thread of its own, so the host's start-up does not wait
for a large rules file; strict mode loads it during the start-up, to stop it there."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider

from otel_alerting import reader as reader_module
from otel_alerting.configuration import Configuration
from otel_alerting.errors import ConfigurationProblems
from otel_alerting.reader import AlertingMetricReader

from ..support.waiting import wait_until

RULES = "rules:\n  - alert: Level\n    expr: {value: {metric: app.level}}\n    above: {high: 1}\n"


def loading_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads the configuration is loaded on, recorded."""
    names: list[str] = []
    load = reader_module.load_configuration

    def recording(settings: Any, env: Mapping[str, str], channels: Sequence[Any] | None) -> Configuration:
        names.append(threading.current_thread().name)
        return load(settings, env, channels)

    monkeypatch.setattr(reader_module, "load_configuration", recording)
    return names


def environment(tmp_path: Any, **extra: str) -> dict[str, str]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    return {
        "OTEL_PYTHON_ALERTING_RULES": str(rules),
        "OTEL_PYTHON_ALERTING_DEFAULT_RULES": "false",
        "OTEL_PYTHON_ALERTING_CHANNELS": "log",
        "OTEL_PYTHON_ALERTING_INTERVAL": "3600000",
        **extra,
    }


def test_the_rules_load_off_the_hosts_thread_and_the_system_waits_for_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    names = loading_threads(monkeypatch)
    reader = AlertingMetricReader(environ=environment(tmp_path))
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    try:
        system = reader.system
        assert system is not None and [r.alert for r in system.rule_set.rules] == ["Level"]
        assert names == ["otel-alerting-load"]
    finally:
        provider.shutdown()


def test_strict_mode_loads_during_the_start_up_and_stops_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    names = loading_threads(monkeypatch)
    env = environment(tmp_path, OTEL_PYTHON_ALERTING_STRICT="true")
    env["OTEL_PYTHON_ALERTING_RULES"] += "-missing"
    with pytest.raises(ConfigurationProblems):
        AlertingMetricReader(environ=env)
    assert names == [threading.current_thread().name]


def test_a_process_that_ends_while_its_rules_load_does_not_wait_for_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    release = threading.Event()
    load = reader_module.load_configuration

    def slow(settings: Any, env: Mapping[str, str], channels: Sequence[Any] | None) -> Configuration:
        release.wait(30)
        return load(settings, env, channels)

    monkeypatch.setattr(reader_module, "load_configuration", slow)
    env = environment(tmp_path, OTEL_PYTHON_ALERTING_INTERVAL="10")  # the first tick comes while loading
    reader = AlertingMetricReader(environ=env)
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    try:
        ticker = reader._thread
        assert ticker is not None and ticker.ident is not None

        def ticker_waits() -> bool:
            frame = sys._current_frames().get(ticker.ident)  # type: ignore[arg-type]
            while frame is not None and frame.f_code.co_name != "_wait_for_loading":
                frame = frame.f_back
            return frame is not None

        wait_until(ticker_waits, timeout=10, what="the first tick waiting for the rules")
        started = time.monotonic()
        provider.shutdown()
        assert time.monotonic() - started < 2.0
        assert reader._loading is not None and reader._loading.is_alive()
    finally:
        release.set()
