"""The engine's budgets, measured side by side with another revision in one run.

Runs this checkout's engine (``otel_alerting``) and, with ``--base DIR``, another copy of
the package imported as ``otel_alerting_base`` from DIR, on the same SDK collections:

* **sizes**: 1,000 / 10,000 / 50,000 series of a counter with 3 attributes, each variant
  a ``value`` or ``rate`` (5m) rule ``by`` series (a group per series) or ``by`` route (50
  groups); 1,000 series (rotating) grow between two collections. Per collection: the SDK's
  collect (``InMemoryMetricReader.collect``, which builds the MetricsData) and the
  plugin's evaluation (``Evaluator.evaluate`` and ``AlertManager.process``). Budgets: at
  1,000 series the plugin with the SDK's collect uses at most 1 % of a core at a 1 s
  interval; at 10,000 and 50,000 the plugin's share is at most 5 % of the SDK's collect.
* **churn**: 10 new ``id`` values per second on a counter a ``rate`` rule (1m) reads
  ``by id``, cumulative and delta, for 300 s; against a steady set of the same number of
  series, 10 of which grow per second. Budget: churn at most 1.3x steady per collection.
* **memory**: bytes per group of a ``rate`` rule's window, 5m at a 1 s interval and 24h
  at a 5 s interval (a window keeps at most 60 snapshots, whatever the interval).

Make a base copy of an earlier revision (REV) with:

    mkdir -p /tmp/base && git archive REV otel_alerting | tar -x -C /tmp/base \\
      && mv /tmp/base/otel_alerting /tmp/base/otel_alerting_base
    .venv/bin/python benchmarks/bench_engine.py --base /tmp/base [--steps 30] [--sizes 1000,10000,50000]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from types import ModuleType
from typing import Any

from _common import machine, median, table
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader, MetricsData

Engine = tuple[str, ModuleType]


def engines(base: str | None) -> list[Engine]:
    found = [("this", importlib.import_module("otel_alerting"))]
    if base:
        sys.path.insert(0, base)
        found.append(("base", importlib.import_module("otel_alerting_base")))
    return found


def _rule(package: ModuleType, kind: str, metric: str, by: str, window: float) -> Any:
    model = importlib.import_module(package.__name__ + ".rules.model")
    selector = model.Selector(metric)
    expr = model.ValueExpr(selector, "max", (by,)) if kind == "value" else model.RateExpr(selector, window, (by,))
    return model.Rule("Bench", expr, "above", ((model.Severity.HIGH, 1e15),))


class Plugin:
    """One package's evaluator and manager over one rule, timed per collection."""

    def __init__(self, package: ModuleType, kind: str, metric: str, by: str, window: float) -> None:
        engine = importlib.import_module(package.__name__ + ".engine")
        rules = [_rule(package, kind, metric, by, window)]
        self.evaluator = engine.Evaluator(rules, 0.0, 0)
        self.manager = engine.AlertManager(rules)
        self.times: list[float] = []

    def evaluate(self, data: MetricsData, now: float) -> None:
        started = time.perf_counter()
        self.manager.process(self.evaluator.evaluate(data, now), now)
        self.times.append(time.perf_counter() - started)


def _provider(temporality: AggregationTemporality) -> tuple[MeterProvider, InMemoryMetricReader]:
    # the SDK's default limit (2,000 series per metric) would fold the larger sizes into one
    reader = InMemoryMetricReader(preferred_temporality={Counter: temporality}, cardinality_limits={Counter: 100_000})
    return MeterProvider(metric_readers=[reader]), reader


def _collect(reader: InMemoryMetricReader, collects: list[float]) -> MetricsData:
    gc.collect()
    started = time.perf_counter()
    data = reader.get_metrics_data()
    collects.append(time.perf_counter() - started)
    assert data is not None
    return data


def _run(plugins: list[Plugin], data: MetricsData, now: float, rng: random.Random) -> None:
    for plugin in rng.sample(plugins, len(plugins)):
        plugin.evaluate(data, now)


def sizes(found: list[Engine], counts: list[int], steps: int) -> list[list[str]]:
    rows = []
    rng = random.Random(1)
    for count in counts:
        for kind, by in (("value", "series"), ("value", "route"), ("rate", "series"), ("rate", "route")):
            provider, reader = _provider(AggregationTemporality.CUMULATIVE)
            counter = provider.get_meter("bench").create_counter("bench.requests")
            attributes = [{"series": f"s{i}", "route": f"r{i % 50}", "tag": "x"} for i in range(count)]
            for a in attributes:
                counter.add(1, a)
            plugins = {name: Plugin(package, kind, "bench.requests", by, 300.0) for name, package in found}
            collects: list[float] = []
            for step in range(steps + 5):
                for i in range(1000):
                    counter.add(1, attributes[(step * 1000 + i) % count])
                data = _collect(reader, collects)
                _run(list(plugins.values()), data, float(step + 1), rng)
            collect = median(collects[5:])
            row = [f"{count:,}", f"{kind} by {by}", f"{collect * 1e3:.2f}"]
            for plugin in plugins.values():
                spent = median(plugin.times[5:])
                row += [f"{spent * 1e3:.3f}", f"{spent / collect * 100:.1f} %", f"{(spent + collect) * 100:.2f} %"]
            rows.append(row)
            provider.shutdown()
    return rows


