"""The host under memory pressure in a real memory cgroup, as in a container: the service
of ``test_memory_pressure.py`` under opentelemetry-instrument runs in a cgroup of its
own with a 512 MiB limit and no RLIMIT_AS, and grows (memory in use, in a child process
as a worker would) until the kernel's OOM killer ends the child at the limit. The
built-in ``MemoryPressure`` rule must be notified at each level before that kill, and
resolve once the memory is gone with the child; the plugin must report the cgroup's
version and limit as what it measures against. And memory.py, run in the cgroup and in a
child of it without a limit of its own, must find the cgroup's directory and the limit.

The cgroup is made at run time (``tests/support/cgroups.py``) under the cgroup v2
hierarchy when its memory controller is enabled there, else under the cgroup v1 memory
controller, and removed afterwards. Only the service joins it: the test runner is never
one the OOM killer could choose. This needs root and a writable cgroup filesystem, which
a machine may not offer at all (an unprivileged container): there the tests are skipped,
and the reason, naming each hierarchy and what is missing, is printed in the summary of
every run (``-rs``).
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_alerting.testing import OtlpReceiver

from ..support.cgroups import CgroupUnavailable, MemoryCgroup
from ..support.http import HttpReceiver
from ..support.waiting import wait_until
from .service import Service

LIMIT = 512 << 20
LEVELS = ["medium", "high", "critical"]
SOURCE = "otel_alerting.memory.limit.source"


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


@pytest.fixture
def cgroup() -> Iterator[MemoryCgroup]:
    made, problem = None, ""
    try:
        made = MemoryCgroup.create(LIMIT)
    except CgroupUnavailable as exc:
        problem = str(exc)
    if made is None:
        pytest.skip(
            f"no memory cgroup can be made on this machine (it needs root and a writable cgroup2 with the "
            f"memory controller, or the cgroup v1 memory controller): {problem}"
        )
    try:
        yield made
    finally:
        made.remove()


#: what memory.py finds in the process that runs it: the directory, the source, the limit
DISCOVER = (
    "from otel_alerting.instrumentation.memory import CgroupMemory, read_memory; "
    "c = CgroupMemory.discover(); r = read_memory(c); print(c and c.directory, r.source, int(r.limit))"
)


def _discovered(cgroup: MemoryCgroup) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", DISCOVER], preexec_fn=cgroup.join, capture_output=True, text=True, timeout=30
    )
    return done.stdout.split() or [done.stderr[-3000:]]


def test_memory_py_reads_the_files_of_the_cgroup_and_of_the_limited_one_above(cgroup: MemoryCgroup) -> None:
    assert _discovered(cgroup) == [str(cgroup.directory), cgroup.source, str(LIMIT)]
    # a process moved to a child without a limit of its own (as a container's init may
    # do): the kernel still kills at the limit above it, which is what counts
    inner = cgroup.child("init")
    try:
        assert _discovered(inner) == [str(inner.directory), cgroup.source, str(LIMIT)]
    finally:
        inner.remove()


def _memory(service: Service) -> dict[str, object]:
    report = service.health()
    return {} if report is None else dict(report["memory"])


def test_memory_pressure_fires_before_the_cgroup_oom_killer(
    receiver: OtlpReceiver, cgroup: MemoryCgroup, tmp_path: Path
) -> None:
    assert resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY, "the test runner has an RLIMIT_AS"
    start_file = tmp_path / "start"
    with HttpReceiver() as hook:
        service = Service(
            tmp_path,
            receiver,
            hook,
            {
                "START_FILE": str(start_file),
                "GROW": "resident",
                "INITIAL_MB": "280",
                "STEP_MB": "1",
                "OTEL_PYTHON_ALERTING_RULE_MEMORYPRESSURE_FOR": "0s",
                "OTEL_PYTHON_ALERTING_COOLDOWN": "1s",
            },
            preexec=cgroup.join,
        ).start(app="memory_app.py")
        try:
            assert service.process is not None
            pid = service.process.pid
            assert cgroup.holds(pid), Path(f"/proc/{pid}/cgroup").read_text()
            assert not cgroup.holds(os.getpid()), "the test runner is in the cgroup"

            # what the plugin measures against: /health, and the metric the rule reads
            wait_until(
                lambda: _memory(service).get("limit_source") == cgroup.source,
                f"/health reporting the {cgroup.source} limit",
                20,
                seen=lambda: _memory(service),
            )
            memory = _memory(service)
            assert memory["limit_bytes"] == LIMIT, memory
            exported = {SOURCE: cgroup.source}

            def limits() -> list[tuple[dict[str, object], float]]:
                return [
                    (p.attributes, p.value)
                    for p in receiver.metric_points()
                    if p.metric == "otel_alerting.memory.limit"
                ]

            wait_until(
                lambda: any(
                    p.metric == "otel_alerting.memory.utilization" and p.attributes == exported
                    for p in receiver.metric_points()
                ),
                f"otel_alerting.memory.utilization exported from {cgroup.source}",
                20,
            )
            wait_until(
                lambda: (exported, float(LIMIT)) in limits(), f"the {LIMIT}-byte limit exported", 20, seen=limits
            )
            start_file.write_text("")

            def memory_alerts() -> list[tuple[float, str, str, str]]:
                return [
                    (request.at, alert["status"], alert["labels"]["severity"], alert["annotations"].get("summary", ""))
                    for request in hook.requests
                    for alert in (request.json() or {}).get("alerts", [])
                    if alert["labels"]["alertname"] == "MemoryPressure"
                ]

            wait_until(
                lambda: any(status == "resolved" for _, status, _, _ in memory_alerts()),
                "MemoryPressure RESOLVED after the OOM killer ended the grower",
                40,
                seen=memory_alerts,
            )
            service.stop()
        finally:
            service.kill()

    hit = re.search(
        r"app: limit hit at ([\d.]+) after (\d+) MB \(grower ended by (-?\d+), last step at ([\d.]+)\)", service.stdout
    )
    assert hit is not None, f"the grower never reached the limit\n{service.stdout}\n{service.stderr[-3000:]}"
    seen_end, returncode, last_step = float(hit.group(1)), int(hit.group(3)), float(hit.group(4))
    assert returncode == -9 and cgroup.oom_kills() >= 1, (returncode, cgroup.oom_kills())
    grown = [(float(at), int(mb)) for mb, at in re.findall(r"app: grown to (\d+) MB at ([\d.]+)", service.stdout)]
    notified = memory_alerts()
    # the OOM kill came after the grower's last step: each level was notified before it
    escalation = [(at, severity, summary) for at, status, severity, summary in notified if at < last_step]
    assert [severity for _, severity, _ in escalation] == LEVELS, notified
    assert all(status == "firing" for _, status, _, _ in notified[:3]), notified
    before = {severity: round(last_step - at, 3) for at, severity, _ in escalation}
    held = {severity: max((mb for t, mb in grown if t <= at), default=0) for at, severity, _ in escalation}
    print(
        f"limit {LIMIT >> 20} MiB ({cgroup.source}); grower OOM-killed after {hit.group(2)} MB, seen "
        f"{seen_end - last_step:.3f}s after its last step; levels notified this many seconds before that "
        f"step: {before}; grower's MB then: {held}; summaries: {[summary for _, _, summary in escalation]}; then: "
        f"{[(round(at - last_step, 3), status, severity, summary) for at, status, severity, summary in notified[3:]]}"
    )
