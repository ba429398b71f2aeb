"""Memory pressure against the limit the kernel enforces.

In a container that limit is the cgroup's (v2 ``memory.max``, v1
``memory.limit_in_bytes``), not the machine's RAM: a process at 90% of a 512 MiB
limit is about to be OOM-killed while the host looks idle. Usage is the cgroup's
working set (usage minus inactive page cache, as the kubelet counts it). Without a
cgroup limit the effective limit is the machine's memory and usage is what the
system uses. A process limited by ``RLIMIT_AS`` (``ulimit -v``, ``setrlimit`` in a
supervisor or a batch scheduler) fails its allocations with ``MemoryError`` when its
address space reaches the limit, whatever the cgroup or the machine has left: that
limit counts too, against the process's virtual size, and the figure nearest its limit
is the effective one. Every figure is read from a few small files at collection time:
the application pays nothing between collections.

``process.memory.usage`` and ``system.memory.utilization`` are also emitted by
``opentelemetry-instrumentation-system-metrics``; while it is instrumented in this
process and configured to emit one of them, ours stays silent, so each is exported once.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation, get_meter

from ..config import plugin_enabled
from ..version import __version__

__all__ = [
    "CgroupMemory",
    "MemoryInstrumentor",
    "MemoryReading",
    "address_space_reading",
    "read_memory",
    "system_metrics_emits",
]

_logger = logging.getLogger(__name__)

#: cgroup v1 writes "no limit" as a page-aligned LONG_MAX
_V1_UNLIMITED = 1 << 60
LIMIT_SOURCE = "otel_alerting.memory.limit.source"
PROCESS_MEMORY_USAGE = "process.memory.usage"
SYSTEM_MEMORY_UTILIZATION = "system.memory.utilization"
_SYSTEM_METRICS_MODULE = "opentelemetry.instrumentation.system_metrics"


@dataclass(frozen=True)
class MemoryReading:
    usage: float
    limit: float
    source: str  # cgroup_v2 | cgroup_v1 | system | rlimit_as

    @property
    def utilization(self) -> float:
        return self.usage / self.limit if self.limit > 0 else 0.0


@dataclass(frozen=True)
class CgroupMemory:
    """Where this process's memory cgroup files are, found once."""

    version: int
    directory: Path
    #: the mount point ``directory`` is under: the cgroups from ``directory`` up to it
    #: are the ones whose limits are read (None: ``directory`` alone)
    top: Path | None = None

    @classmethod
    def discover(cls, root: Path = Path("/")) -> CgroupMemory | None:
        """Find the memory cgroup of this process under ``root`` (a fake tree in tests)."""
        try:
            lines = (root / "proc/self/cgroup").read_text().splitlines()
        except OSError:
            return None
        mounts = _cgroup_mounts(root)
        for line in lines:
            _hierarchy, _, rest = line.partition(":")
            controllers, _, path = rest.partition(":")
            if "memory" in controllers.split(",") and mounts.get("memory"):
                return cls(1, *_locate(root, mounts["memory"], path))
        for line in lines:
            if line.startswith("0::") and mounts.get("cgroup2"):
                return cls(2, *_locate(root, mounts["cgroup2"], line[3:]))
        return None

    def read(self) -> MemoryReading | None:
        """Working set and limit of this cgroup, or of a cgroup above it when that one is
        nearer its limit; None when none of them sets a limit.

        The kernel enforces every limit on the way up: a process in a cgroup without one,
        below one that has one (a systemd slice's ``MemoryMax``, a container's cgroup with
        the processes moved to a child such as ``/init``), is OOM-killed at the limit
        above, counted against everything under it."""
        nearest: MemoryReading | None = None
        for directory in self._levels():
            reading = self._read_level(directory)
            if reading is not None and (nearest is None or reading.utilization > nearest.utilization):
                nearest = reading
        return nearest

    def _levels(self) -> Iterator[Path]:
        directory = self.directory
        yield directory
        while self.top is not None and self.top in directory.parents:
            directory = directory.parent
            yield directory

    def _read_level(self, directory: Path) -> MemoryReading | None:
        v2 = self.version == 2
        limit_text = _read(directory / ("memory.max" if v2 else "memory.limit_in_bytes"))
        # most cgroups on the way up set no limit: their usage is not read
        if limit_text is None or limit_text == "max" or float(limit_text) >= _V1_UNLIMITED:
            return None
        usage_text = _read(directory / ("memory.current" if v2 else "memory.usage_in_bytes"))
        if usage_text is None:
            return None
        limit, usage = float(limit_text), float(usage_text)
        inactive_key = "inactive_file" if v2 else "total_inactive_file"
        inactive = _stat(directory / "memory.stat", inactive_key)
        working_set = max(usage - inactive, 0.0) if inactive is not None and inactive < usage else usage
        return MemoryReading(working_set, limit, f"cgroup_v{self.version}")


