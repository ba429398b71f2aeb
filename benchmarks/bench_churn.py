"""Churn: 4 new attribute values per second, for 45 simulated minutes (10,800 values).

A counter ``app.jobs`` gets 4 series with new ``job`` values every second, each measured
once, plus 50 steady series measured every second. A real MeterProvider and an
``AlertingMetricReader`` (no timer): each simulated second is one ``collect()`` with the
reader's clock moved by one second, so 45 minutes take a minute or two. Variants, each in a fresh
process, side by side:

* *delta* (reader mode as it is: counters aggregated as deltas) and *cumulative* (the
  same reader with cumulative counters, as reader mode had before, and as export mode has
  with the OTLP default);
* *export*: the reader in export mode, forwarding to an OTLP-like exporter that wants
  cumulative data (it encodes each export to OTLP protobuf and sends nothing), exported
  every 60 simulated seconds: counters aggregated as deltas and folded back into
  cumulative data for the exporter (``otel_alerting.cumulative``); *export, cumulative
  aggregation*: the same with counters aggregated cumulative, as the exporter wants
  them (export mode before the folding);
* *watched*: a rule reads the counter ``by: [job]`` (``no_data: resolve``);
  *unwatched*: no rule reads it.

Per variant: series the SDK reported at the last collection, series the engine keeps,
series in the last export (export variants),
alerts tracked, RSS every 10 minutes (MiB, after ``gc.collect()``), and whether a new job
at the end (after 10,800 dead ones: past the cardinality limit of 10,000) alerts.

    python benchmarks/bench_churn.py [--minutes 45] [--per-second 4] [--only 'export, watched;export, unwatched']
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import machine, table

RULES = """
rules:
  - alert: JobFailing
    expr:
      value: {metric: app.jobs, reduce: sum}
      by: [job]
    above: {high: 0.5}
    no_data: resolve
"""

VARIANTS = [
    ("delta, watched", "delta", True),
    ("cumulative, watched", "cumulative", True),
    ("export, watched", "export", True),
    ("export, cumulative aggregation, watched", "export-cumulative", True),
    ("delta, unwatched", "delta", False),
    ("cumulative, unwatched", "cumulative", False),
    ("export, unwatched", "export", False),
]

#: simulated seconds between two exports in the export variants (OTEL_METRIC_EXPORT_INTERVAL)
EXPORT_EVERY = 60


def rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def run(temporality: str, watched: bool, minutes: int, per_second: int) -> dict[str, Any]:
    from _common import NullExporter
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
    from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
    from opentelemetry.sdk.metrics.export import AggregationTemporality, MetricExportResult, MetricsData

    from otel_alerting.config import Settings
    from otel_alerting.engine.lifecycle import AlertState
    from otel_alerting.reader import AlertingMetricReader

    rules = Path(tempfile.mkdtemp(prefix="bench-churn-"), "rules.yaml")
    rules.write_text(RULES if watched else "rules: []\n")
    kind = AggregationTemporality.DELTA if temporality == "delta" else AggregationTemporality.CUMULATIVE
    now = [1_000_000.0]
    exported = [0]

    class OtlpLike(NullExporter):
        def export(
            self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
        ) -> MetricExportResult:
            encode_metrics(metrics_data).SerializeToString()
            exported[0] = sum(
                len(m.data.data_points)
                for rm in metrics_data.resource_metrics
                for sm in rm.scope_metrics
                for m in sm.metrics
                if m.name == "app.jobs"
            )
            return MetricExportResult.SUCCESS

    export = temporality.startswith("export")
    reader = AlertingMetricReader(
        Settings(rules_paths=(str(rules),), default_rules=False, mode="export" if export else "reader"),
        environ={},
        channels=[],
        exporters=[OtlpLike(unfolded=temporality == "export-cumulative")] if export else None,
        clock=lambda: now[0],
        start_timer=False,
        preferred_temporality={Counter: kind, Histogram: kind},
    )
    forwarder = reader._forwarder
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    system = reader.system
    assert system is not None
    jobs = provider.get_meter("bench").create_counter("app.jobs")
    reported = [0]

    def count(data: Any) -> None:
        reported[0] = sum(
            len(m.data.data_points)
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
            if m.name == "app.jobs"
        )

    system.subscribe(lambda _: None)
    original = system.evaluate

    def evaluate(data: Any, at: float | None = None) -> Any:
        count(data)
        return original(data, at)

    system.evaluate = evaluate  # type: ignore[method-assign]
    rss: dict[int, float] = {}
    job = 0
    for second in range(minutes * 60 + 1):
        if second % 600 == 0:
            gc.collect()
            rss[second // 60] = rss_mib()
        for steady in range(50):
            jobs.add(0, {"job": f"steady-{steady}"})
        for _ in range(per_second):
            jobs.add(1, {"job": f"j{job}"})
            job += 1
        now[0] += 1
        reader.collect()
        if forwarder is not None and second % EXPORT_EVERY == 0:
            forwarder.flush(10.0, force_last=True)
    jobs.add(1, {"job": "newcomer"})
    now[0] += 1
    reader.collect()
    firing = {a.labels.get("job") for a in system.manager.active() if a.state is AlertState.FIRING}
    out = {
        "sdk": reported[0],
        "engine": sum(system.evaluator.series_count().values()),
        "alerts": len(system.manager.active()),
        "rss": rss,
        "new_alerts": "newcomer" in firing if watched else None,
        "overflow": system.evaluator.overflowed_metrics(),
        "ever": job,
        "exported": exported[0] if export else None,
    }
    provider.shutdown()
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=45)
    parser.add_argument("--per-second", type=int, default=4)
    parser.add_argument("--only", help="the variants to run, by name, separated by semicolons (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(run(spec["temporality"], spec["watched"], args.minutes, args.per_second)))
        return
    print(f"machine: {machine()}")
    print(f"command: python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}".rstrip())
    rows = []
    only = {name.strip() for name in args.only.split(";")} if args.only else None
    for name, temporality, watched in VARIANTS:
        if only is not None and name not in only:
            continue
        spec = json.dumps({"temporality": temporality, "watched": watched})
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--minutes",
                str(args.minutes),
                "--per-second",
                str(args.per_second),
                "--child",
                spec,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        marks = sorted(r["rss"], key=int)
        rows.append(
            [
                name,
                f"{r['ever']:,}",
                f"{r['sdk']:,}",
                f"{r['engine']:,}",
                "-" if r["exported"] is None else f"{r['exported']:,}",
                f"{r['alerts']:,}",
                " → ".join(f"{r['rss'][m]:.1f}" for m in marks),
                f"{r['rss'][marks[-1]] - r['rss'][marks[1] if len(marks) > 2 else marks[0]]:+.1f}",
                "-" if r["new_alerts"] is None else ("yes" if r["new_alerts"] else "NO"),
                ", ".join(r["overflow"]) or "-",
            ]
        )
    minutes = " / ".join(str(m) for m in range(0, args.minutes + 1, 10))
    print()
    print(
        table(
            [
                "variant",
                "job values ever",
                "SDK series at the end",
                "engine series",
                "series exported",
                "alerts tracked",
                f"RSS MiB at {minutes} min",
                "RSS growth after 10 min",
                "a new job alerts",
                "overflowed",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
