"""Alert storm: 10,000 alerts fire in one collection, go through routing and grouping to
a real local webhook receiver, then all resolve in one collection; and the latency that
grouping adds to a single alert.

**Storm.** One rule, ``by: [id, shard]``, over an observable gauge of 10,000 series
(``shard`` = id mod 100); all series go from 0 to above the threshold between two
collections. A real ``AlertingMetricReader`` (``start_timer=False``) on a MeterProvider;
each evaluation is an explicit ``reader.collect()``. Everything is configured from the
environment (``OTEL_PYTHON_ALERTING_WEBHOOK_URL`` and friends) and a rules file whose
``route:`` sends everything to the webhook, grouped by ``[alertname]`` (one group) or
``[shard]`` (100 groups). The receiver is ``tests/support/http.HttpReceiver``
in a process of its own, so its memory is not counted. Per phase (firing, resolved):

* *eval*: how long ``collect()`` held the calling thread (evaluation, lifecycles,
  routing, grouping, and with ``group_wait`` 0 queueing every batch);
* *first req* / *last req*: from the start of that ``collect()`` to the arrival of the
  receiver's first and last request (``time.monotonic`` is system-wide on Linux);
* *drain*: from the start of ``collect()`` until every notification has an outcome in
  the manager's statistics (delivered, failed or dropped);
* *POSTs/s*: requests over the time from the first to the last (the *a group per
  alert* scenarios, ``group_by: ['...']``, send one POST per alert: their rate at 1,000
  and at 10,000 alerts shows whether a delivery costs more as the queue grows);
* *requests*, *received*: HTTP requests and alerts the receiver got; *delivered*,
  *dropped*: notifications counted by the plugin (its manager's statistics);
* *lost*: alerts neither received exactly once nor counted as dropped; *dup*: alerts
  received more than once (both must be 0);
* *RSS Δ*: peak RSS during the phase (sampled every 5 ms) minus RSS before it;
  *tracemalloc*: peak traced by ``tracemalloc`` during the phase, from a separate run
  (tracemalloc slows allocation several times, so that run's times are not reported).

Each run is a fresh process; the scenarios take turns, run after run. Times, rates and
RSS are medians over ``--runs`` runs.

**Latency.** A single HIGH alert with the default routes (``log`` without grouping, by
design; ``webhook`` with the default ``group_wait`` of 2 s): from the start of the
``collect()`` that fires it to the ``otel_alerting.alerts`` log record and to the
webhook request's arrival; and the same for its resolution (never held by grouping).

    python benchmarks/bench_alert_storm.py [--runs 3] [--alerts 10000] [--latency-runs 10]

About 3 minutes with the defaults on 2 cores; ``--only 'a group per alert'`` runs the
last two scenarios alone.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import machine, median, table

from otel_alerting.config import Settings

REPO = Path(__file__).resolve().parent.parent
THRESHOLD = 100.0
MIB = 1024 * 1024

STORM_RULES = """
rules:
  - alert: StormAlert
    expr:
      value: {{metric: bench.storm.level}}
      by: [id, shard]
    above: {{high: {threshold}}}
    annotations:
      summary: "series {{labels[id]}} of shard {{labels[shard]}} at {{value:.0f}} (threshold {{threshold:g}})"
route:
  receiver: webhook
  group_by: [{group_by}]
  group_wait: {group_wait}
"""

LATENCY_RULES = """
rules:
  - alert: LatencyAlert
    expr:
      value: {{metric: bench.latency.level}}
    above: {{high: {threshold}}}
