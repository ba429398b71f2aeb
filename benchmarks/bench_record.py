"""Application-side cost of ``Counter.add`` with 3 attributes, with and without alerting.

Three MeterProviders, built side by side in one process:

* ``no alerting``: one PeriodicExportingMetricReader (what opentelemetry-instrument
  sets up for OTLP), its exporter a no-op;
* ``reader mode``: the same plus an AlertingMetricReader: two readers, so the SDK
  aggregates every measurement twice;
* ``export mode``: one AlertingMetricReader that evaluates and forwards to the
  (no-op, cumulative) exporter: one aggregation, counters as deltas, folded back into
  cumulative data for the exporter (``otel_alerting.cumulative``);
* ``export mode, cumulative aggregation``: the same with counters aggregated
  cumulative, as the exporter wants them (export mode before the folding).

No timer runs (the periodic reader's interval is an hour, the alerting reader has
``start_timer=False``), so only the recording path is timed. Two cases:

* *many adds per series*: each block times ``--adds`` calls of ``Counter.add(1,
  attributes)`` (100 attribute sets of 3 attributes, cycled), no collection in between;
* *once per interval*: each block collects every reader (not timed), then times one
  ``Counter.add`` for each of 1,000 attribute sets: with delta aggregation the SDK then
  creates the series' aggregation again at its first measurement after a collection.

Variants run in a new random order per block; the ratio to ``no alerting`` is taken
within each block and the tables show medians over the blocks.

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
from collections.abc import Callable, Sequence

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


def _alerting(mode: str, rules_path: str, unfolded: bool = False) -> AlertingMetricReader:
    settings = Settings(
        interval_ms=1000.0,
        mode=mode,  # type: ignore[arg-type]
        rules_paths=(rules_path,),
        default_rules=False,
        channels=(),
    )
    exporters = [NullExporter(unfolded=unfolded)] if mode == "export" else None
    return AlertingMetricReader(settings, environ={}, channels=[], exporters=exporters, start_timer=False)


class Variant:
    def __init__(self, name: str, readers: Sequence[MetricReader]) -> None:
        self.name = name
        self.readers = readers
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

    def run_once(self, attribute_sets: list[dict[str, str]]) -> float:
        """Collect, then one add per attribute set: the per-add time."""
        for reader in self.readers:
            reader.collect()
        add = self.counter.add
        start = time.perf_counter()
        for attributes in attribute_sets:
            add(1, attributes)
        return (time.perf_counter() - start) / len(attribute_sets)


Results = dict[str, tuple[list[float], list[float]]]


def measure(variants: list[Variant], rng: random.Random, blocks: int, run: Callable[[Variant], float]) -> Results:
    """variant -> (seconds per add, ratio to the first variant), per block."""
    results: Results = {v.name: ([], []) for v in variants}
    for block in range(blocks):
        order = variants[:]
        rng.shuffle(order)
        measured = {v.name: run(v) for v in order}
        base = measured[variants[0].name]
        for v in variants:
            results[v.name][0].append(measured[v.name])
            results[v.name][1].append(measured[v.name] / base)
        if (block + 1) % 10 == 0:
            print(f"  block {block + 1}/{blocks}", file=sys.stderr, flush=True)
    return results


def render(variants: list[Variant], results: Results, check: bool) -> str:
    rows = []
    for v in variants:
        times, ratios = results[v.name]
        ratio = median(ratios)
        ratio_sorted = sorted(ratios)
        q1 = ratio_sorted[len(ratio_sorted) // 4]
        q3 = ratio_sorted[(3 * len(ratio_sorted)) // 4]
        if v is variants[0]:
            target = "baseline"
        elif v is variants[2] and check:
            target = f"≤ 1.05: {verdict(ratio <= 1.05)}"
        else:
            target = "reported"
        rows.append([v.name, f"{median(times) * 1e6:.2f}", f"{ratio:.3f}", f"{q1:.3f} to {q3:.3f}", target])
    return table(["variant", "µs per add", "ratio to no alerting", "ratio IQR", "target"], rows)


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
            Variant("export mode, cumulative aggregation (before)", [_alerting("export", rules_path, unfolded=True)]),
        ]
        attribute_sets = [
            {"http.route": f"/api/items/{i % 20}", "http.request.method": ("GET", "POST")[i % 2], "route": f"r{i % 5}"}
            for i in range(100)
        ]
        once_sets = [
            {"http.route": f"/api/items/{i}", "http.request.method": ("GET", "POST")[i % 2], "route": f"r{i % 5}"}
            for i in range(1000)
        ]
        for v in variants:  # warm-up: create every series
            v.run(attribute_sets, 2_000)
            v.run_once(once_sets)
        started = time.perf_counter()
        many = measure(variants, rng, args.blocks, lambda v: v.run(attribute_sets, args.adds))
        once = measure(variants, rng, args.blocks, lambda v: v.run_once(once_sets))
        elapsed = time.perf_counter() - started
        print(
            f"\nCounter.add(1, 3 attributes), medians of {args.blocks} interleaved blocks ({elapsed:.0f} s)\n"
            f"\nmany adds per series: {args.adds:,} adds over 100 series per block, no collection\n"
        )
        print(render(variants, many, check=True))
        print("\nonce per interval: each block collects, then one add for each of 1,000 series\n")
        print(render(variants, once, check=False))
        for v in variants:
            v.provider.shutdown()
        export_ratio = median(many[variants[2].name][1])
        return 0 if export_ratio <= 1.05 else 1
    finally:
        os.unlink(rules_path)


if __name__ == "__main__":
    sys.exit(main())
