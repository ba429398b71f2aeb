"""One workload, two alerting paths: the plugin in process, and a real Prometheus with a
real Alertmanager scraping the same process.

The application is ``apps/health_app.py`` (the gauge ``app.level``, read from a file)
under ``opentelemetry-instrument`` with ``OTEL_METRICS_EXPORTER=prometheus,otel_alerting``:
the SDK builds OpenTelemetry's Prometheus reader (``opentelemetry-exporter-prometheus``,
which serves ``/metrics`` through prometheus_client) beside the alerting reader. The
plugin's export mode forwards to push exporters only, so the pull reader stays a reader of
its own and nothing is configured twice. The plugin notifies one webhook receiver;
Prometheus evaluates the rules ``otel-alerting rules export`` writes and sends to an
Alertmanager, whose webhook is another receiver.

The binaries are Debian's ``prometheus`` (2.42) and ``prometheus-alertmanager``
(scripts/bootstrap): a missing one FAILS the test instead of skipping it. Used by
``tests/e2e/test_prometheus_agreement.py`` and ``benchmarks/bench_prometheus_latency.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..support.http import HttpReceiver, Received
from ..support.ports import free_port
from ..support.waiting import wait_until

__all__ = ["Settings", "Stack", "alerts_in", "prometheus_stack"]

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).resolve().parent / "apps" / "health_app.py"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Settings:
    """The timers of both paths. None: leave the setting out (the shipped default)."""

    name: str
    #: the plugin's OTEL_PYTHON_ALERTING_INTERVAL, in milliseconds
    plugin_interval_ms: int | None
    scrape_interval: str | None
    evaluation_interval: str | None
    group_wait: str | None
    group_interval: str | None


@dataclass
class Stack:
    app: subprocess.Popen[str]
    level: Path
    #: the plugin's webhook (POST /plugin) and Alertmanager's (POST /am)
    plugin_hook: HttpReceiver
    am_hook: HttpReceiver
    prometheus_url: str
    directory: Path

    def set_level(self, value: float) -> None:
        # write then rename: the app never reads a half-written file
        partial = self.level.with_suffix(".partial")
        partial.write_text(f"{value:g}")
        partial.replace(self.level)

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus_url}/api/v1/query?query={urllib.parse.quote(expr)}"
        with urllib.request.urlopen(url, timeout=5) as response:
            result: list[dict[str, Any]] = json.loads(response.read())["data"]["result"]
        return result

    def logs(self) -> str:
        """The tails of Prometheus's and Alertmanager's logs, for failure messages."""
        parts = []
        for name in ("prometheus.log", "am.log"):
            path = self.directory / name
            parts.append(f"--- {name}\n{path.read_text()[-3000:] if path.exists() else ''}")
        return "\n".join(parts)


def alerts_in(requests: Sequence[Received], alertname: str) -> list[tuple[str, str, float]]:
    """(status, severity, arrival) of each alert of ``alertname`` in webhook requests
    (Alertmanager's format, version 4: both sides send it)."""
    out = []
    for request in requests:
        for alert in request.json().get("alerts", []):
            labels = alert.get("labels", {})
            if labels.get("alertname") == alertname:
                out.append((str(alert.get("status")), str(labels.get("severity")), request.at))
    return out


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(
        f"{names[0]} is not installed: run ./scripts/bootstrap (apt prometheus, prometheus-alertmanager)"
    )


def export(rules: Path, fmt: str) -> str:
    """``otel-alerting rules export`` in a clean environment."""
    done = subprocess.run(
        [sys.executable, "-m", "otel_alerting.cli", "rules", "export", "--format", fmt, "--rules", str(rules)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": os.pathsep.join(sys.path),
            "OTEL_PYTHON_ALERTING_DEFAULT_RULES": "false",
        },
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def _server(argv: list[str], log: Path, ready: str, what: str, timeout: float = 30) -> Iterator[None]:
    with log.open("w") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until(
                lambda: process.poll() is not None or _ready(ready),
                f"{what} to become ready",
                timeout,
                seen=lambda: log.read_text()[-1500:],
            )
            assert process.poll() is None, f"{what} exited:\n{log.read_text()[-3000:]}"
            yield
        finally:
            process.kill()  # the test's own server: nothing of it is kept
            process.wait(10)


def _alertmanager_config(settings: Settings, hook: str, inhibit_rules: list[Any]) -> dict[str, Any]:
    route: dict[str, Any] = {"receiver": "hook", "group_by": ["alertname"]}
    if settings.group_wait is not None:
        route["group_wait"] = settings.group_wait
    if settings.group_interval is not None:
        route["group_interval"] = settings.group_interval
    receiver = {"name": "hook", "webhook_configs": [{"url": f"{hook}/am", "send_resolved": True}]}
    return {"route": route, "receivers": [receiver], "inhibit_rules": inhibit_rules}


def _prometheus_config(settings: Settings, metrics_port: int, am_port: int) -> dict[str, Any]:
    glob: dict[str, str] = {}
    if settings.scrape_interval is not None:
        glob["scrape_interval"] = settings.scrape_interval
    if settings.evaluation_interval is not None:
        glob["evaluation_interval"] = settings.evaluation_interval
    return {
        "global": glob,
        "rule_files": ["rules.yml"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [{"job_name": "app", "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}],
    }


def _app_env(settings: Settings, rules: Path, level: Path, stop: Path, metrics_port: int, hook: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ALERT_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=os.pathsep.join(sys.path),
        OTEL_SERVICE_NAME="agreement",
        # OpenTelemetry's Prometheus reader beside the alerting reader (export mode:
        # it forwards to push exporters only; the pull reader keeps its own aggregation)
        OTEL_METRICS_EXPORTER="prometheus,otel_alerting",
        OTEL_EXPORTER_PROMETHEUS_HOST="127.0.0.1",
        OTEL_EXPORTER_PROMETHEUS_PORT=str(metrics_port),
        OTEL_TRACES_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_PYTHON_ALERTING_RULES=str(rules),
        OTEL_PYTHON_ALERTING_DEFAULT_RULES="false",
        OTEL_PYTHON_ALERTING_WEBHOOK_URL=f"{hook}/plugin",
        OTEL_PYTHON_ALERTING_CONSOLE_COLOR="never",
        LEVEL_FILE=str(level),
        STOP_FILE=str(stop),
        PYTHONUNBUFFERED="1",
    )
    if settings.plugin_interval_ms is not None:
        env["OTEL_PYTHON_ALERTING_INTERVAL"] = str(settings.plugin_interval_ms)
    return env


@contextmanager
def prometheus_stack(directory: Path, rules_yaml: str, settings: Settings, **app_env: str) -> Iterator[Stack]:
    """Start the two webhook receivers, Alertmanager, the app (``app_env`` added to its
    environment) and Prometheus (fresh processes, free ports, a temporary TSDB); stop
    them all when the block ends."""
    prometheus, alertmanager = _binary("prometheus"), _binary("prometheus-alertmanager", "alertmanager")
    directory.mkdir(parents=True, exist_ok=True)
    rules = directory / "rules.yaml"
    rules.write_text(rules_yaml)
    (directory / "rules.yml").write_text(export(rules, "prometheus"))
    inhibit_rules = yaml.safe_load(export(rules, "alertmanager")).get("inhibit_rules", [])
    level, stop = directory / "level", directory / "stop"
    level.write_text("0")
    with ExitStack() as stack:
        plugin_hook = stack.enter_context(HttpReceiver())
        am_hook = stack.enter_context(HttpReceiver())
        am_port, metrics_port, prometheus_port = free_port(), free_port(), free_port()
        (directory / "am.yml").write_text(yaml.safe_dump(_alertmanager_config(settings, am_hook.url, inhibit_rules)))
        (directory / "am").mkdir(exist_ok=True)
        stack.enter_context(
            _server(
                [
                    alertmanager,
                    f"--config.file={directory / 'am.yml'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    "--cluster.listen-address=",
                    f"--storage.path={directory / 'am'}",
                    "--log.level=debug",  # what it received and sent, for a failure's message
                ],
                directory / "am.log",
                f"http://127.0.0.1:{am_port}/-/ready",
                "Alertmanager",
            )
        )
        env = {**_app_env(settings, rules, level, stop, metrics_port, plugin_hook.url), **app_env}
        command = [str(BIN / "opentelemetry-instrument"), sys.executable, str(APP)]
        app_log = (directory / "app.log").open("w")
        stack.callback(app_log.close)
        app = subprocess.Popen(command, env=env, cwd=ROOT, stdout=app_log, stderr=subprocess.STDOUT, text=True)

        def stop_app() -> None:
            stop.write_text("")
            try:
                app.wait(30)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait(10)

        stack.callback(stop_app)
        wait_until(
            lambda: app.poll() is not None or _ready(f"http://127.0.0.1:{metrics_port}/metrics"),
            "the app's /metrics (OpenTelemetry's Prometheus reader)",
            30,
            seen=lambda: (directory / "app.log").read_text()[-1500:],
        )
        assert app.poll() is None, (directory / "app.log").read_text()
        (directory / "prometheus.yml").write_text(
            yaml.safe_dump(_prometheus_config(settings, metrics_port, am_port), sort_keys=False)
        )
        (directory / "tsdb").mkdir(exist_ok=True)
        stack.enter_context(
            _server(
                [
                    prometheus,
                    f"--config.file={directory / 'prometheus.yml'}",
                    f"--storage.tsdb.path={directory / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{prometheus_port}",
                ],
                directory / "prometheus.log",
                f"http://127.0.0.1:{prometheus_port}/-/ready",
                "Prometheus",
            )
        )
        yield Stack(app, level, plugin_hook, am_hook, f"http://127.0.0.1:{prometheus_port}", directory)
