"""What the state store costs per evaluation (OTEL_PYTHON_ALERTING_STATE), side by side.

For SQLite (a file in a temporary directory) and Redis (a redis-server this script starts
on a free port, no persistence), with 100 and 10,000 firing alerts of one rule (``value``
``by id``): per evaluation, what the system does for its store after the rules are
evaluated, that is the read of the silences other processes changed (``read_silences``:
the store's count of silence changes, nothing else when none changed), the manager's
``export_changes`` (the records of the alerts that changed), the keeper's ``write``
(what changed, in one transaction) and the shared log's heartbeat (``SharedDedup.hold``). Two cases:
*steady* (nothing changed since the last evaluation) and *one changed* (one alert
escalates or de-escalates at each evaluation), and beside them what rebuilding every
record at each evaluation would cost (``export_state``, the full records the keeper then
compares). Then the search for orphans that each process makes every third of a lease (5 s by
default), spread per second: with SQLite it reads the whole log each time (here one
entry per firing alert); with Redis only the heartbeats, and the whole log when a
process's lease has expired or 300 s have passed. The evaluation itself (the SDK's collect,
the evaluator, the lifecycles) is run between the measured parts and left out.

CPU time of this process (``time.process_time``) and wall time, medians; the share of a
core at a 1 s interval against the budget of 1 % (Redis's own CPU is its process's, not
counted).

    .venv/bin/python benchmarks/bench_state.py [--evaluations 50] [--sizes 100,10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from _common import machine, median, table
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_alerting.config import Settings
from otel_alerting.notify.dedup import Claim
from otel_alerting.rules import RuleSet
from otel_alerting.rules.model import Rule, Selector, Severity, ValueExpr
from otel_alerting.state import RedisStore
from otel_alerting.system import AlertingSystem

RULE = Rule(
    alert="BenchState",
    expr=ValueExpr(Selector("bench.level"), by=("id",)),
    direction="above",
    thresholds=((Severity.HIGH, 10.0), (Severity.CRITICAL, 100.0)),
)


FULL = "steady, every record rebuilt (export_state)"
ORPHANS = "search for orphans (whole log every 5 s), per second"
ORPHANS_FULL = "search for orphans (whole log every 300 s), per second"
ORPHANS_CHECK = "check for expired leases (every 5 s), per second"


def _timed(search: Callable[[], object]) -> tuple[float, float]:
    """Median CPU and wall ms of 5 searches (each finds no orphan)."""
    cpu, wall = [], []
    for _ in range(5):
        c0, w0 = time.process_time(), time.perf_counter()
        assert search() == []
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return median(cpu), median(wall)


def _full_search(store: RedisStore, now: float) -> object:
    store._next_search = 0.0  # as when a process's lease has just expired
    return store.orphans(now, 24 * 3600.0, 10_000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def measure(location: str, size: int, evaluations: int) -> dict[str, tuple[float, float]]:
    """case -> (median CPU ms, median wall ms) per evaluation."""
    levels = {f"{i:05d}": 50.0 for i in range(size)}

    def observe(options: CallbackOptions) -> list[Observation]:
        return [Observation(v, {"id": k}) for k, v in levels.items()]

    from opentelemetry.sdk.metrics import ObservableGauge

    reader = InMemoryMetricReader(cardinality_limits={ObservableGauge: 2 * size + 10})
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("bench").create_observable_gauge("bench.level", callbacks=[observe])
    settings = Settings(
        state_path=location, default_rules=False, channels=(), channels_set=True, cardinality_limit=2 * size + 10
    )
    now = 1_000.0
    system = AlertingSystem(
        settings, RuleSet((RULE,), (), {"bench": 1}, {}), channels=[], environ={}, clock=lambda: now, start=now
    )
    assert system.dedup is not None, f"{location} is not a shared store"
    dedup = system.dedup
    for _ in range(3):  # every alert fires (and is saved) before measuring
        now += 1
        system.evaluate(reader.get_metrics_data(), now)
    assert len(system.manager.active()) == size
    results: dict[str, tuple[float, float]] = {}
    for case in ("steady", "one changed", FULL):
        cpu: list[float] = []
        wall: list[float] = []
        for n in range(evaluations):
            if case == "one changed":
                levels["00000"] = 500.0 if n % 2 == 0 else 50.0
            now += 1
            # the evaluation, not measured
            outcome = system.evaluator.evaluate(reader.get_metrics_data(), now)
            notifications = system.manager.process(outcome, now)
            c0, w0 = time.process_time(), time.perf_counter()
            system._read_silences()
            dedup.hold(notifications, now)
            if case == FULL:
                system.state.write(system.manager.export_state(), system.silences.export(now), now)
            else:
                changed, forgotten = system.manager.export_changes()
                system.state.write(changed, system.silences.export(now), now, removed=forgotten)
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
        results[case] = (median(cpu), median(wall))
    # the search for orphans (every third of a lease) reads the whole notification log:
    # one entry per alert, as after a FIRING to one receiver
    claims = [
        Claim(fp, "webhook", "FIRING", 3, None, {"status": "FIRING", "severity": 3, "at": now})
        for fp in system.manager.export_state()
    ]
    assert False not in dedup.log.claim(dedup.holder, now, claims)
    every = dedup.lease / 3
    if isinstance(dedup.log, RedisStore):
        # a whole search at most every 300 s, or when a process's lease expired; at
        # each third of a lease otherwise, only the heartbeats are read
        full = _timed(lambda: _full_search(dedup.log, now))
        check = _timed(lambda: dedup.log.orphans(now, 24 * 3600.0, 10_000))
        results[ORPHANS_FULL] = (full[0] / 300, full[1] / 300)
        results[ORPHANS_CHECK] = (check[0] / every, check[1] / every)
    else:
        full = _timed(lambda: dedup.log.orphans(now, 24 * 3600.0, 10_000))
        results[ORPHANS] = (full[0] / every, full[1] / every)
    system.shutdown(1.0)
    provider.shutdown()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evaluations", type=int, default=50)
    parser.add_argument("--sizes", default="100,10000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as directory, redis_server() as redis_url:
        for size in sizes:
            for name in ("sqlite", "redis"):
                if name == "sqlite":
                    location = os.path.join(directory, f"state-{size}.db")
                else:
                    location = redis_url
                    subprocess.run(
                        ["redis-cli", "-u", redis_url, "FLUSHALL"], check=True, capture_output=True, timeout=10
                    )
                for case, (cpu, wall) in measure(location, size, args.evaluations).items():
                    share = cpu / 1000 * 100
                    rows.append(
                        [
                            name,
                            f"{size:,}",
                            case,
                            f"{cpu:.2f}",
                            f"{wall:.2f}",
                            f"{share:.2f} %",
                            "met" if share <= 1 else "MISSED",
                        ]
                    )
    print(f"State store cost per evaluation, medians of {args.evaluations} evaluations ({machine()})\n")
    print(
        table(
            ["store", "firing alerts", "case", "CPU ms", "wall ms", "share of a core at 1 s", "budget ≤ 1 %"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