"""

#: (name, group_by, group_wait, queue size or None for the default, alerts or None for --alerts)
SCENARIOS: list[tuple[str, str, str, int | None, int | None]] = [
    ("one group", "alertname", "2s", None, None),
    ("100 groups", "shard", "2s", 10_000, None),
    ("100 groups, default queue", "shard", "2s", None, None),
    ("100 groups, small queue", "shard", "2s", 2_000, None),
    ("one group, queue 1", "alertname", "2s", 1, None),
    ("100 groups, no group_wait", "shard", "0s", 10_000, None),
    # one group per alert: as many POSTs as alerts, so the cost of each must not grow with the queue
    ("a group per alert, 1,000", "'...'", "2s", None, 1_000),
    ("a group per alert, 10,000", "'...'", "2s", None, 10_000),
]


# --- the receiver, in a process of its own ----------------------------------------------


def serve() -> None:
    """Run an HttpReceiver; print its URL; answer ``stats`` lines on stdin with JSON."""
    sys.path.insert(0, str(REPO))
    from tests.support.http import HttpReceiver

    with HttpReceiver() as receiver:
        print(receiver.url, flush=True)
        for line in sys.stdin:
            if line.strip() != "stats":
                break
            per_alert: Counter[tuple[str, str]] = Counter()
            requests = []
            for request in receiver.requests:
                doc = json.loads(request.body)
                for alert in doc["alerts"]:
                    per_alert[(alert["labels"].get("id", ""), alert["status"])] += 1
                requests.append((request.at, doc["status"], len(doc["alerts"])))
            ids: dict[str, dict[str, int]] = {}
            for (alert_id, status), count in per_alert.items():
                ids.setdefault(status, {})[alert_id] = count
            print(json.dumps({"requests": requests, "ids": ids}), flush=True)


class Receiver:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None and self.process.stdin is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the receiver did not start: {self.url!r}")

    def stats(self) -> dict[str, Any]:
        assert self.process.stdout is not None and self.process.stdin is not None
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        result: dict[str, Any] = json.loads(self.process.stdout.readline())
        return result

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


# --- memory -----------------------------------------------------------------------------


def rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class RssPeak:
    """Samples RSS every 5 ms on a thread of its own."""

    def __init__(self) -> None:
        self.base = rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())
        return self.peak - self.base


# --- one storm run (a fresh process) ------------------------------------------------------


def storm_run(
    alerts: int, shards: int, group_by: str, group_wait: str, queue: int | None, traced: bool
) -> dict[str, Any]:
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.sdk.metrics import MeterProvider

    from otel_alerting.reader import AlertingMetricReader

    logging.getLogger("otel_alerting").setLevel(logging.ERROR)  # one warning per dropped batch otherwise
    receiver = Receiver()
    workdir = tempfile.mkdtemp(prefix="bench-storm-")
    rules = Path(workdir, "rules.yaml")
    rules.write_text(STORM_RULES.format(threshold=THRESHOLD, group_by=group_by, group_wait=group_wait))
    env = {
        "OTEL_PYTHON_ALERTING_RULES": str(rules),
        "OTEL_PYTHON_ALERTING_DEFAULT_RULES": "false",
        "OTEL_PYTHON_ALERTING_COOLDOWN": "0",
        "OTEL_PYTHON_ALERTING_CHANNELS": "webhook",
        "OTEL_PYTHON_ALERTING_WEBHOOK_URL": receiver.url + "/alerts",
        # the SDK keeps limit - 1 series before it starts an overflow series
        "OTEL_PYTHON_ALERTING_CARDINALITY_LIMIT": str(alerts * 2),
    }
    if queue is not None:
        env["OTEL_PYTHON_ALERTING_QUEUE_SIZE"] = str(queue)
    reader = AlertingMetricReader(environ=env, start_timer=False)
    system = reader.system
    assert system is not None and not system.rule_set.errors, system and system.rule_set.errors
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    attributes = [{"id": str(i), "shard": str(i % shards)} for i in range(alerts)]
    low = [Observation(0.0, a) for a in attributes]
    high = [Observation(THRESHOLD * 1.5, a) for a in attributes]
    current = [low]

    def observe(options: CallbackOptions) -> list[Observation]:
        return current[0]

    provider.get_meter("bench").create_observable_gauge("bench.storm.level", callbacks=[observe])
    reader.collect()  # the series exist, below the threshold
    assert not system.manager.active()

    def outcomes() -> int:
        return sum(n for (channel, _), n in system.manager.stats().deliveries.items() if channel == "webhook")

    phases: dict[str, dict[str, Any]] = {}
    for phase, values in (("firing", high), ("resolved", low)):
        before = system.manager.stats().deliveries.copy()
        requests_before = len(receiver.stats()["requests"])
        gc.collect()
        if traced:
            tracemalloc.start()
        sampler = RssPeak()
        current[0] = values
        start = time.monotonic()
        reader.collect()
        held = time.monotonic() - start
        target = sum(n for (c, _), n in before.items() if c == "webhook") + alerts
        end = start + 600
        while (expected := outcomes()) < target and time.monotonic() < end:
            time.sleep(0.002)
        drained = time.monotonic() - start
        rss_delta = sampler.stop()
        traced_peak = 0
        if traced:
            traced_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        if expected < target:
            raise RuntimeError(f"{phase}: only {expected - (target - alerts)} of {alerts} outcomes within 600 s")
        after = system.manager.stats().deliveries
        counts = {o: after[("webhook", o)] - before[("webhook", o)] for o in ("delivered", "failed", "dropped")}
        stats = receiver.stats()
        requests = stats["requests"][requests_before:]
        ids: dict[str, int] = stats["ids"].get(phase, {})
        received_once = sum(1 for c in ids.values() if c == 1)
        duplicates = sum(c - 1 for c in ids.values() if c > 1)
        phases[phase] = {
            "eval": held,
            "first": (requests[0][0] - start) if requests else None,
            "last": (requests[-1][0] - start) if requests else None,
            "drain": drained,
            "requests": len(requests),
            "received": sum(ids.values()),
            "delivered": counts["delivered"],
            "failed": counts["failed"],
            "dropped": counts["dropped"],
            "lost": alerts - received_once - counts["dropped"],
            "dup": duplicates,
            "rss": rss_delta,
            "traced": traced_peak,
        }
    provider.shutdown()
    receiver.close()
    return phases


# --- the latency grouping adds ----------------------------------------------------------


class Stamps(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.cond = threading.Condition()
        self.records: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        stamp = time.monotonic()
        fields = getattr(record, "otel_alerting", {}) or {}
        with self.cond:
            self.records.append((stamp, str(fields.get("state"))))
            self.cond.notify_all()

    def wait(self, state: str, since: float, timeout: float = 10.0) -> float:
        with self.cond:
            found = self.cond.wait_for(lambda: any(s == state and t >= since for t, s in self.records), timeout)
            if not found:
                raise RuntimeError(f"no {state} log record within {timeout:g}s")
            return min(t for t, s in self.records if s == state and t >= since)


def latency_run(runs: int) -> dict[str, list[float]]:
    from opentelemetry.sdk.metrics import MeterProvider

    from otel_alerting.channels.log import ALERTS_LOGGER
    from otel_alerting.reader import AlertingMetricReader

    receiver = Receiver()
    workdir = tempfile.mkdtemp(prefix="bench-latency-")
    rules = Path(workdir, "rules.yaml")
    rules.write_text(LATENCY_RULES.format(threshold=THRESHOLD))
    env = {
        "OTEL_PYTHON_ALERTING_RULES": str(rules),
        "OTEL_PYTHON_ALERTING_DEFAULT_RULES": "false",
        "OTEL_PYTHON_ALERTING_COOLDOWN": "0",
        "OTEL_PYTHON_ALERTING_CHANNELS": "log,webhook",
        "OTEL_PYTHON_ALERTING_WEBHOOK_URL": receiver.url + "/alerts",
    }
    stamps = Stamps()
    logger = logging.getLogger(ALERTS_LOGGER)
    logger.addHandler(stamps)
    logger.propagate = False
    reader = AlertingMetricReader(environ=env, start_timer=False)
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    gauge = provider.get_meter("bench").create_gauge("bench.latency.level")
    out: dict[str, list[float]] = {"log FIRING": [], "webhook FIRING": [], "log RESOLVED": [], "webhook RESOLVED": []}

    def webhook_arrival(status: str, since: float, seen: int) -> tuple[float, int]:
        end = time.monotonic() + 10
        while time.monotonic() < end:
            requests = receiver.stats()["requests"]
            if len(requests) > seen:
                at, got, _ = requests[seen]
                assert got == status and at >= since, (got, status)
                return at, len(requests)
            time.sleep(0.01)
        raise RuntimeError(f"no {status} webhook request within 10 s")

    seen = 0
    for _ in range(runs):
        for value, state, status in ((THRESHOLD * 1.5, "FIRING", "firing"), (0.0, "RESOLVED", "resolved")):
            gauge.set(value)
            start = time.monotonic()
            reader.collect()
            out[f"log {state}"].append(stamps.wait(state, start) - start)
            at, seen = webhook_arrival(status, start, seen)
            out[f"webhook {state}"].append(at - start)
    provider.shutdown()
    receiver.close()
    return out


# --- the parent: runs, tables ----------------------------------------------------------------


def child(argument: dict[str, Any]) -> Any:
    result = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(argument)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"run {argument} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.0f}"


def storm_table(results: dict[str, dict[str, list[dict[str, Any]]]], alerts: int) -> str:
    rows = []
    for name, _group_by, group_wait, queue, count in SCENARIOS:
        if name not in results:
            continue
        timed, traced = results[name]["timed"], results[name]["traced"]
        for phase in ("firing", "resolved"):
            runs = [r[phase] for r in timed]

            def med(key: str, runs: Sequence[dict[str, Any]] = runs) -> float | None:
                values = [r[key] for r in runs if r[key] is not None]
                return median(values) if values else None

            last = runs[-1]
            counts_equal = all(
                r[k] == runs[0][k]
                for r in runs
                for k in ("requests", "received", "delivered", "dropped", "lost", "dup")
            )
            first, last_req = med("first"), med("last")
            rate = [
                r["requests"] / (r["last"] - r["first"]) for r in runs if r["requests"] > 1 and r["last"] > r["first"]
            ]
            rows.append(
                [
                    name,
                    f"{count or alerts:,}",
                    group_wait,
                    f"{queue:,}" if queue else f"{Settings.queue_size:,} (default)",
                    phase,
                    f"{last['requests']:,}",
                    f"{last['received']:,}",
                    f"{last['delivered']:,}",
                    f"{last['dropped']:,}",
                    f"{last['lost']}" + ("" if counts_equal else "*"),
                    f"{last['dup']}",
                    ms(med("eval")),
                    ms(first),
                    ms(last_req),
                    f"{median(rate):,.0f}" if rate else "-",
                    ms(med("drain")),
                    f"{(med('rss') or 0) / MIB:.1f}",
                    f"{traced[0][phase]['traced'] / MIB:.1f}",
                ]
            )
    headers = [
        "scenario",
        "alerts",
        "group_wait",
        "queue",
        "phase",
        "requests",
        "received",
        "delivered",
        "dropped",
        "lost",
        "dup",
        "eval ms",
        "first req ms",
        "last req ms",
        "POSTs/s",
        "drain ms",
        "RSS Δ MiB",
        "tracemalloc MiB",
    ]
    return table(headers, rows)


def latency_table(out: dict[str, list[float]]) -> str:
    rows = [
        [key, len(values), ms(min(values)), ms(median(values)), ms(max(values)), ms(statistics.pstdev(values))]
        for key, values in out.items()
    ]
    return table(["evaluation → ", "runs", "min ms", "median ms", "max ms", "stdev ms"], rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per scenario (plus one traced run)")
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--shards", type=int, default=100)
    parser.add_argument("--latency-runs", type=int, default=10)
    parser.add_argument("--only", help="run only the scenarios whose name contains this text")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return
    if args.child:
        spec = json.loads(args.child)
        if spec["kind"] == "latency":
            print(json.dumps(latency_run(spec["runs"])))
        else:
            print(json.dumps(storm_run(**{k: v for k, v in spec.items() if k != "kind"})))
        return

    print(f"machine: {machine()}")
    print(f"command: python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}".rstrip())
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    started = time.monotonic()
    chosen = [s for s in SCENARIOS if not args.only or args.only in s[0]]
    specs = {
        name: {
            "kind": "storm",
            "alerts": count or args.alerts,
            "shards": args.shards,
            "group_by": group_by,
            "group_wait": group_wait,
            "queue": queue,
        }
        for name, group_by, group_wait, queue, count in chosen
    }
    # round-robin over the scenarios, so that the machine's drift falls on each alike
    for _ in range(args.runs):
        for name in specs:
            timed = results.setdefault(name, {"timed": [], "traced": []})["timed"]
            timed.append(child({**specs[name], "traced": False}))
    for name in specs:
        results[name]["traced"] = [child({**specs[name], "traced": True})]
        print(f"  {name}: done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    print()
    print(storm_table(results, args.alerts))
    latency: dict[str, list[float]] = {}
    if args.latency_runs:
        latency = child({"kind": "latency", "runs": args.latency_runs})
        print()
        print(latency_table(latency))
    if args.json:
        Path(args.json).write_text(json.dumps({"storm": results, "latency": latency}, indent=1))


if __name__ == "__main__":
    main()
