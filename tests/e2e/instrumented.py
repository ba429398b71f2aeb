"""Running applications under opentelemetry-instrument in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from otel_alerting.testing import OtlpReceiver

from ..support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"
BIN = Path(sys.executable).parent


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def instrumented_env(receiver: OtlpReceiver, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ALERT_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        OTEL_SERVICE_NAME="e2e",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_METRIC_EXPORT_INTERVAL="300",
        OTEL_BSP_SCHEDULE_DELAY="200",
        OTEL_PYTHON_ALERTING_INTERVAL="100",
        OTEL_PYTHON_ALERTING_CONSOLE_COLOR="never",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run_instrumented(script: Path, env: dict[str, str], timeout: float = 60) -> Run:
    """Run ``script`` under opentelemetry-instrument; bounded by ``timeout``."""
    command = [str(BIN / "opentelemetry-instrument"), sys.executable, str(script)]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"{script.name} did not finish within {timeout}s\nstdout:\n{exc.stdout}\nstderr:\n{exc.stderr}"
        ) from None
    return Run(done.returncode, done.stdout, done.stderr)


@dataclass
class HealthApp:
    """``apps/health_app.py`` under opentelemetry-instrument, serving the plugin's HTTP
    surface on ``port``; ``level`` is the file it reads ``app.level`` from. Once it has
    stopped, ``stderr`` holds what it wrote there."""

    port: int
    level: Path
    process: subprocess.Popen[str]
    #: the environment it runs with
    env: dict[str, str]
    stderr: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def health_app(
    receiver: OtlpReceiver, tmp_path: Path, rules: str, level: str, app: str = "health_app.py", **extra: str
) -> Iterator[HealthApp]:
    """Run the health app (or another of ``apps/`` that reads the same files) with
    ``rules`` alone (no built-in pack) and ``app.level`` at ``level``; stops it cleanly
    (its stop file) when the block ends."""
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(rules)
    level_file, stop = tmp_path / "level", tmp_path / "stop"
    level_file.write_text(level)
    port = free_port()
    env = instrumented_env(
        receiver,
        OTEL_PYTHON_ALERTING_RULES=str(rules_file),
        OTEL_PYTHON_ALERTING_DEFAULT_RULES="false",
        OTEL_PYTHON_ALERTING_HTTP_PORT=str(port),
        LEVEL_FILE=str(level_file),
        STOP_FILE=str(stop),
        **extra,
    )
    command = [str(BIN / "opentelemetry-instrument"), sys.executable, str(APPS / app)]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    running = HealthApp(port, level_file, process, env)
    try:
        yield running
    finally:
        stop.write_text("")
        running.stderr = process.communicate(timeout=30)[1]
