"""A real memory cgroup with a limit, for a test's child processes.

``MemoryCgroup.create(limit)`` makes a uniquely named child of the mount point of a
hierarchy where the memory controller can be used, found at run time:

* cgroup v2: a ``cgroup2`` mount whose ``cgroup.subtree_control`` enables ``memory``
  (its children then have ``memory.max``);
* cgroup v1: a ``cgroup`` mount of the ``memory`` controller.

It sets the limit (and no swap beyond it where the kernel offers the setting);
``child(name)`` makes a cgroup below it without a limit of its own. ``remove()`` deletes
a cgroup once the processes in it have ended (those still in it after a bounded wait
are moved to the parent first). A process joins it with ``join`` as a
``preexec_fn``: only that child is in the cgroup, so its OOM killer can never choose the
test runner. ``CgroupUnavailable`` says, for each hierarchy, why none could be used
(no cgroupfs, controller not enabled, read-only, not root).
"""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from .waiting import wait_until

__all__ = ["CgroupUnavailable", "MemoryCgroup"]


class CgroupUnavailable(Exception):
    """No memory cgroup could be created; the message lists what was tried and why not."""


@dataclass(frozen=True)
class _Hierarchy:
    version: int
    #: where it is mounted
    mount_point: Path
    #: the cgroup the mount shows (mountinfo's fourth field): the path /proc/<pid>/cgroup
    #: gives for the mount point
    mount_root: str


def _hierarchies(mountinfo: str) -> list[_Hierarchy]:
    found: list[_Hierarchy] = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, extra = left.split(), right.split()
        if len(fields) < 5 or not extra:
            continue
        if extra[0] == "cgroup2":
            found.append(_Hierarchy(2, Path(fields[4]), fields[3]))
        elif extra[0] == "cgroup" and len(extra) >= 3 and "memory" in extra[2].split(","):
            found.append(_Hierarchy(1, Path(fields[4]), fields[3]))
    # v2 first: where both are mounted, the memory controller is on one only
    return sorted(found, key=lambda h: -h.version)


@dataclass(frozen=True)
class MemoryCgroup:
    version: int
    directory: Path
    #: the cgroup's path as /proc/<pid>/cgroup names it
    path: str
    #: None: no limit of its own (a child made by ``child``)
    limit: int | None

    @classmethod
    def create(cls, limit: int, prefix: str = "otel-alerting-test") -> MemoryCgroup:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError as exc:
            raise CgroupUnavailable(f"no memory cgroup: /proc/self/mountinfo cannot be read ({exc})") from None
        hierarchies = _hierarchies(mountinfo)
        if not hierarchies:
            raise CgroupUnavailable(
                "no memory cgroup: neither a cgroup2 hierarchy nor the cgroup v1 memory controller is mounted"
            )
        problems: list[str] = []
        for hierarchy in hierarchies:
            try:
                return cls._create_in(hierarchy, limit, prefix)
            except CgroupUnavailable as exc:
                problems.append(str(exc))
        raise CgroupUnavailable("no memory cgroup could be created: " + "; ".join(problems))

    @classmethod
    def _create_in(cls, hierarchy: _Hierarchy, limit: int, prefix: str) -> MemoryCgroup:
        parent = hierarchy.mount_point
        where = f"cgroup v{hierarchy.version} at {parent}"
        if hierarchy.version == 2:
            try:
                enabled = (parent / "cgroup.subtree_control").read_text().split()
            except OSError as exc:
                raise CgroupUnavailable(f"{where}: cgroup.subtree_control cannot be read ({exc})") from None
            if "memory" not in enabled:
                raise CgroupUnavailable(
                    f"{where}: the memory controller is not enabled in its cgroup.subtree_control "
                    f"(enabled: {' '.join(enabled) or 'none'})"
                )
        name = f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        directory = parent / name
        try:
            directory.mkdir()
        except OSError as exc:
            raise CgroupUnavailable(f"{where}: cannot create a child cgroup ({exc.strerror})") from None
        made = cls(hierarchy.version, directory, f"{hierarchy.mount_root.rstrip('/')}/{name}", limit)
        try:
            made._set_limit()
        except OSError as exc:
            made.remove()
            raise CgroupUnavailable(f"{where}: cannot set the memory limit ({exc.strerror})") from None
        return made

    def child(self, name: str) -> MemoryCgroup:
        """A cgroup below this one with no limit of its own (remove it first)."""
        if self.version == 2:
            # its children have the memory files only once it hands the controller down
            (self.directory / "cgroup.subtree_control").write_text("+memory")
        made = MemoryCgroup(self.version, self.directory / name, f"{self.path}/{name}", None)
        made.directory.mkdir()
        return made

    def _set_limit(self) -> None:
        assert self.limit is not None
        if self.version == 2:
            (self.directory / "memory.max").write_text(str(self.limit))
            # beyond the limit the kernel would swap instead of killing: no swap at all
            _write_if_present(self.directory / "memory.swap.max", "0")
        else:
            (self.directory / "memory.limit_in_bytes").write_text(str(self.limit))
            # memory plus swap no more than memory (present with swap accounting only)
            _write_if_present(self.directory / "memory.memsw.limit_in_bytes", str(self.limit))
            _write_if_present(self.directory / "memory.swappiness", "0")

    @property
    def source(self) -> str:
        """What the plugin reports as the limit's source for this cgroup."""
        return f"cgroup_v{self.version}"

    def join(self) -> None:
        """Move the calling process into the cgroup: a ``preexec_fn`` (after the fork,
        before the exec), so only the child is in it and the OOM killer of the cgroup
        cannot choose the test runner."""
        fd = os.open(self.directory / "cgroup.procs", os.O_WRONLY)
        try:
            os.write(fd, str(os.getpid()).encode())
        finally:
            os.close(fd)

    def procs(self) -> list[int]:
        try:
            return [int(pid) for pid in (self.directory / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def holds(self, pid: int) -> bool:
        """Whether /proc/<pid>/cgroup names this cgroup for the memory controller."""
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return False
        for line in lines:
            _hierarchy, _, rest = line.partition(":")
            controllers, _, path = rest.partition(":")
            if self.version == 1 and "memory" in controllers.split(","):
                return path == self.path
            if self.version == 2 and not controllers and _hierarchy == "0":
                return path == self.path
        return False

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer ended in this cgroup."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        for line in (self.directory / name).read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        raise AssertionError(f"{self.directory / name} has no oom_kill count")

    def remove(self, timeout: float = 10.0) -> None:
        """Delete the cgroup once its processes have ended; any still in it after
        ``timeout`` are moved to the parent so that it can be deleted."""
        with contextlib.suppress(AssertionError):
            wait_until(lambda: not self.procs(), f"the processes in {self.directory} to end", timeout)
        for pid in self.procs():
            with contextlib.suppress(OSError):  # it may end meanwhile
                (self.directory.parent / "cgroup.procs").write_text(str(pid))

        def removed() -> bool:
            try:
                self.directory.rmdir()
            except FileNotFoundError:
                return True
            except OSError as exc:
                if exc.errno != errno.EBUSY:  # busy: a process is still leaving it
                    raise
                return False
            return True

        wait_until(removed, f"{self.directory} to be removed", timeout, seen=self.procs)


def _write_if_present(path: Path, value: str) -> None:
    if path.exists():
        path.write_text(value)