def churn(found: list[Engine], seconds: int) -> list[list[str]]:
    """Churn and steady side by side: one second of each, in a random order, each second."""
    rows = []
    rng = random.Random(2)
    for temporality in (AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA):
        shapes = {}
        for shape in ("steady", "churn"):
            provider, reader = _provider(temporality)
            counter = provider.get_meter("bench").create_counter("bench.requests")
            plugins = {name: Plugin(package, "rate", "bench.requests", "id", 60.0) for name, package in found}
            if shape == "steady":  # the same number of series as churn has at the end, from the start
                for i in range(10 * seconds):
                    counter.add(1, {"id": f"id{i}"})
            shapes[shape] = (provider, reader, counter, plugins)
        collects: list[float] = []
        for second in range(1, seconds + 1):
            for shape in rng.sample(list(shapes), 2):
                _, reader, counter, plugins = shapes[shape]
                for i in range(10):
                    n = (second * 10 + i) % (10 * seconds) if shape == "steady" else second * 10 + i
                    counter.add(1, {"id": f"id{n}"})
                _run(list(plugins.values()), _collect(reader, collects), float(second), rng)
        row = [temporality.name.lower()]
        for name, _ in found:
            steady = median(shapes["steady"][3][name].times[-30:])
            churned = median(shapes["churn"][3][name].times[-30:])
            row += [f"{steady * 1e3:.2f}", f"{churned * 1e3:.2f}", f"{churned / steady:.2f}x"]
        rows.append(row)
        for provider, *_ in shapes.values():
            provider.shutdown()
    return rows


def memory(found: list[Engine], groups: int) -> list[list[str]]:
    rows = []
    from opentelemetry.sdk.metrics.export import Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    attributes = [{"series": f"s{i}"} for i in range(groups)]

    def data(step: int) -> MetricsData:
        points = [NumberDataPoint(a, 0, 1, step * (i % 3)) for i, a in enumerate(attributes)]
        metric = Metric("bench.requests", None, None, Sum(points, AggregationTemporality.CUMULATIVE, True))
        scope = ScopeMetrics(InstrumentationScope("bench"), [metric], "")
        return MetricsData([ResourceMetrics(Resource.create({}), [scope], "")])

    for window, interval in ((300.0, 1.0), (86400.0, 5.0)):
        row = [f"{window:g} s at {interval:g} s"]
        for _, package in found:
            # what the package's own code holds (not the benchmark's, nor the data's)
            held = [tracemalloc.Filter(True, os.path.join(os.path.dirname(package.__file__ or ""), "*"))]
            tracemalloc.start()
            plugin = Plugin(package, "rate", "bench.requests", "series", window)
            plugin.evaluate(data(0), 0.0)
            before = tracemalloc.take_snapshot().filter_traces(held)
            steps = int(window / interval * 1.2)
            for step in range(1, steps):
                plugin.evaluate(data(step), step * interval)
            after = tracemalloc.take_snapshot().filter_traces(held)
            tracemalloc.stop()
            grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
            row.append(f"{grown / groups:,.0f}")
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="a directory holding a copy of the package named otel_alerting_base")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--parts", default="sizes,churn,memory")
    args = parser.parse_args()
    found = engines(args.base)
    names = [name for name, _ in found]
    print(machine())
    parts = args.parts.split(",")
    timed: Callable[..., list[list[str]]]
    if "sizes" in parts:
        head = ["series", "rule", "SDK collect ms"]
        for name in names:
            head += [f"{name}: plugin ms", f"{name}: / collect", f"{name}: core at 1 s"]
        print(table(head, sizes(found, [int(s) for s in args.sizes.split(",")], args.steps)))
    if "churn" in parts:
        head = ["temporality"]
        for name in names:
            head += [f"{name}: steady ms", f"{name}: churn ms", f"{name}: ratio"]
        timed = churn
        print(table(head, timed(found, 300)))
    if "memory" in parts:
        print(table(["window", *[f"{name}: bytes per group" for name in names]], memory(found, 100)))


if __name__ == "__main__":
    main()
