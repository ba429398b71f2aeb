"""Detection latency: from a threshold crossing to the FIRING record of the log channel,
and from the clearing to the RESOLVED record.

One MeterProvider per interval (0.5 s, 1 s, 5 s by default), each with an
AlertingMetricReader on its real timer thread (``export`` mode would add nothing
here: the evaluation is the same) and the ``log`` channel. A rule fires at once
(``for: 0s``) when the gauge ``bench.latency.level`` reaches 100; the cooldown is 0.
A ``logging.Handler`` on ``otel_alerting.alerts`` stamps each record with
``time.perf_counter()`` as it is emitted.

Every collection the timer starts is stamped. One run: wait until a random phase of
the interval after a collection start, set the synchronous gauge to 150 and stamp;
wait for FIRING; wait for another random phase, set it to 0 and stamp; wait for
RESOLVED. Latency = record stamp - set stamp; "pipeline" = record stamp - start of the
collection that produced it (collect, evaluate, lifecycle, dispatcher hop, log record),
the rest being the wait for the timer. The phases are stratified: the rise of run k of
n comes (k + u) / n of the interval after a collection start, u uniform in [0, 1), in a
shuffled order (the falls likewise, independently), so that 10 runs cover the interval
evenly; with plain uniform phases the median of 10 runs alone wanders by +-16 % of the
interval. The intervals are interleaved: each block does one run per interval, in a
new random order.

    .venv/bin/python benchmarks/bench_latency.py [--runs 10] [--intervals 0.5,1,5]

About 2 minutes with the defaults (the 5 s runs dominate: 10 x 2 x (phase + latency)).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import threading
import time
from typing import Any

from _common import machine, median, table, verdict
from opentelemetry.sdk.metrics import MeterProvider

from otel_alerting.config import Settings
from otel_alerting.reader import AlertingMetricReader

THRESHOLD = 100.0


class StampingHandler(logging.Handler):
    """Remembers when each alert record was emitted, per interval label."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.cond = threading.Condition()
        self.records: list[tuple[float, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        stamp = time.perf_counter()
        fields = getattr(record, "otel_alerting", {}) or {}
        labels = fields.get("labels", {})
        with self.cond:
            self.records.append((stamp, str(fields.get("state")), str(labels.get("variant", ""))))
            self.cond.notify_all()

    def wait_for(self, state: str, variant: str, since: float, timeout: float) -> float | None:
        end = time.perf_counter() + timeout
        with self.cond:
            while True:
                for stamp, got_state, got_variant in self.records:
                    if got_state == state and got_variant == variant and stamp >= since:
                        return stamp
                remaining = end - time.perf_counter()
                if remaining <= 0:
                    return None
                self.cond.wait(remaining)


class Variant:
    def __init__(self, interval: float, rules_path: str) -> None:
        self.interval = interval
        self.label = f"{interval:g}s"
        settings = Settings(
            interval_ms=interval * 1000,
            rules_paths=(rules_path,),
            default_rules=False,
            channels=("log",),
            cooldown_s=0.0,
        )
        self.reader = AlertingMetricReader(settings, environ={})
        self.provider = MeterProvider(metric_readers=[self.reader], shutdown_on_exit=False)
        self.gauge = self.provider.get_meter("bench").create_gauge("bench.latency.level")
        self.gauge.set(0.0, {"variant": self.label})
        self.firing: list[float] = []
        self.resolved: list[float] = []
        self.pipeline: list[float] = []
        self.ticks: list[float] = []
        collect = self.reader.collect

        def stamped_collect(*args: Any, **kwargs: Any) -> None:
            self.ticks.append(time.perf_counter())
            collect(*args, **kwargs)

        self.reader.collect = stamped_collect  # type: ignore[method-assign]
        self.rise_phases: list[float] = []
        self.fall_phases: list[float] = []

    def plan(self, runs: int, rng: random.Random) -> None:
        """Stratified phases, one set for the rises and one for the falls."""
        for phases in (self.rise_phases, self.fall_phases):
            phases[:] = [(k + rng.random()) / runs for k in range(runs)]
            rng.shuffle(phases)

    def _tick_before(self, stamp: float) -> float:
        return max(t for t in self.ticks if t <= stamp)

    def _sleep_to_phase(self, phase: float) -> None:
        """Sleep until ``phase`` of an interval after a start of the timer's collection."""
        now = time.perf_counter()
        target = self.ticks[-1] + phase * self.interval
        while target <= now + 0.001:
            target += self.interval
        time.sleep(target - now)

    def run(self, handler: StampingHandler) -> None:
        timeout = self.interval * 3 + 5
        self._sleep_to_phase(self.rise_phases.pop())
        start = time.perf_counter()
        self.gauge.set(THRESHOLD * 1.5, {"variant": self.label})
        fired = handler.wait_for("FIRING", self.label, start, timeout)
        if fired is None:
            raise RuntimeError(f"no FIRING record within {timeout:.0f}s at interval {self.label}")
        self.firing.append(fired - start)
        self.pipeline.append(fired - self._tick_before(fired))
        self._sleep_to_phase(self.fall_phases.pop())
        start = time.perf_counter()
        self.gauge.set(0.0, {"variant": self.label})
        resolved = handler.wait_for("RESOLVED", self.label, start, timeout)
        if resolved is None:
            raise RuntimeError(f"no RESOLVED record within {timeout:.0f}s at interval {self.label}")
        self.resolved.append(resolved - start)
        self.pipeline.append(resolved - self._tick_before(resolved))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--intervals", default="0.5,1,5", help="seconds, comma separated")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    intervals = [float(x) for x in args.intervals.split(",")]
    rules = {
        "rules": [
            {
                "alert": "BenchLevelHigh",
                "expr": {"value": {"metric": "bench.latency.level", "reduce": "max"}, "by": ["variant"]},
                "above": {"high": THRESHOLD},
                "for": "0s",
            }
        ]
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(rules, f)
        rules_path = f.name
    handler = StampingHandler()
    alerts_logger = logging.getLogger("otel_alerting.alerts")
    alerts_logger.addHandler(handler)
    alerts_logger.setLevel(logging.DEBUG)
    alerts_logger.propagate = False  # keep the terminal for the table
    logging.getLogger("otel_alerting").setLevel(logging.WARNING)  # no start-up INFO line
    try:
        print(f"machine: {machine()}", flush=True)
        variants = [Variant(interval, rules_path) for interval in intervals]
        for v in variants:
            v.plan(args.runs, rng)
        deadline = time.monotonic() + max(intervals) + 5
        while any(not v.ticks for v in variants) and time.monotonic() < deadline:
            time.sleep(0.01)  # every timer has run once: its phase is known
        started = time.perf_counter()
        for run in range(args.runs):
            order = variants[:]
            rng.shuffle(order)
            for v in order:
                v.run(handler)
            print(f"  run {run + 1}/{args.runs}", file=sys.stderr, flush=True)
        elapsed = time.perf_counter() - started
        rows: list[list[Any]] = []
        all_met = True
        for v in variants:
            fire_med, fire_max = median(v.firing), max(v.firing)
            res_med, res_max = median(v.resolved), max(v.resolved)
            fire_ok = fire_med <= v.interval / 2 + 0.05 and fire_max <= v.interval + 0.1
            res_ok = res_max <= v.interval + 0.1
            all_met = all_met and fire_ok and res_ok
            rows.append(
                [
                    v.label,
                    len(v.firing),
                    f"{min(v.firing) * 1e3:.0f} / {fire_med * 1e3:.0f} / {fire_max * 1e3:.0f}",
                    f"≤ {(v.interval / 2 + 0.05) * 1e3:.0f} / ≤ {(v.interval + 0.1) * 1e3:.0f}: {verdict(fire_ok)}",
                    f"{min(v.resolved) * 1e3:.0f} / {res_med * 1e3:.0f} / {res_max * 1e3:.0f}",
                    f"≤ {(v.interval + 0.1) * 1e3:.0f}: {verdict(res_ok)}",
                    f"{median(v.pipeline) * 1e3:.1f} / {max(v.pipeline) * 1e3:.1f}",
                ]
            )
        print(
            f"\nDetection latency in ms (min / median / max), {args.runs} runs per interval with a random "
            f"phase, interleaved ({elapsed:.0f} s)\n"
        )
        print(
            table(
                [
                    "interval",
                    "runs",
                    "FIRING min / median / max",
                    "target median / max",
                    "RESOLVED min / median / max",
                    "target max",
                    "pipeline median / max",
                ],
                rows,
            )
        )
        for v in variants:
            v.provider.shutdown()
        return 0 if all_met else 1
    finally:
        alerts_logger.removeHandler(handler)
        os.unlink(rules_path)


if __name__ == "__main__":
    sys.exit(main())