@dataclass(frozen=True)
class _Mount:
    #: where the hierarchy is mounted
    point: str
    #: the directory of the hierarchy the mount shows (the fourth field of mountinfo)
    root: str


def _cgroup_mounts(root: Path) -> dict[str, list[_Mount]]:
    """Mounts of the cgroup2 hierarchy and of the v1 memory controller, in mountinfo's order."""
    mounts: dict[str, list[_Mount]] = {}
    try:
        text = (root / "proc/self/mountinfo").read_text()
    except OSError:
        return mounts
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, extra = left.split(), right.split()
        if len(fields) < 5 or not extra:
            continue
        mount, fs_type = _Mount(fields[4], fields[3]), extra[0]
        if fs_type == "cgroup2":
            mounts.setdefault("cgroup2", []).append(mount)
        elif fs_type == "cgroup" and len(extra) >= 3 and "memory" in extra[2].split(","):
            mounts.setdefault("memory", []).append(mount)
    return mounts


def _locate(root: Path, mounts: list[_Mount], path: str) -> tuple[Path, Path]:
    """The directory of the cgroup ``path`` under the first mount that shows it, and
    that mount's point.

    /proc/self/cgroup names a cgroup from the top of the hierarchy, while a mount may show
    only a subtree: a container's often starts at the container's own cgroup
    (``/docker/<id>`` as its root), and a cgroup made below it is found under the mount
    point by its path relative to that root."""
    for mount in mounts:
        relative = _below(path, mount.root)
        if relative is not None:
            top = root / mount.point.lstrip("/")
            directory = top / relative
            if directory.is_dir():
                return directory, top
    # Inside a container the cgroup path is often that of the host, not visible in
    # the container's mount: the mount point itself is then the process's cgroup.
    top = root / mounts[0].point.lstrip("/")
    return top, top


