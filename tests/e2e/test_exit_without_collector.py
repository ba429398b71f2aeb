"""End to end: with the distro's defaults and no collector listening, a process under
opentelemetry-instrument exits promptly, says once which endpoint it could not reach,
and prints no retries and no traceback; with a collector, what is due at exit arrives.

The application records one counter and ends; the export interval is left at the SDK's
60 s default, so only the export made at exit can carry the counter.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from otel_alerting.testing import OtlpReceiver

from ..support.ports import free_port
from .instrumented import BIN, ROOT, instrumented_env

#: the bound on the time from the script's last line to the end of the process. The
#: OTLP exporter's retries of a refused connection took 5.2 s here (the plugin's
#: shutdown timeout) and the logs exporter's 8 s more (its 10 s timeout).
EXIT_BOUND_S = 2.0

#: in the endpoint's user info and query: must not appear in any output
CANARY = "c4nary-s3cret"

APP = """
import sys
from opentelemetry import metrics
metrics.get_meter("exit-app").create_counter("app.exit.count").add(1)
print("app: done", flush=True)
"""


def _distro_defaults(receiver: OtlpReceiver, **extra: str) -> dict[str, str]:
    env = instrumented_env(receiver, **extra)
    # the distro's and the SDK's own defaults, as a new user gets them
    for name in ("OTEL_METRIC_EXPORT_INTERVAL", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_PYTHON_ALERTING_INTERVAL"):
        env.pop(name, None)
    return env


def _run_to_exit(script: Path, env: dict[str, str]) -> tuple[float, str]:
    """The time from the script's last line to the end of the process, and its stderr."""
    command = [str(BIN / "opentelemetry-instrument"), sys.executable, str(script)]
    app = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert app.stdout is not None
        line = app.stdout.readline()  # bounded: the script prints it at once, then ends
        started = time.monotonic()
        _, err = app.communicate(timeout=60)
        took = time.monotonic() - started
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert line.startswith("app: done"), (line, err[-3000:])
    assert app.returncode == 0, err[-3000:]
    return took, err


def test_exits_promptly_with_one_warning_when_no_collector_listens(receiver: OtlpReceiver, tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(APP)
    port = free_port()  # nothing listens there: connections are refused
    env = _distro_defaults(
        receiver,
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}",
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=f"http://user:{CANARY}@127.0.0.1:{port}/v1/metrics?token={CANARY}",
    )

    took, err = _run_to_exit(script, env)

    assert took < EXIT_BOUND_S, (took, err[-3000:])
    warnings = [line for line in err.splitlines() if "cannot be reached" in line]
    assert len(warnings) == 1, err[-3000:]
    assert f"http://127.0.0.1:{port}/v1/metrics" in warnings[0]
    assert "connection refused" in warnings[0]
    for noise in ("Transient error", "retrying", "Traceback", "Failed to export", CANARY):
        assert noise not in err, err[-3000:]
    assert receiver.metric_names() == set()


def test_the_final_export_arrives_when_the_collector_listens(receiver: OtlpReceiver, tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(APP)

    took, err = _run_to_exit(script, _distro_defaults(receiver))

    assert "app.exit.count" in receiver.metric_names(), err[-3000:]
    assert took < EXIT_BOUND_S, (took, err[-3000:])
    assert "cannot be reached" not in err
    assert "Traceback" not in err
