"""The standalone /health server under opentelemetry-instrument: a CRITICAL alert
turns it to 503 failing, its resolve back to 200 ok."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from otel_alerting.testing import OtlpReceiver

from ..support.ports import free_port
from ..support.waiting import wait_until
from .instrumented import APPS, BIN, ROOT, health_app, instrumented_env

RULES = """
rules:
  - alert: LevelHigh
    expr:
      value: {metric: app.level, reduce: max}
    above: {critical: 900}
"""


def health(port: int) -> tuple[int, dict[str, Any]] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return None


def test_health_fails_while_a_critical_alert_fires_and_recovers(receiver: OtlpReceiver, tmp_path: Path) -> None:
    with health_app(receiver, tmp_path, RULES, "0") as app:
        port = app.port
        wait_until(lambda: (health(port) or (0, {}))[0] == 200, "/health to answer 200", 30, seen=lambda: health(port))
        app.level.write_text("1000")
        wait_until(lambda: (health(port) or (0, {}))[0] == 503, "/health to fail", 15, seen=lambda: health(port))
        seen = health(port)
        assert seen is not None
        assert seen[1]["status"] == "failing"
        assert seen[1]["reasons"] == ["alert LevelHigh is firing at CRITICAL"]
        assert seen[1]["alerts"]["active"]["CRITICAL"] == 1
        app.level.write_text("0")
        wait_until(lambda: (health(port) or (0, {}))[0] == 200, "/health to recover", 15, seen=lambda: health(port))
        seen = health(port)
        assert seen is not None and seen[1]["status"] == "ok" and seen[1]["alerts"]["resolved"] == 1
    assert app.process.returncode == 0, app.stderr[-3000:]
    assert health(port) is None  # closed at shutdown


def test_a_second_process_on_the_same_port_warns_once_and_runs(receiver: OtlpReceiver, tmp_path: Path) -> None:
    level, stop = tmp_path / "level", tmp_path / "stop"
    level.write_text("0")
    port = free_port()
    env = instrumented_env(
        receiver, OTEL_PYTHON_ALERTING_HTTP_PORT=str(port), LEVEL_FILE=str(level), STOP_FILE=str(stop)
    )
    command = [str(BIN / "opentelemetry-instrument"), sys.executable, str(APPS / "health_app.py")]
    first = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: health(port) is not None, "the first process's /health", 30)
        second = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert second.stdout is not None
        assert second.stdout.readline().strip() == "app: started"  # the host runs on
    finally:
        stop.write_text("")
        outs = [p.communicate(timeout=30) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    warnings = [line for line in outs[1][1].splitlines() if "cannot serve /health" in line]
    assert len(warnings) == 1, outs[1][1][-3000:]
    assert "app: done" in outs[1][0]
