"""A service under fault injection: it never imports otel_alerting; opentelemetry-instrument
brings the plugin in.

WORKERS threads serve "requests" in a loop until the file STOP_FILE exists. A request is
a Redis GET and SET through redis-py (the cache instrumentation's hot path) when
REDIS_URL is set, plus a little work; its latency is recorded under the phase named in
the file PHASE_FILE (read by a thread of its own every 50 ms, not by the requests).

Every exception a request raises is counted: those raised in the plugin's code
(``otel_alerting``) apart, as the plugin reaching into the application; the others
(a ``redis.ConnectionError`` while Redis is down) are the dependency's own.
Exceptions that end a thread (``threading.excepthook``) are counted too.

With FLAP_KEYS=n, an observable gauge ``app.flap`` reports n series (attribute ``key``)
that, while the file FLAP_FILE says ``on``, go between 0 and 1000 every half second
(each key out of step with the next): a rule on it makes a steady stream of FIRING and
RESOLVED notifications. ``off`` holds them all at 0.

At the end it prints one line ``app: report {json}``: per phase the request count and
latency percentiles, and the exception counts.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import threading
import time
import traceback
from pathlib import Path

stop_file = Path(os.environ["STOP_FILE"])
phase_file = Path(os.environ["PHASE_FILE"])
redis_url = os.environ.get("REDIS_URL")
workers = int(os.environ.get("WORKERS", "2"))

# SIGUSR1: every thread's stack on stderr, to see where one is stuck
faulthandler.register(signal.SIGUSR1, all_threads=True)

lock = threading.Lock()
latencies: dict[str, list[float]] = {}
plugin_exceptions: list[str] = []
dependency_errors: dict[str, int] = {}
thread_deaths: list[str] = []
phase = ["start"]


def from_plugin(exc: BaseException) -> bool:
    """Raised by the plugin's code, or of its types. A client's own error (a
    ``redis.ConnectionError``) passes through the instrumentation's wrapper on its way
    up: that is the dependency's exception, delivered as the client raised it."""
    frames = traceback.extract_tb(exc.__traceback__)
    raised_in_plugin = bool(frames) and "otel_alerting" in frames[-1].filename
    return raised_in_plugin or type(exc).__module__.startswith("otel_alerting")


def excepthook(args: threading.ExceptHookArgs) -> None:
    with lock:
        thread_deaths.append(f"{args.thread.name if args.thread else '?'}: {args.exc_type.__name__}")


threading.excepthook = excepthook


def follow_phase() -> None:
    while not stop_file.exists():
        try:
            phase[0] = phase_file.read_text().strip() or phase[0]
        except OSError:
            pass
        time.sleep(0.05)  # how often the test's phase is looked at


def serve(client: object) -> None:
    count = 0
    while not stop_file.exists():
        started = time.perf_counter()
        try:
            if client is not None:
                client.set(f"k{count % 50}", "v")  # type: ignore[attr-defined]
                client.get(f"k{count % 100}")  # type: ignore[attr-defined]
            sum(range(200))  # the request's own work
        except Exception as exc:  # every exception is what this app measures
            with lock:
                if from_plugin(exc):
                    plugin_exceptions.append("".join(traceback.format_exception(exc))[-2000:])
                else:
                    name = type(exc).__module__ + "." + type(exc).__qualname__
                    dependency_errors[name] = dependency_errors.get(name, 0) + 1
        elapsed = time.perf_counter() - started
        with lock:
            latencies.setdefault(phase[0], []).append(elapsed)
        count += 1
        time.sleep(0.002)  # the pace of incoming requests, the load under test


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


flap_keys = int(os.environ.get("FLAP_KEYS", "0"))
if flap_keys:
    from opentelemetry import metrics
    from opentelemetry.metrics import CallbackOptions, Observation

    flap_file = Path(os.environ["FLAP_FILE"])

    def flap(options: CallbackOptions) -> list[Observation]:
        try:
            on = flap_file.read_text().strip() == "on"
        except OSError:
            on = False
        tick = int(time.time() * 2)
        return [
            Observation(1000.0 if on and (tick + key) % 2 == 0 else 0.0, {"key": str(key)}) for key in range(flap_keys)
        ]

    metrics.get_meter("service_app").create_observable_gauge("app.flap", callbacks=[flap])

client = None
if redis_url:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)

threading.Thread(target=follow_phase, name="phase", daemon=True).start()
threads = [threading.Thread(target=serve, args=(client,), name=f"worker-{i}") for i in range(workers)]
for thread in threads:
    thread.start()
print("app: serving", flush=True)
for thread in threads:
    thread.join()
with lock:
    phases = {
        name: {
            "requests": len(values),
            "p50": percentile(values, 0.50),
            "p99": percentile(values, 0.99),
            "max": max(values),
        }
        for name, values in latencies.items()
        if values
    }
    report = {
        "phases": phases,
        "plugin_exceptions": plugin_exceptions,
        "dependency_errors": dependency_errors,
        "thread_deaths": thread_deaths,
    }
print("app: report " + json.dumps(report), flush=True)
