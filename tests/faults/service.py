"""The service under fault injection (``apps/service_app.py``) under opentelemetry-instrument,
and reading what a webhook receiver got from it.

``Service`` starts the app with the plugin's built-in rules, a webhook channel pointed at
the test's ``HttpReceiver`` for every severity (no grouping timers; ``webhook_for_all``)
and the standalone HTTP server; ``phase()`` names the stretch the app's request latencies are filed under;
``stop()`` ends it and parses its report.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from otel_alerting.testing import OtlpReceiver

from ..e2e.instrumented import BIN, ROOT, instrumented_env
from ..support.http import HttpReceiver
from ..support.ports import free_port

__all__ = ["APPS", "Service", "WebhookAlert", "webhook_alerts"]

APPS = Path(__file__).resolve().parent / "apps"


@dataclass(frozen=True)
class WebhookAlert:
    alertname: str
    status: str
    severity: str
    labels: dict[str, str]

    def label(self, suffix: str) -> str | None:
        """The label whose name ends with ``suffix`` (names are sanitised on the wire)."""
        for name, value in self.labels.items():
            if name.endswith(suffix):
                return value
        return None


def webhook_alerts(hook: HttpReceiver) -> list[WebhookAlert]:
    """Every alert of every webhook POST, in the order they arrived."""
    found: list[WebhookAlert] = []
    for body in hook.bodies:
        for alert in (body or {}).get("alerts", []):
            labels = alert["labels"]
            found.append(WebhookAlert(labels["alertname"], alert["status"], labels["severity"], labels))
    return found


@dataclass
class Service:
    """``apps/service_app.py`` under opentelemetry-instrument, notifying ``hook``."""

    tmp_path: Path
    receiver: OtlpReceiver
    hook: HttpReceiver
    extra: dict[str, str] = field(default_factory=dict)
    http_port: int = field(default_factory=free_port)
    #: every severity to the console and the webhook, else the default routing
    webhook_for_all: bool = True
    #: run in the child before exec (resource limits)
    preexec: Callable[[], None] | None = None
    process: subprocess.Popen[str] | None = None
    stdout: str = ""
    stderr: str = ""
    _out: list[str] = field(default_factory=list)
    _err: list[str] = field(default_factory=list)
    _readers: list[threading.Thread] = field(default_factory=list)

    @property
    def stop_file(self) -> Path:
        return self.tmp_path / "stop"

    @property
    def phase_file(self) -> Path:
        return self.tmp_path / "phase"

    def start(self, app: str = "service_app.py") -> Service:
        self.phase_file.write_text("start")
        variables = {
            "STOP_FILE": str(self.stop_file),
            "PHASE_FILE": str(self.phase_file),
            "OTEL_PYTHON_ALERTING_WEBHOOK_URL": f"{self.hook.url}/hook",
            "OTEL_PYTHON_ALERTING_GROUP_WAIT": "0s",
            # every change notified as it happens: an alert that joins a group which has
            # just notified would otherwise wait the group interval (5 min)
            "OTEL_PYTHON_ALERTING_GROUP_INTERVAL": "0s",
            "OTEL_PYTHON_ALERTING_HTTP_PORT": str(self.http_port),
            # the cache rule would alert on the app's deliberate misses: not under test here
            "OTEL_PYTHON_ALERTING_RULE_CACHEHITRATELOW_ENABLED": "false",
        }
        if self.webhook_for_all:
            for severity in ("LOW", "MEDIUM", "HIGH", "CRITICAL"):
                variables[f"OTEL_PYTHON_ALERTING_ROUTE_{severity}"] = "console,webhook"
        env = instrumented_env(self.receiver, **{**variables, **self.extra})
        command = [str(BIN / "opentelemetry-instrument"), sys.executable, str(APPS / app)]
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=self.preexec,
        )
        # read both pipes as the app writes: a full pipe would block whichever of its
        # threads writes next (the plugin's logging included), which is not under test
        self._readers = [
            threading.Thread(target=_drain, args=(stream, lines), daemon=True)
            for stream, lines in ((self.process.stdout, self._out), (self.process.stderr, self._err))
        ]
        for reader in self._readers:
            reader.start()
        return self

    def phase(self, name: str) -> None:
        self.phase_file.write_text(name)

    def health(self) -> dict[str, Any] | None:
        """The plugin's /health report, None while it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/health", timeout=2) as response:
                document: dict[str, Any] = json.load(response)
                return document
        except urllib.error.HTTPError as exc:  # 503 while failing: still the report
            document = json.load(exc)
            return document
        except OSError:
            return None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 30) -> dict[str, Any]:
        """Stop the app (its stop file) and return its report."""
        assert self.process is not None
        self.stop_file.write_text("")
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the app did not stop within {timeout}s\n{self.stderr[-3000:]}") from None
        self._join()
        assert self.process.returncode == 0, self.stderr[-3000:]
        for line in self.stdout.splitlines():
            if line.startswith("app: report "):
                report: dict[str, Any] = json.loads(line[len("app: report ") :])
                return report
        raise AssertionError(f"the app printed no report\nstdout:\n{self.stdout}\nstderr:\n{self.stderr[-3000:]}")

    def kill(self) -> None:
        if self.running():
            assert self.process is not None
            self.process.kill()
            self.process.wait()
        self._join()

    def _join(self) -> None:
        for reader in self._readers:
            reader.join(10)
        self.stdout, self.stderr = "".join(self._out), "".join(self._err)


def _drain(stream: IO[str] | None, lines: list[str]) -> None:
    if stream is None:
        return
    for line in stream:
        lines.append(line)
