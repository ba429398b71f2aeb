"""Memory pressure: cgroup v1/v2 discovery on fake /proc and /sys trees, and the
instruments on a real MeterProvider."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_alerting.instrumentation.memory import CgroupMemory, MemoryInstrumentor, read_memory

GIB = 1 << 30


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def v2_tree(root: Path, limit: str, current: int, inactive: int) -> Path:
    return tree(
        root,
        {
            "proc/self/cgroup": "0::/kubepods/pod1/app\n",
            "proc/self/mountinfo": "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n",
            "sys/fs/cgroup/kubepods/pod1/app/memory.max": f"{limit}\n",
            "sys/fs/cgroup/kubepods/pod1/app/memory.current": f"{current}\n",
            "sys/fs/cgroup/kubepods/pod1/app/memory.stat": f"anon 1\nfile 2\ninactive_file {inactive}\nactive_file 3\n",
        },
    )


def v1_tree(root: Path, limit: int, usage: int, inactive: int) -> Path:
    return tree(
        root,
        {
            "proc/self/cgroup": "5:devices:/docker/abc\n4:memory:/docker/abc\n0::/\n",
            "proc/self/mountinfo": (
                "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
                "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
            ),
            "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": f"{limit}\n",
            "sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes": f"{usage}\n",
            "sys/fs/cgroup/memory/docker/abc/memory.stat": f"cache 5\ntotal_inactive_file {inactive}\n",
        },
    )


def test_cgroup_v2_working_set_against_memory_max(tmp_path: Path) -> None:
    cgroup = CgroupMemory.discover(v2_tree(tmp_path, str(GIB // 2), 400 << 20, 100 << 20))
    assert cgroup is not None and cgroup.version == 2
    reading = cgroup.read()
    assert reading is not None
    assert (reading.usage, reading.limit, reading.source) == (300 << 20, GIB // 2, "cgroup_v2")
    assert reading.utilization == pytest.approx(300 / 512)


def test_cgroup_v2_without_limit_falls_back_to_the_system(tmp_path: Path) -> None:
    cgroup = CgroupMemory.discover(v2_tree(tmp_path, "max", 400 << 20, 0))
    assert cgroup is not None and cgroup.read() is None
    reading = read_memory(cgroup)
    assert reading.source == "system"
    assert reading.limit == psutil.virtual_memory().total


def test_cgroup_v1_limit_and_unlimited(tmp_path: Path) -> None:
    cgroup = CgroupMemory.discover(v1_tree(tmp_path / "a", 256 << 20, 250 << 20, 10 << 20))
    assert cgroup is not None and cgroup.version == 1
    reading = read_memory(cgroup)
    assert (reading.usage, reading.limit, reading.source) == (240 << 20, 256 << 20, "cgroup_v1")
    unlimited = CgroupMemory.discover(v1_tree(tmp_path / "b", 9223372036854771712, 250 << 20, 0))
    assert read_memory(unlimited).source == "system"


def test_container_sees_its_cgroup_at_the_mount_point(tmp_path: Path) -> None:
    # /proc/self/cgroup names the host's path, which the container's mount does not show
    root = v2_tree(tmp_path, str(GIB), 100 << 20, 0)
    (root / "proc/self/cgroup").write_text("0::/system.slice/docker-123.scope\n")
    for name in ("memory.max", "memory.current", "memory.stat"):
        (root / "sys/fs/cgroup" / name).write_text((root / "sys/fs/cgroup/kubepods/pod1/app" / name).read_text())
    cgroup = CgroupMemory.discover(root)
    assert cgroup is not None and cgroup.directory == root / "sys/fs/cgroup"
    assert read_memory(cgroup).source == "cgroup_v2"


def docker_v1_tree(root: Path, cgroup: str) -> Path:
    """Docker on cgroup v1 without a cgroup namespace: the container's mount shows only
    its own cgroup (mountinfo's root ``/docker/abc``), /proc/self/cgroup names the path
    from the top of the host's hierarchy. The container's limit is 1 GiB, that of a child
    cgroup it made (``app``, as a supervisor or a test inside the container would) 256 MiB."""
    files = {
        "proc/self/cgroup": f"5:devices:/docker/abc\n4:memory:{cgroup}\n0::/\n",
        "proc/self/mountinfo": (
            "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
            "35 31 0:32 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n"
        ),
    }
    for directory, limit in (("sys/fs/cgroup/memory", GIB), ("sys/fs/cgroup/memory/app", 256 << 20)):
        files[f"{directory}/memory.limit_in_bytes"] = f"{limit}\n"
        files[f"{directory}/memory.usage_in_bytes"] = f"{100 << 20}\n"
        files[f"{directory}/memory.stat"] = "total_inactive_file 0\n"
    return tree(root, files)


def test_a_container_mount_maps_the_cgroup_path_from_its_own_root(tmp_path: Path) -> None:
    root = docker_v1_tree(tmp_path / "child", "/docker/abc/app")
    cgroup = CgroupMemory.discover(root)
    assert cgroup is not None and cgroup.directory == root / "sys/fs/cgroup/memory/app"
    assert read_memory(cgroup).limit == 256 << 20
    # the container's own cgroup is the mount point
    root = docker_v1_tree(tmp_path / "own", "/docker/abc")
    cgroup = CgroupMemory.discover(root)
    assert cgroup is not None and cgroup.directory == root / "sys/fs/cgroup/memory"
    assert read_memory(cgroup).limit == GIB


def test_the_mount_that_shows_the_cgroup_is_the_one_read(tmp_path: Path) -> None:
    # the hierarchy mounted twice: first a subtree that does not hold the process's cgroup
    root = v2_tree(tmp_path, str(GIB // 4), 100 << 20, 0)
    (root / "proc/self/mountinfo").write_text(
        "29 23 0:26 /other /mnt/other rw - cgroup2 cgroup2 rw\n"
        "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n"
    )
    (root / "mnt/other").mkdir(parents=True)
    cgroup = CgroupMemory.discover(root)
    assert cgroup is not None and cgroup.directory == root / "sys/fs/cgroup/kubepods/pod1/app"
    assert read_memory(cgroup).limit == GIB // 4


def test_a_limit_above_the_cgroup_counts_when_it_is_the_nearest(tmp_path: Path) -> None:
    # a container's cgroup (the mount point, 1 GiB) whose processes were moved to a child
    # without a limit of its own (/init): the kernel kills at the container's limit
    root = v2_tree(tmp_path, "max", 700 << 20, 0)
    (root / "proc/self/cgroup").write_text("0::/kubepods/pod1/app\n")
    tree(root / "sys/fs/cgroup", {"memory.max": f"{GIB}\n", "memory.current": f"{900 << 20}\n", "memory.stat": ""})
    cgroup = CgroupMemory.discover(root)
    assert cgroup is not None and cgroup.directory == root / "sys/fs/cgroup/kubepods/pod1/app"
    reading = read_memory(cgroup)
    assert (reading.usage, reading.limit, reading.source) == (900 << 20, GIB, "cgroup_v2")
    # a limit of its own nearer than the one above: its own
    (root / "sys/fs/cgroup/kubepods/pod1/app/memory.max").write_text(f"{750 << 20}\n")
    assert read_memory(cgroup).limit == 750 << 20
    # nothing above the mount point is read
    tree(root / "sys/fs", {"memory.max": "1\n", "memory.current": "1\n"})
    assert read_memory(cgroup).limit == 750 << 20


def test_no_cgroup_information_at_all(tmp_path: Path) -> None:
    assert CgroupMemory.discover(tmp_path) is None
    assert read_memory(None).source == "system"


def collect(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, object], float]]]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        m.name: [(dict(p.attributes or {}), p.value) for p in m.data.data_points]
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }


def test_instrumentor_reports_semconv_and_effective_figures(tmp_path: Path) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    instrumentor = MemoryInstrumentor()
    root = v2_tree(tmp_path, str(GIB // 2), 400 << 20, 144 << 20)
    instrumentor.instrument(meter_provider=provider, root=str(root))
    try:
        metrics = collect(reader)
        (rss,) = metrics["process.memory.usage"]
        assert rss[1] == pytest.approx(psutil.Process().memory_info().rss, rel=0.5)
        (system,) = metrics["system.memory.utilization"]
        assert system[0] == {"system.memory.state": "used"} and 0 < system[1] < 1
        assert metrics["otel_alerting.memory.utilization"] == [
            ({"otel_alerting.memory.limit.source": "cgroup_v2"}, 0.5)
        ]
        assert metrics["otel_alerting.memory.limit"] == [({"otel_alerting.memory.limit.source": "cgroup_v2"}, GIB // 2)]
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def test_a_broken_cgroup_file_never_raises_into_the_collection(tmp_path: Path) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    root = v2_tree(tmp_path, "not-a-number", 1, 0)
    instrumentor = MemoryInstrumentor()
    instrumentor.instrument(meter_provider=provider, root=str(root))
    try:
        metrics = collect(reader)
        assert metrics["otel_alerting.memory.utilization"][0][0] == {"otel_alerting.memory.limit.source": "system"}
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
