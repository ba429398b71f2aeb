"""What the Redis cache instrumentation adds to a cache operation.

Two measurements:

1. **Real GETs** against a redis-server this script starts on a free loopback port.
   Variants, switched between blocks in a new random order each round:

   * ``bare``: redis-py as shipped;
   * ``contrib``: opentelemetry-instrumentation-redis, spans sampled and ended into the
     SDK pipeline ``opentelemetry-instrument`` sets up (``BatchSpanProcessor``) with an
     exporter that drops them: an instrumented GET minus the export itself, so the
     share of it we report is an upper bound;
   * ``contrib+ours``: the same plus ``RedisCacheInstrumentor`` (counts + span attribute);
   * ``contrib+ours-noattr``: the same with ``OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES=false``
     (counts only);
   * ``ours``: ``RedisCacheInstrumentor`` alone.

   Each block is ``--gets`` GETs alternating a hit and a miss; a variant's figure is the
   median over rounds of its per-GET time. The added cost is the median over rounds of
   the paired difference of two variants in the same round, which cancels most drift.

2. **Isolated hot path**: the same client calls, with the network replaced by a
   function returning the reply (a ``Redis`` subclass overriding ``_execute_command``),
   so the plugin's few hundred nanoseconds are not lost in the noise of a loopback
   round trip (several µs between blocks). Same variants, same interleaving. Python code
   runs faster here than inside real GETs, where the socket and the kernel evict it
   from the CPU caches between two calls: read this as the floor, the first as the figure.

    python benchmarks/bench_cache_hot_path.py [--rounds 200] [--gets 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis
import wrapt
from _common import machine as common_machine
from _common import table
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from otel_alerting.instrumentation._redis_commands import RedisCacheConfig
from otel_alerting.instrumentation.cache import CacheMetrics
from otel_alerting.instrumentation.redis_cache import RedisCacheInstrumentor, _Recorder

VARIANTS = ("bare", "contrib", "contrib+ours", "contrib+ours-noattr", "ours")
TARGET_US = 1.0
TARGET_SHARE = 0.02


def machine() -> str:
    return f"{common_machine()}, redis-py {redis.__version__}"


class Server:
    def __init__(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            sys.exit("redis-server is not installed")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._dir = tempfile.TemporaryDirectory(prefix="bench-redis-")
        self.process = subprocess.Popen(
            [
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir.name,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        probe = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                probe.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    sys.exit("redis-server did not start")
                time.sleep(0.02)
        probe.close()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        self._dir.cleanup()


class _Drop(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class Instrumentation:
    """The four variants of ``redis.Redis.execute_command``, built once and switched by
    assignment between blocks.

    Instrumenting and uninstrumenting per block would also re-resolve each client's
    slots every block (once per client in a real process) and leave the caches cold in a
    way no application sees; switching the class attribute keeps each variant exactly
    as ``instrument()`` built it.
    """

    def __init__(self) -> None:
        self.tracer_provider = TracerProvider()  # always-on sampler
        # Exported (dropped) every 100 ms, in a queue that never fills: with the defaults
        # (5 s, 2048 spans) most spans of a tight loop would be dropped at the door, which
        # is cheaper than what an application pays.
        processor = BatchSpanProcessor(
            _Drop(), max_queue_size=1 << 16, schedule_delay_millis=100, max_export_batch_size=4096
        )
        self.tracer_provider.add_span_processor(processor)
        self.meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        self.metrics = CacheMetrics(self.meter_provider)
        self.contrib = RedisInstrumentor()
        self.ours = RedisCacheInstrumentor()
        bare = redis.Redis.__dict__["execute_command"]
        self.ours.instrument(cache_metrics=self.metrics, config=RedisCacheConfig(span_attributes=True))
        ours = redis.Redis.__dict__["execute_command"]
        self.contrib.instrument(tracer_provider=self.tracer_provider)
        both = redis.Redis.__dict__["execute_command"]  # contrib's wrapper around ours
        contrib = wrapt.FunctionWrapper(bare, both._self_wrapper)  # the same wrapper around redis-py
        # instrument() builds one recorder at a time: the span-attribute-less one is built
        # the way instrument() builds it, from its configuration.
        counts_only = _Recorder(self.metrics, RedisCacheConfig(span_attributes=False)).command(bare)
        noattr = wrapt.FunctionWrapper(counts_only, both._self_wrapper)
        self.variants = {
            "bare": bare,
            "contrib": contrib,
            "contrib+ours": both,
            "contrib+ours-noattr": noattr,
            "ours": ours,
        }

    def set(self, variant: str) -> None:
        redis.Redis.execute_command = self.variants[variant]

    def close(self) -> None:
        self.set("contrib+ours")
        self.contrib.uninstrument()
        self.ours.uninstrument()
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def run_block(client: redis.Redis, gets: int) -> float:
    """Per-GET µs of one block, alternating a hit and a miss."""
    get = client.get
    keys = ("hit", "miss") * (gets // 2)
    start = time.perf_counter()
    for key in keys:
        get(key)
    return (time.perf_counter() - start) / len(keys) * 1e6


def measure(
    client: redis.Redis, instrumentation: Instrumentation, rounds: int, gets: int, progress: Callable[[int], None]
) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
    order = list(VARIANTS)
    for variant in VARIANTS:  # warm every path once
        instrumentation.set(variant)
        run_block(client, gets)
    for n in range(rounds):
        random.shuffle(order)
        for variant in order:
            instrumentation.set(variant)
            gc.collect()
            samples[variant].append(run_block(client, gets))
        progress(n)
    return samples


class _Local(redis.Redis):
    """A client whose round trip is a function call: only the Python above the socket runs."""

    def _execute_command(self, *args: Any, **options: Any) -> Any:
        return b"v" if args[1] == "hit" else None


def summarize(samples: dict[str, list[float]]) -> dict[str, Any]:
    def paired(a: str, b: str) -> list[float]:
        return [x - y for x, y in zip(samples[a], samples[b])]

    medians = {v: statistics.median(samples[v]) for v in VARIANTS}
    with_contrib = paired("contrib+ours", "contrib")
    noattr = paired("contrib+ours-noattr", "contrib")
    alone = paired("ours", "bare")

    def spread(diffs: list[float]) -> str:
        q = statistics.quantiles(diffs, n=4)
        return f"{q[0]:+.2f} .. {q[2]:+.2f}"

    return {
        "median_us": medians,
        "ours_with_contrib_us": statistics.median(with_contrib),
        "ours_with_contrib_iqr": spread(with_contrib),
        "ours_noattr_us": statistics.median(noattr),
        "ours_noattr_iqr": spread(noattr),
        "ours_alone_us": statistics.median(alone),
        "ours_alone_iqr": spread(alone),
        "contrib_us": statistics.median(paired("contrib", "bare")),
    }


def report(title: str, summary: dict[str, Any], reference: dict[str, float]) -> str:
    """``reference``: the real GET medians; shares are of an instrumented GET (``contrib``),
    as the target is worded, and of a bare one for the plugin alone."""
    med = summary["median_us"]
    rows = [(v, f"{med[v]:.2f}") for v in VARIANTS]
    added_rows = []
    for label, key in (
        ("with contrib, span attribute (contrib+ours - contrib)", "ours_with_contrib"),
        ("with contrib, no span attribute (contrib+ours-noattr - contrib)", "ours_noattr"),
        ("alone (ours - bare)", "ours_alone"),
    ):
        added = summary[f"{key}_us"]
        share = added / reference["contrib"]
        ok = added <= TARGET_US or share <= TARGET_SHARE
        of_bare = f" ({added / reference['bare']:+.2%} of a bare GET)" if key == "ours_alone" else ""
        added_rows.append(
            (label, f"{added:+.2f}", summary[f"{key}_iqr"], f"{share:+.2%}{of_bare}", "met" if ok else "MISSED")
        )
    headers = ("added by ours", "µs (median of paired rounds)", "IQR µs", "% of an instrumented GET", "target")
    lines = [
        f"### {title}",
        "",
        table(("variant", "µs per GET (median of rounds)"), rows),
        "",
        table(headers, added_rows),
        "",
        f"opentelemetry-instrumentation-redis itself adds {summary['contrib_us']:+.2f} µs per GET "
        f"(median of paired rounds). Target: at most {TARGET_US:g} µs per cache operation, or at most "
        f"{TARGET_SHARE:.0%} of an instrumented GET (the real one: {reference['contrib']:.2f} µs).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="blocks per variant (real GETs)")
    parser.add_argument("--gets", type=int, default=200, help="GETs per block")
    parser.add_argument("--local-rounds", type=int, default=200, help="blocks per variant (isolated hot path)")
    parser.add_argument("--local-gets", type=int, default=5000, help="calls per block (isolated hot path)")
    parser.add_argument("--json", help="also write the raw summary here")
    args = parser.parse_args()

    instrumentation = Instrumentation()
    server = Server()
    results: dict[str, Any] = {"machine": machine(), "command": " ".join([os.path.basename(sys.executable), *sys.argv])}
    try:
        client = redis.Redis(port=server.port)
        client.set("hit", "v")

        def dots(n: int) -> None:
            if n % 20 == 19:
                print(".", end="", file=sys.stderr, flush=True)

        real = measure(client, instrumentation, args.rounds, args.gets, dots)
        client.close()
        local = measure(_Local(port=server.port), instrumentation, args.local_rounds, args.local_gets, dots)
        print(file=sys.stderr)
    finally:
        instrumentation.close()
        server.stop()
    results["real"] = summarize(real)
    results["local"] = summarize(local)
    print(f"Machine: {results['machine']}\n")
    reference = results["real"]["median_us"]
    print(
        report(
            f"Real GETs on loopback ({args.rounds} rounds x {args.gets} GETs per variant)", results["real"], reference
        )
    )
    print()
    print(
        report(
            f"Isolated hot path, no I/O ({args.local_rounds} rounds x {args.local_gets} calls per variant)",
            results["local"],
            reference,
        )
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
