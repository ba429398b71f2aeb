"""Helpers shared by the benchmark scripts: machine description, statistics, tables."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from collections.abc import Sequence
from typing import Any

import opentelemetry.sdk.version as sdk_version
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData


def machine() -> str:
    """One line describing where the numbers come from."""
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"nproc={os.cpu_count()}, {cpu or platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()} ({sys.implementation.name}), "
        f"opentelemetry-sdk {sdk_version.__version__}, {platform.system()} {platform.release()}"
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, ready to paste into docs/performance.md."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


class NullExporter(MetricExporter):
    """Accepts everything, sends nothing: the export path without the network.

    ``unfolded``: it asks for exponential histograms, so that an export-mode reader
    aggregates its counters cumulative, as the exporter wants them, instead of as deltas
    folded back into cumulative data (``otel_alerting.cumulative.exports_folded``): the
    export mode of before, for counters."""

    def __init__(self, unfolded: bool = False) -> None:
        from opentelemetry.sdk.metrics import Histogram
        from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation

        exponential = {Histogram: ExponentialBucketHistogramAggregation()}
        super().__init__(preferred_aggregation=exponential if unfolded else None)

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass
