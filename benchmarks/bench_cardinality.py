"""High cardinality: one counter with 200,000 attribute sets, plugin off and on, side by side.

Each variant is a fresh process: a MeterProvider, the metric ``app.requests`` with one
measurement for each of 200,000 ``user`` values (the set-up), then ``--seconds`` of steady
load, 1,000 ``Counter.add`` per second on users drawn at random. Variants:

* *plugin off*: the SDK's ``PeriodicExportingMetricReader`` (60 s, an exporter that drops
  what it gets), as a service without otel-alerting;
* *reader mode*: the same plus an ``AlertingMetricReader`` on its 1 s timer, the built-in
  rules (none reads ``app.requests``), counters as deltas (as reader mode is);
* *reader mode, cumulative*: the same reader with cumulative counters;
* *reader mode, watched*: reader mode with a rule reading ``app.requests`` ``by: [user]``.

Per variant: RSS after the set-up and at the end, minus the process's RSS before the
MeterProvider was built; CPU of the whole process during the steady phase as a share of
one core, and the part of it that is the recording loop alone (measured with the
plugin off). Runs interleaved in a new random order per round, medians over ``--rounds``.

    python benchmarks/bench_cardinality.py [--sets 200000] [--seconds 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import NullExporter, machine, median, table

VARIANTS = ["plugin off", "reader mode", "reader mode, cumulative", "reader mode, watched"]

WATCHED = """
rules:
  - alert: PerUser
    expr:
      rate: {metric: app.requests}
      by: [user]
      window: 1m
    above: {high: 1000}
"""


def rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def run(variant: str, sets: int, seconds: float) -> dict[str, Any]:
    from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
    from opentelemetry.sdk.metrics.export import AggregationTemporality, MetricReader, PeriodicExportingMetricReader

    from otel_alerting.config import load_settings
    from otel_alerting.reader import AlertingMetricReader

    users = [{"user": f"u{i}"} for i in range(sets)]
    base = rss_mib()
    readers: list[MetricReader] = [PeriodicExportingMetricReader(NullExporter(), export_interval_millis=60_000)]
    if variant != "plugin off":
        env = {"OTEL_PYTHON_ALERTING_CHANNELS": "log", "OTEL_PYTHON_ALERTING_MODE": "reader"}
        if variant == "reader mode, watched":
            rules = Path(tempfile.mkdtemp(prefix="bench-cardinality-"), "rules.yaml")
            rules.write_text(WATCHED)
            env["OTEL_PYTHON_ALERTING_RULES"] = str(rules)
        temporality = None
        if variant == "reader mode, cumulative":
            temporality = dict.fromkeys((Counter, Histogram), AggregationTemporality.CUMULATIVE)
        readers.append(AlertingMetricReader(load_settings(env), environ=env, preferred_temporality=temporality))
    provider = MeterProvider(metric_readers=readers, shutdown_on_exit=False)
    counter = provider.get_meter("bench").create_counter("app.requests")
    for attributes in users:
        counter.add(1, attributes)
    after_setup = rss_mib()
    rng = random.Random(7)
    cpu0, wall0 = time.process_time(), time.monotonic()
    next_at = wall0
    while time.monotonic() - wall0 < seconds:
        for _ in range(100):
            counter.add(1, users[rng.randrange(sets)])
        next_at += 0.1
        time.sleep(max(next_at - time.monotonic(), 0.0))
    cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    out = {"setup": after_setup - base, "end": rss_mib() - base, "cpu": cpu}
    provider.shutdown()
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run(args.child, args.sets, args.seconds)))
        return
    print(f"machine: {machine()}")
    print(f"command: python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}".rstrip())
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    rng = random.Random()
    for _ in range(args.rounds):
        order = list(VARIANTS)
        rng.shuffle(order)
        for variant in order:
            command = [sys.executable, __file__, "--sets", str(args.sets), "--seconds", str(args.seconds)]
            done = subprocess.run([*command, "--child", variant], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(done.stderr)
            results[variant].append(json.loads(done.stdout.strip().splitlines()[-1]))

    def med(variant: str, key: str) -> float:
        return median([r[key] for r in results[variant]])

    off_cpu, off_end = med("plugin off", "cpu"), med("plugin off", "end")
    rows = [
        [
            v,
            f"{med(v, 'setup'):.1f}",
            f"{med(v, 'end'):.1f}",
            "-" if v == "plugin off" else f"{med(v, 'end') - off_end:+.1f}",
            f"{med(v, 'cpu') * 100:.1f} %",
            "-" if v == "plugin off" else f"{(med(v, 'cpu') - off_cpu) * 100:+.1f} %",
        ]
        for v in VARIANTS
    ]
    print()
    print(
        f"{args.sets:,} attribute sets of one counter, then {args.seconds:g} s at 1,000 adds/s; "
        f"medians of {args.rounds} interleaved rounds"
    )
    print()
    print(
        table(
            [
                "variant",
                "RSS MiB after set-up",
                "RSS MiB at the end",
                "added to plugin off",
                "CPU (share of a core)",
                "added to plugin off ",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
