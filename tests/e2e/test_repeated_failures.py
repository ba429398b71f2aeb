"""Under opentelemetry-instrument, an app whose SQLite state store fails at every save
(a trigger refuses every alert record, as a broken disk would) and whose cache's
statistics cannot be read at any collection, run ~3 s at a 100 ms interval: standard
error tells each failure once (one traceback per failing step, not one per tick), and
/health and the OTLP counter ``otel_alerting.plugin.failures`` count every one."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from otel_alerting.testing import OtlpReceiver

from ..support.waiting import wait_until
from .instrumented import health_app

RULES = """
rules:
  - alert: LevelHigh
    expr:
      value: {metric: app.level, reduce: max}
    above: {high: 10}
"""
BREAK_THE_STORE = (
    "CREATE TRIGGER injected_failure BEFORE INSERT ON alert_rows "
    "BEGIN SELECT RAISE(ABORT, 'injected failure: disk full'); END"
)
#: failures of each step to wait for: ~3 s of ticks at 100 ms
TICKS = 25


def _failures(port: int) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        body = error.read()
    except OSError as exc:
        return {"error": repr(exc)}  # shown by wait_until when it gives up
    failures: dict[str, Any] = json.loads(body)["plugin"].get("failures", {})
    return failures


def _count(port: int, step: str) -> int:
    return int(_failures(port).get(step, {}).get("count", 0))


def _store_ready(path: Path) -> bool:
    if not path.exists():
        return False
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'alert_rows'").fetchone() is not None


def test_a_store_failing_at_every_save_is_told_once_and_counted(receiver: OtlpReceiver, tmp_path: Path) -> None:
    store = tmp_path / "state.db"
    with health_app(receiver, tmp_path, RULES, "0", app="failing_app.py", OTEL_PYTHON_ALERTING_STATE=str(store)) as app:
        port = app.port
        wait_until(lambda: _store_ready(store), "the state store to be created", 30)
        with sqlite3.connect(store) as connection:
            connection.execute(BREAK_THE_STORE)
        app.level.write_text("50")  # an alert fires: its record is written, and refused, at every tick
        wait_until(
            lambda: _count(port, "state_save") >= TICKS and _count(port, "cache_stats") >= TICKS,
            f"/health to count {TICKS} failures of the state save and of the cache statistics",
            30,
            seen=lambda: (_failures(port), app.process.poll()),
        )
        failures = _failures(port)
        wait_until(
            lambda: any(p.metric == "otel_alerting.plugin.failures" for p in receiver.metric_points()),
            "the failure counter over OTLP",
            15,
            seen=receiver.metric_names,
        )
    assert app.process.returncode == 0, app.stderr[-3000:]
    stderr = app.stderr
    assert "injected failure: disk full" in failures["state_save"]["message"]
    assert (failures["cache_stats"]["error_type"], failures["cache_stats"]["message"]) == (
        "RuntimeError",
        "the cache's statistics are gone",
    )
    # ~30 failures of each step, told once each: the store by its keeper (no traceback),
    # the cache's statistics with a traceback where they are read: by the collections,
    # by the status page's cache window at each evaluation, and by each /health request
    # (polled here every few ms: a traceback each would fill the unread pipe of standard
    # error and block the server's thread)
    for line in (
        "alert state not saved",
        "otel-alerting: reading cache statistics failed",
        "otel-alerting: a notification subscriber failed",
        "otel-alerting: the health report's caches section failed",
    ):
        assert stderr.count(line) == 1, (line, stderr[-3000:])
    assert stderr.count("Traceback") == 3, stderr[-3000:]
    exported = {
        p.attributes["otel_alerting.failure.step"]: p.value
        for p in receiver.metric_points()
        if p.metric == "otel_alerting.plugin.failures"
    }
    assert exported.get("state_save", 0) >= 1 and exported.get("cache_stats", 0) >= 1, exported
