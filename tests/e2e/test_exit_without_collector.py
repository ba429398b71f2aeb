"""End to end: with the distro's defaults and no collector listening, a process under
opentelemetry-instrument exits promptly, says once which endpoint it could not reach,
and prints no retries and no traceback; with a collector, what is due at exit arrives.

The application records one counter and one OTel log record and ends; the export
interval and the logs' schedule delay are left at the SDK's defaults (60 s, 1 s), so
only the exports made at exit carry them.
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
from opentelemetry import metrics
from opentelemetry._logs import get_logger_provider
metrics.get_meter("exit-app").create_counter("app.exit.count").add(1)
provider = get_logger_provider()
provider.get_logger("exit-app").emit(body="app.exit.record")
processors = provider._multi_log_record_processor._log_record_processors
print("app: done", *sorted(type(p).__name__ for p in processors), flush=True)
"""


def _distro_defaults(receiver: OtlpReceiver, **extra: str) -> dict[str, str]:
    env = instrumented_env(receiver, **extra)
    # the distro's and the SDK's own defaults, as a new user gets them
    for name in ("OTEL_METRIC_EXPORT_INTERVAL", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_PYTHON_ALERTING_INTERVAL"):
        env.pop(name, None)
    return env


def _run_to_exit(script: Path, env: dict[str, str]) -> tuple[float, str, str]:
    """The time from the script's last line to the end of the process, its stderr, and
    that line (with the log record processors' class names)."""
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
    return took, err, line


def test_exits_promptly_with_one_warning_when_no_collector_listens(receiver: OtlpReceiver, tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(APP)
    port = free_port()  # nothing listens there: connections are refused
    env = _distro_defaults(
        receiver,
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}",
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=f"http://user:{CANARY}@127.0.0.1:{port}/v1/metrics?token={CANARY}",
    )

    took, err, _ = _run_to_exit(script, env)

    assert took < EXIT_BOUND_S, (took, err[-3000:])
    # one line per endpoint that could not be reached, with what it did not send
    warnings = sorted(line for line in err.splitlines() if "cannot be reached" in line)
    assert len(warnings) == 2, err[-3000:]
    assert f"http://127.0.0.1:{port}/v1/logs cannot be reached (connection refused); 1 log record(s)" in warnings[0]
    assert f"http://127.0.0.1:{port}/v1/metrics cannot be reached (connection refused); 1 metric" in warnings[1]
    for noise in ("Transient error", "retrying", "Traceback", "Failed to export", CANARY):
        assert noise not in err, err[-3000:]
    assert receiver.metric_names() == set()


def test_the_final_export_arrives_when_the_collector_listens(receiver: OtlpReceiver, tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(APP)

    took, err, line = _run_to_exit(script, _distro_defaults(receiver))

    assert "app.exit.count" in receiver.metric_names(), err[-3000:]
    assert any("app.exit.record" in str(r) for r in receiver.log_records()), err[-3000:]
    assert "PromptExitLogRecordProcessor" in line
    assert took < EXIT_BOUND_S, (took, err[-3000:])
    assert "cannot be reached" not in err
    assert "Traceback" not in err


def test_a_logs_exporter_the_user_named_keeps_the_sdk_processor(receiver: OtlpReceiver, tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(APP)

    _, err, line = _run_to_exit(script, _distro_defaults(receiver, OTEL_LOGS_EXPORTER="otlp"))

    assert line.split()[2:] == ["BatchLogRecordProcessor"], (line, err[-3000:])
    assert any("app.exit.record" in str(r) for r in receiver.log_records()), err[-3000:]
