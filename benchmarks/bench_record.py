"""Application-side cost of ``Counter.add`` with 3 attributes, with and without alerting.

Three MeterProviders, built side by side in one process:

* ``no alerting``: one PeriodicExportingMetricReader (what opentelemetry-instrument
  sets up for OTLP), its exporter a no-op;
* ``reader mode``: the same plus an AlertingMetricReader: two readers, so the SDK
  aggregates every measurement twice;
* ``export mode``: one AlertingMetricReader that evaluates and forwards to the
  (no-op) exporter: one aggregation.

No timer runs (the periodic reader's interval is an hour, the alerting reader has
``start_timer=False``), so only the recording path is timed. Each block times
``--adds`` calls of ``Counter.add(1, attributes)`` (100 attribute sets of 3 attributes,
cycled) on every variant, in a new random order per block; the ratio to ``no
alerting`` is taken within each block and the table shows medians over the blocks.

    .venv/bin/python benchmarks/bench_record.py [--blocks 40] [--adds 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence

from _common import NullExporter, machine, median, table, verdict
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricReader,
    PeriodicExportingMetricReader,
)

from otel_alerting.config import Settings
from otel_alerting.reader import AlertingMetricReader

RULES = {
    "rules": [
        {
            "alert": "BenchRequestRate",
            "expr": {"rate": {"metric": "bench.requests"}, "window": "1m", "by": ["route"]},
            "above": {"high": 1e12},
        }
    ]
}


def _periodic() -> PeriodicExportingMetricReader:
    return PeriodicExportingMetricReader(NullExporter(), export_interval_millis=3_600_000)


def _alerting(mode: str, rules_path: str) -> AlertingMetricReader:
    settings = Settings(
        interval_ms=1000.0,
        mode=mode,  # type: ignore[arg-type]
        rules_paths=(rules_path,),
        default_rules=False,
        channels=(),
    )
    exporters = [NullExporter()] if mode == "export" else None
    return AlertingMetricReader(settings, environ={}, channels=[], exporters=exporters, start_timer=False)


class Variant:
    def __init__(self, name: str, readers: Sequence[MetricReader]) -> None:
        self.name = name
        self.provider = MeterProvider(metric_readers=list(readers), shutdown_on_exit=False)
        self.counter = self.provider.get_meter("bench").create_counter("bench.requests")
        self.times: list[float] = []

    def run(self, attribute_sets: list[dict[str, str]], adds: int) -> float:
        add = self.counter.add
        n = len(attribute_sets)
        rounds, rest = divmod(adds, n)
        start = time.perf_counter()
        for _ in range(rounds):
            for attributes in attribute_sets:
                add(1, attributes)
        for attributes in attribute_sets[:rest]:
            add(1, attributes)
        return (time.perf_counter() - start) / adds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--adds", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(RULES, f)
        rules_path = f.name
    try:
        print(f"machine: {machine()}", flush=True)
        variants = [
            Variant("no alerting (1 periodic reader)", [_periodic()]),
            Variant("reader mode (periodic + alerting reader)", [_periodic(), _alerting("reader", rules_path)]),
            Variant("export mode (alerting reader forwarding)", [_alerting("export", rules_path)]),
        ]
        attribute_sets = [
            {"http.route": f"/api/items/{i % 20}", "http.request.method": ("GET", "POST")[i % 2], "route": f"r{i % 5}"}
            for i in range(100)
        ]
        for v in variants:  # warm-up: create every series
            v.run(attribute_sets, 2_000)
        ratios: dict[str, list[float]] = {v.name: [] for v in variants}
        started = time.perf_counter()
        for block in range(args.blocks):
            order = variants[:]
            rng.shuffle(order)
            measured = {v.name: v.run(attribute_sets, args.adds) for v in order}
            base = measured[variants[0].name]
            for v in variants:
                v.times.append(measured[v.name])
                ratios[v.name].append(measured[v.name] / base)
            if (block + 1) % 10 == 0:
                print(f"  block {block + 1}/{args.blocks}", file=sys.stderr, flush=True)
        elapsed = time.perf_counter() - started
        rows = []
        export_ratio = median(ratios[variants[2].name])
        for v in variants:
            ratio = median(ratios[v.name])
            ratio_sorted = sorted(ratios[v.name])
            q1 = ratio_sorted[len(ratio_sorted) // 4]
            q3 = ratio_sorted[(3 * len(ratio_sorted)) // 4]
            if v is variants[0]:
                target = "baseline"
            elif v is variants[2]:
                target = f"≤ 1.05: {verdict(ratio <= 1.05)}"
            else:
                target = "reported (~1.5x expected)"
            rows.append(
                [
                    v.name,
                    f"{median(v.times) * 1e6:.2f}",
                    f"{ratio:.3f}",
                    f"{q1:.3f} to {q3:.3f}",
                    target,
                ]
            )
        print(
            f"\nCounter.add(1, 3 attributes), medians of {args.blocks} interleaved blocks of "
            f"{args.adds:,} adds ({elapsed:.0f} s)\n"
        )
        print(table(["variant", "µs per add", "ratio to no alerting", "ratio IQR", "target"], rows))
        for v in variants:
            v.provider.shutdown()
        return 0 if export_ratio <= 1.05 else 1
    finally:
        os.unlink(rules_path)


if __name__ == "__main__":
    sys.exit(main())
