"""The host under memory pressure: a service under opentelemetry-instrument whose address
space is limited (RLIMIT_AS, set before exec as a supervisor or ``ulimit -v`` would)
grows towards the limit. The built-in ``MemoryPressure`` rule must fire, at each level,
before the allocation that fails, and resolve once the memory is let go.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_alerting.instrumentation.memory import MemoryReading, address_space_reading, read_memory
from otel_alerting.testing import OtlpReceiver

from ..support.http import HttpReceiver
from ..support.waiting import wait_until
from .service import Service

LIMIT = 1536 << 20
LEVELS = ["medium", "high", "critical"]


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


def limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def test_the_address_space_limit_counts_when_it_is_the_nearest() -> None:
    near = MemoryReading(900.0, 1000.0, "rlimit_as")
    assert read_memory(None, lambda: near) is near
    # far from its limit: the machine's figure stays the effective one
    assert read_memory(None, lambda: MemoryReading(1.0, 1e15, "rlimit_as")).source == "system"
    assert read_memory(None, lambda: None).source == "system"


def test_address_space_reading_reads_the_soft_limit_of_the_process() -> None:
    assert resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY, "the test runner has a limit"
    assert address_space_reading() is None
    code = (
        "from otel_alerting.instrumentation.memory import address_space_reading as r; "
        "x = r(); print(x.source, int(x.limit), x.usage > 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], preexec_fn=limit_address_space, capture_output=True, text=True, timeout=30
    )
    assert done.stdout.split() == ["rlimit_as", str(LIMIT), "True"], done.stderr


def _limit_source(service: Service) -> str | None:
    report = service.health()
    return None if report is None else report["memory"].get("limit_source")


def test_memory_pressure_fires_before_the_address_space_limit_is_hit(receiver: OtlpReceiver, tmp_path: Path) -> None:
    start_file = tmp_path / "start"
    with HttpReceiver() as hook:
        service = Service(
            tmp_path,
            receiver,
            hook,
            {
                "START_FILE": str(start_file),
                "STEP_MB": "8",
                "OTEL_PYTHON_ALERTING_RULE_MEMORYPRESSURE_FOR": "0s",
                "OTEL_PYTHON_ALERTING_COOLDOWN": "1s",
            },
            preexec=limit_address_space,
        ).start(app="memory_app.py")
        try:
            wait_until(lambda: _limit_source(service) == "rlimit_as", "/health reporting the RLIMIT_AS limit", 20)
            start_file.write_text("")

            def memory_alerts() -> list[tuple[float, str, str]]:
                return [
                    (request.at, alert["status"], alert["labels"]["severity"])
                    for request in hook.requests
                    for alert in (request.json() or {}).get("alerts", [])
                    if alert["labels"]["alertname"] == "MemoryPressure"
                ]

            wait_until(
                lambda: any(status == "resolved" for _, status, _ in memory_alerts()),
                "MemoryPressure RESOLVED after the service let its memory go",
                40,
                seen=memory_alerts,
            )
            service.stop()
        finally:
            service.kill()

    hit = re.search(r"app: limit hit at ([\d.]+) after (\d+) MB", service.stdout)
    assert hit is not None, f"the service never reached its limit\n{service.stdout}\n{service.stderr[-3000:]}"
    hit_at, grown_mb = float(hit.group(1)), int(hit.group(2))
    firing = [(at, severity) for at, status, severity in memory_alerts() if status == "firing"]
    assert [severity for _, severity in firing] == LEVELS, firing
    before = {severity: round(hit_at - at, 3) for at, severity in firing}
    print(f"grown {grown_mb} MB; each level notified this many seconds before the limit: {before}")
    # time.monotonic() is the machine's CLOCK_MONOTONIC in both processes
    assert before["medium"] > 0 and before["high"] > 0, before
