"""The process's own sources of the report: the probes' board, the cache counts,
the memory readings (the same the instrumentations publish as metrics)."""

from __future__ import annotations

import functools
import os
from typing import Any

import psutil

from ..instrumentation.cache import CacheMetrics, default_cache_metrics
from ..instrumentation.memory import CgroupMemory, read_memory
from ..instrumentation.probes.runner import active_runner
from ..instrumentation.probes.state import HealthBoard, default_board
from .report import ReportSources

__all__ = ["default_sources", "process_board", "process_caches", "process_memory"]


def process_board() -> HealthBoard | None:
    """The board the probes (or an embedded ChromaDB) write; None when nothing writes it."""
    runner = active_runner()
    if runner is not None:
        return runner.board
    board = default_board()
    return board if board.snapshots() else None


def process_caches() -> CacheMetrics | None:
    return default_cache_metrics()


@functools.cache
def _cgroup(pid: int) -> CgroupMemory | None:
    # found once per process (a forked child has its own pid, maybe its own cgroup)
    return CgroupMemory.discover()


def process_memory() -> dict[str, Any]:
    reading = read_memory(_cgroup(os.getpid()))
    return {
        "available": True,
        "usage_bytes": int(reading.usage),
        "limit_bytes": int(reading.limit),
        "utilization": round(reading.utilization, 4),
        "limit_source": reading.source,
        "process_rss_bytes": psutil.Process().memory_info().rss,
    }


def default_sources() -> ReportSources:
    return ReportSources(board=process_board, caches=process_caches, memory=process_memory)
