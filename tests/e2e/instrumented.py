"""Running applications under opentelemetry-instrument in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from otel_alerting.testing import OtlpReceiver

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