def _below(path: str, top: str) -> str | None:
    """``path`` relative to ``top``; None when it is not under it."""
    top = top.rstrip("/")
    if path == top:
        return ""
    if path.startswith(top + "/"):
        return path[len(top) + 1 :]
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _stat(path: Path, key: str) -> float | None:
    text = _read(path)
    if text is None:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def address_space_reading() -> MemoryReading | None:
    """This process's virtual size against its ``RLIMIT_AS`` soft limit (the one the
    kernel enforces on allocations); None when the limit is unset."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return None
    return MemoryReading(float(psutil.Process().memory_info().vms), float(soft), "rlimit_as")


def read_memory(
    cgroup: CgroupMemory | None,
    address_space: Callable[[], MemoryReading | None] = address_space_reading,
) -> MemoryReading:
    """The effective figure: of the cgroup's (when it has a limit, else the system's)
    and the address-space limit's (when set), the one nearest its limit: the first
    to be reached."""
    reading = _cgroup_or_system(cgroup)
    try:
        limited = address_space()
    except (OSError, ValueError, psutil.Error):
        limited = None
    if limited is not None and limited.utilization > reading.utilization:
        return limited
    return reading


def _cgroup_or_system(cgroup: CgroupMemory | None) -> MemoryReading:
    if cgroup is not None:
        try:
            reading = cgroup.read()
        except (OSError, ValueError):
            reading = None
        if reading is not None:
            system_total = float(psutil.virtual_memory().total)
            # a limit above the machine's memory is no limit at all
            if reading.limit < system_total:
                return reading
    memory = psutil.virtual_memory()
    return MemoryReading(float(memory.total - memory.available), float(memory.total), "system")


def system_metrics_emits(metric: str) -> bool:
    """Whether ``opentelemetry-instrumentation-system-metrics`` is instrumented in this
    process and its configuration includes ``metric``.

    Asked at each collection, not at ``instrument()``: ``opentelemetry-instrument``
    loads instrumentors in entry-point order, which is not ours to choose, and an
    application may instrument it itself later. Its module is never imported here: not
    imported means not instrumented.
    """
    module = sys.modules.get(_SYSTEM_METRICS_MODULE)
    if module is None:
        return False
    # BaseInstrumentor keeps its one instance on the class; calling the class would run
    # __init__ again and reset the live instrumentor's configuration
    instrumentor = getattr(getattr(module, "SystemMetricsInstrumentor", None), "_instance", None)
    if instrumentor is None or not getattr(instrumentor, "is_instrumented_by_opentelemetry", False):
        return False
    config = getattr(instrumentor, "_config", None)
    # an unknown configuration shape: its defaults include both metrics
    return metric in config if isinstance(config, Mapping) else True


class MemoryInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Registers ``process.memory.usage``, ``system.memory.utilization`` and
    ``otel_alerting.memory.utilization`` (with ``otel_alerting.memory.limit``); the
    first two report nothing while the system-metrics instrumentation emits them."""

    _cgroup: CgroupMemory | None = None
    _process: psutil.Process | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        if not plugin_enabled(kwargs.get("environ")):
            return
        try:
            provider: MeterProvider | None = kwargs.get("meter_provider")
            root = Path(kwargs.get("root", "/"))
            self._cgroup = CgroupMemory.discover(root)
            meter = get_meter(__name__, __version__, meter_provider=provider)
            self._process = psutil.Process(os.getpid())
            meter.create_observable_up_down_counter(
                PROCESS_MEMORY_USAGE,
                callbacks=[self._guard(self._observe_process)],
                unit="By",
                description="The amount of physical memory in use (resident set size).",
            )
            meter.create_observable_gauge(
                SYSTEM_MEMORY_UTILIZATION,
                callbacks=[self._guard(self._observe_system)],
                unit="1",
                description="Share of the machine's memory in use.",
            )
            meter.create_observable_gauge(
                "otel_alerting.memory.utilization",
                callbacks=[self._guard(self._observe_effective)],
                unit="1",
                description="Memory in use as a share of the effective limit (the cgroup's, else the machine's).",
            )
            meter.create_observable_up_down_counter(
                "otel_alerting.memory.limit",
                callbacks=[self._guard(self._observe_limit)],
                unit="By",
                description="The effective memory limit (the cgroup's, else the machine's).",
            )
        except Exception:
            _logger.exception("otel-alerting: memory instrumentation could not start")

    def _uninstrument(self, **kwargs: Any) -> None:
        # Observable instruments cannot be removed from a MeterProvider; their
        # callbacks stop reporting instead.
        self._cgroup = None
        self._process = None

    def _guard(
        self, observe: Callable[[], Iterable[Observation]]
    ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        reported: list[bool] = []

        def callback(options: CallbackOptions) -> Iterable[Observation]:
            if self._process is None:
                return []
            try:
                return list(observe())
            except Exception:
                if not reported:
                    reported.append(True)
                    _logger.warning("otel-alerting: reading memory failed", exc_info=True)
                return []

        return callback

    def _observe_process(self) -> Iterable[Observation]:
        if system_metrics_emits(PROCESS_MEMORY_USAGE):
            return
        process = self._process
        if process is None or os.getpid() != process.pid:  # forked: measure the child, not the parent
            process = self._process = psutil.Process(os.getpid())
        yield Observation(process.memory_info().rss)

    def _observe_system(self) -> Iterable[Observation]:
        if system_metrics_emits(SYSTEM_MEMORY_UTILIZATION):
            return
        yield Observation(psutil.virtual_memory().percent / 100.0, {"system.memory.state": "used"})

    def _observe_effective(self) -> Iterable[Observation]:
        reading = read_memory(self._cgroup)
        yield Observation(reading.utilization, {LIMIT_SOURCE: reading.source})

    def _observe_limit(self) -> Iterable[Observation]:
        reading = read_memory(self._cgroup)
        yield Observation(reading.limit, {LIMIT_SOURCE: reading.source})
