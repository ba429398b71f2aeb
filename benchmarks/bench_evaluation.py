"""Evaluation cost per collection, as a share of the SDK collect it rides on.

Each variant is a MeterProvider whose only reader is an AlertingMetricReader (no timer;
the benchmark calls what the timer calls, ``reader._collect_once()``, in the context the
timer's thread keeps). That one call is
split into the SDK's own collect (the callback the MeterProvider gives the reader, which
builds the MetricsData) and everything else, the plugin's share: the suppression of
instrumentation, the reader's lock and hand-over, and ``AlertingSystem.evaluate``
(evaluator, lifecycles, manager, self-telemetry). Both are timed inside the same call,
on the same data, so the ratio is paired. Budgets: at 1,000 series the plugin and the
SDK's collect use at most 1 % of a core at a 1 s interval; from 10,000 series the
plugin's share is at most 5 % of the SDK's collect.

Cases, each at 1,000 / 10,000 / 50,000 series of a counter with 3 attributes:

* ``unwatched``: the series are in a metric no rule reads (most application metrics);
  one rule watches another metric with a single series.
* ``value by series``: all series in the watched metric, a ``value`` rule (max) ``by`` the
  attribute that tells them apart: one alert group per series, the worst case.
* ``value by route``: the same rule ``by`` an attribute with 50 values (50 groups).
* ``rate by series`` / ``rate by route``: the same with a ``rate`` rule over a 5m window.

Between two collections 1,000 series (rotating; ``--touched``) are incremented, so
increases flow.

``--export`` measures export mode instead, each case twice, side by side: *export,
cumulative* (the reader aggregates counters cumulative, as the exporter wants them, and
forwards the collection as it is: export mode before) and *export, folded* (counters
aggregated as deltas and folded back into cumulative data for the exporter,
``otel_alerting.cumulative``). "plugin" then includes the folding; building the
cumulative export, which the forwarding thread does once per
``OTEL_METRIC_EXPORT_INTERVAL``, is timed apart ("snapshot ms").
Variants are interleaved: each block runs one collection of every variant, in a new
random order; the table gives medians over the blocks. "plugin" is everything the
reader adds to the SDK's collect; "evaluate" is the whole ``AlertingSystem.evaluate``
within it (evaluator, then lifecycles in the manager, dispatcher, self-telemetry);
"evaluator" is ``Evaluator.evaluate`` alone (series state and rules).

    .venv/bin/python benchmarks/bench_evaluation.py [--blocks 40] [--sizes 1000,10000,50000] [--window 5m]
        [--temporality delta|cumulative | --export] [--touched 1000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
from typing import Any

from _common import NullExporter, machine, median, table, verdict
from opentelemetry.context import attach
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality

from otel_alerting.config import Settings
from otel_alerting.durations import parse_duration
from otel_alerting.own_work import OWN_WORK
from otel_alerting.reader import AlertingMetricReader

#: the window of the ``rate`` rules (``--window``)
WINDOW = "5m"


def _rule(alert: str, kind: str, metric: str, by: str) -> dict[str, Any]:
    expr: dict[str, Any] = {kind: {"metric": metric}, "by": [by]}
    if kind == "value":
        expr["value"]["reduce"] = "max"
    else:
        expr["window"] = WINDOW
    return {"alert": alert, "expr": expr, "above": {"high": 1e15}}


def cases() -> dict[str, tuple[str, dict[str, Any] | None]]:
    """case -> (metric the series are in, rule reading it or None)"""
    return {
        "unwatched": ("bench.unwatched", None),
        "value by series": ("bench.value_series", _rule("ValueBySeries", "value", "bench.value_series", "series")),
        "value by route": ("bench.value_route", _rule("ValueByRoute", "value", "bench.value_route", "route")),
        "rate by series": ("bench.rate_series", _rule("RateBySeries", "rate", "bench.rate_series", "series")),
        "rate by route": ("bench.rate_route", _rule("RateByRoute", "rate", "bench.rate_route", "route")),
    }


CASES = cases()


def rules() -> dict[str, Any]:
    return {
        "rules": [rule for _, rule in cases().values() if rule is not None]
        + [
            {
                "alert": "BenchOther",
                "expr": {"value": {"metric": "bench.other", "reduce": "max"}},
                "above": {"high": 1e15},
            },
        ]
    }


#: series measured between two collections (``--touched``)
TOUCHED_PER_ROUND = 1000

#: --export: the variants of export mode (name -> the exporter's ``unfolded``)
EXPORT_VARIANTS = {"export, cumulative": True, "export, folded": False}


class Variant:
    def __init__(self, case: str, size: int, rules_path: str, cumulative: bool = False, export: str = "") -> None:
        self.case = case
        self.size = size
        self.export = export
        settings = Settings(
            interval_ms=float("inf"),
            rules_paths=(rules_path,),
            default_rules=False,
            channels=(),
            cardinality_limit=size * 2,
            mode="export" if export else "reader",
        )
        # reader mode aggregates counters as deltas (READER_MODE_TEMPORALITY); --temporality
        # cumulative measures the aggregation an exporter's default would give instead
        preferred = {Counter: AggregationTemporality.CUMULATIVE} if cumulative else None
        exporters = [NullExporter(unfolded=EXPORT_VARIANTS[export])] if export else None
        self.reader = AlertingMetricReader(
            settings, environ={}, channels=[], exporters=exporters, start_timer=False, preferred_temporality=preferred
        )
        self.provider = MeterProvider(metric_readers=[self.reader], shutdown_on_exit=False)
        meter = self.provider.get_meter("bench")
        self.counter = meter.create_counter(CASES[case][0])
        meter.create_counter("bench.other").add(1, {"series": "0"})
        self.attributes = [
            {"series": f"s{i}", "route": f"/api/items/{i % 50}", "status": str(200 + i % 5)} for i in range(size)
        ]
        for attributes in self.attributes:
            self.counter.add(1, attributes)
        self.cursor = 0
        system = self.reader.system
        assert system is not None
        self.last_evaluate = 0.0
        self.last_engine = 0.0
        evaluate = system.evaluate
        engine = system.evaluator.evaluate

        def timed_evaluate(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return evaluate(*args, **kwargs)
            finally:
                self.last_evaluate = time.perf_counter() - start

        def timed_engine(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return engine(*args, **kwargs)
            finally:
                self.last_engine = time.perf_counter() - start

        system.evaluate = timed_evaluate  # type: ignore[method-assign]
        system.evaluator.evaluate = timed_engine  # type: ignore[method-assign]
        # the SDK's own collect: the callback the MeterProvider gave the reader
        sdk_collect = self.reader._collect
        assert sdk_collect is not None
        self.last_sdk = 0.0

        # the collection is held until the timing is done: freeing it (the SDK's garbage,
        # some 7 % of its collect) is then counted on neither side
        self.held: Any = None

        def timed_sdk_collect(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                self.held = sdk_collect(*args, **kwargs)
                return self.held
            finally:
                self.last_sdk = time.perf_counter() - start

        self.reader._collect = timed_sdk_collect
        self.collects: list[float] = []
        self.plugins: list[float] = []
        self.evaluates: list[float] = []
        self.engines: list[float] = []
        self.ratios: list[float] = []
        self.engine_ratios: list[float] = []
        self.plugin_ratios: list[float] = []
        self.snapshots: list[float] = []

    def touch(self) -> None:
        n = min(TOUCHED_PER_ROUND, self.size)
        for k in range(n):
            self.counter.add(1, self.attributes[(self.cursor + k) % self.size])
        self.cursor = (self.cursor + n) % self.size

    def run(self, record: bool) -> None:
        self.touch()
        start = time.perf_counter()
        # what the reader's timer calls, in the context its thread keeps (see main)
        self.reader._collect_once(in_own_work=True)
        total = time.perf_counter() - start
        self.held = None
        collect = self.last_sdk
        plugin = total - collect
        if record:
            self.collects.append(collect)
            self.plugins.append(plugin)
            self.evaluates.append(self.last_evaluate)
            self.engines.append(self.last_engine)
            self.ratios.append(self.last_evaluate / collect)
            self.engine_ratios.append(self.last_engine / collect)
            self.plugin_ratios.append(plugin / collect)

    def snapshot(self) -> None:
        """Time what the forwarding thread builds for each export (folded variants only)."""
        forwarder = self.reader._forwarder
        fold = forwarder._cumulative if forwarder is not None else None
        if fold is not None:
            start = time.perf_counter()
            fold.snapshot()
            self.snapshots.append(time.perf_counter() - start)

    def close(self) -> None:
        self.provider.shutdown()


def run_blocks(variants: list[Variant], blocks: int, rng: random.Random) -> None:
    """``blocks`` recorded collections of every variant, in a new random order per block."""
    for block in range(blocks):
        order = variants[:]
        rng.shuffle(order)
        for v in order:
            v.run(record=True)
            v.snapshot()
        if (block + 1) % 10 == 0:
            print(f"  block {block + 1}/{blocks}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--temporality",
        choices=("delta", "cumulative"),
        default="delta",
        help="the counters' aggregation: delta, as reader mode has it, or cumulative",
    )
    parser.add_argument("--export", action="store_true", help="export mode, cumulative against folded deltas")
    parser.add_argument("--touched", type=int, default=TOUCHED_PER_ROUND, help="series measured per collection")
    parser.add_argument(
        "--window",
        default=WINDOW,
        help="window of the rate rules; one of up to a minute (2s) is filled before the measured blocks",
    )
    args = parser.parse_args()
    globals()["WINDOW"] = args.window
    globals()["TOUCHED_PER_ROUND"] = args.touched
    sizes = [int(s) for s in args.sizes.split(",")]
    cases = [c.strip() for c in args.cases.split(",")]
    rng = random.Random(args.seed)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(rules(), f)
        rules_path = f.name
    try:
        print(f"machine: {machine()}", flush=True)
        print("building variants...", file=sys.stderr, flush=True)
        # as on the reader's timer thread, the plugin's own context is set once, for good
        attach(OWN_WORK)
        variants = [
            Variant(case, size, rules_path, args.temporality == "cumulative", export)
            for size in sizes
            for case in cases
            for export in (EXPORT_VARIANTS if args.export else [""])
        ]
        gc.collect()
        # warm-up: the first collections create every series' state; a window of up to a
        # minute is filled first, so that its rows are those of a process older than it
        # (a longer one is measured as it fills: the run would last longer than it)
        window = parse_duration(args.window)
        fill_until = time.perf_counter() + (window if window <= 60 else 0.0)
        rounds = 0
        while rounds < 3 or time.perf_counter() < fill_until:
            for v in variants:
                v.run(record=False)
            rounds += 1
        started = time.perf_counter()
        run_blocks(variants, args.blocks, rng)
        elapsed = time.perf_counter() - started
        rows = []
        missed = False
        for v in variants:
            ratio = median(v.plugin_ratios)
            # the budgets: 1 % of a core at a 1 s interval (the SDK's collect included) at
            # 1,000 series, the plugin's share at most 5 % of the collect from 10,000 on
            core = median(v.collects) + median(v.plugins)
            met = core <= 0.01 if v.size < 10_000 else ratio <= 0.05
            missed = missed or not met
            rows.append(
                [
                    f"{v.size:,}",
                    v.case,
                    *([v.export, f"{median(v.snapshots) * 1e3:.2f}" if v.snapshots else "-"] if args.export else []),
                    f"{median(v.collects) * 1e3:.2f}",
                    f"{median(v.collects) / v.size * 1e6:.2f}",
                    f"{median(v.engines) * 1e3:.3f}",
                    f"{median(v.evaluates) * 1e3:.3f}",
                    f"{median(v.plugins) * 1e3:.3f}",
                    f"{median(v.engine_ratios) * 100:.1f} %",
                    f"{median(v.ratios) * 100:.1f} %",
                    f"{ratio * 100:.1f} %",
                    f"{max(v.plugin_ratios) * 100:.1f} %",
                    f"{core * 100:.2f} %",
                    verdict(met),
                ]
            )
        print(
            f"\nEvaluation per collection, medians of {args.blocks} interleaved blocks "
            f"({elapsed:.0f} s; {'export mode' if args.export else args.temporality + ' temporality'}; "
            f"rate window {args.window}; {args.touched:,} series measured per collection)\n"
        )
        print(
            table(
                [
                    "series",
                    "case",
                    *(["variant", "snapshot ms"] if args.export else []),
                    "SDK collect ms",
                    "µs/series",
                    "evaluator ms",
                    "evaluate ms",
                    "plugin ms",
                    "evaluator / collect",
                    "evaluate / collect",
                    "plugin / collect",
                    "worst block",
                    "core at 1 s",
                    "budget",
                ],
                rows,
            )
        )
        for v in variants:
            v.close()
        return 1 if missed else 0
    finally:
        os.unlink(rules_path)


if __name__ == "__main__":
    sys.exit(main())
