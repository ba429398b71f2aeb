"""``otel-alerting status`` and ``alerts`` against a service run under
opentelemetry-instrument with its /health server: ok (0), an alert firing (1), the
service gone (2, a message naming the URL)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from otel_alerting.testing import OtlpReceiver

from ..support.waiting import wait_until
from .instrumented import BIN, health_app

CLI = str(BIN / "otel-alerting")
RULES = """
rules:
  - alert: LevelHigh
    expr:
      value: {metric: app.level, reduce: max}
      by: [tank]
    above: {medium: 100, critical: 900}
"""


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=30)


def test_status_and_alerts_follow_the_running_service(receiver: OtlpReceiver, tmp_path: Path) -> None:
    with health_app(receiver, tmp_path, RULES, "0") as app:
        env, url, level = app.env, app.url, app.level
        # the URL comes from OTEL_PYTHON_ALERTING_HTTP_PORT, as the service's does
        wait_until(lambda: cli("status", env=env).returncode == 0, "status to say ok", 30)
        ok = cli("status", env=env)
        assert ok.stdout.startswith(f"{url}/health: OK at ")
        assert "Alerts: 0 firing (CRITICAL 0, HIGH 0, MEDIUM 0, LOW 0), 0 pending" in ok.stdout
        assert "Plugin: 1 rule(s)" in ok.stdout
        assert cli("alerts", "--url", url).stdout == "No alert is firing (0 pending).\n"

        level.write_text("500")
        wait_until(lambda: cli("status", "--url", url).returncode == 1, "status to say degraded", 15)
        degraded = cli("status", "--url", url)
        assert degraded.stdout.startswith(f"{url}/health: DEGRADED at ")
        assert "  alert LevelHigh is firing at MEDIUM\n" in degraded.stdout
        assert "Alerts: 1 firing (CRITICAL 0, HIGH 0, MEDIUM 1, LOW 0)" in degraded.stdout
        assert "\n  MEDIUM   LevelHigh value 500 (threshold 100) since " in degraded.stdout  # no empty label
        assert "\nMemory: " in degraded.stdout and "\nDependencies: not available" in degraded.stdout
        assert "\nDeliveries:\n  log: delivered " in degraded.stdout
        alerts = cli("alerts", "--url", url)
        assert alerts.returncode == 1
        assert alerts.stdout.startswith("MEDIUM   LevelHigh value 500 (threshold 100) since ")

        level.write_text("1000")
        wait_until(lambda: "FAILING" in cli("status", "--url", url).stdout, "status to say failing", 15)
        report = cli("status", "--url", url, "--json")
        assert report.returncode == 1
        body = json.loads(report.stdout)
        assert body["status"] == "failing" and body["alerts"]["active"]["CRITICAL"] == 1
    assert app.process.returncode == 0, app.stderr[-3000:]

    gone = cli("status", "--url", url)
    assert gone.returncode == 2
    assert gone.stdout == ""
    assert gone.stderr == f"otel-alerting status: cannot reach {url}/health: connection refused or host unknown\n"
