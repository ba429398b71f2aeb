"""Notification latency, side by side: the plugin in process, and Prometheus with
Alertmanager running the exported rule, on one workload.

Each run starts fresh processes (tests/e2e/prometheus_stack.py): two webhook receivers,
Alertmanager, the app (``tests/e2e/apps/health_app.py``: the gauge ``app.level`` under
``opentelemetry-instrument`` with ``OTEL_METRICS_EXPORTER=prometheus,otel_alerting``)
and Prometheus scraping it. The rule has one level, CRITICAL, so that the plugin's route
adds no group wait (HIGH would add its 2 s):

    LevelCritical: value of app.level above {critical: 10}

Once Prometheus has scraped the gauge, the run waits a random phase, sets the level to
15 and stamps; both webhooks' FIRING arrivals are stamped by the receiver. Then another
random phase, the level back to 0, and the RESOLVED arrivals. Latency = arrival - stamp.
The phases are stratified over the longest interval of the setting ((k + u) / n of it,
u uniform in [0, 1), k shuffled) so that a few runs cover it evenly.

Settings (the plugin's interval; Prometheus's scrape and evaluation intervals;
Alertmanager's group_wait and group_interval; "default": left out of the file):

- matched-1s: 1 s; 1 s, 1 s; 0 s, 1 s
- matched-5s: 5 s; 5 s, 5 s; 0 s, 5 s
- common: the plugin's default (1 s); 15 s, 15 s; 30 s, default (5 m)
- defaults: the plugin's default (1 s); default (1 m), default (1 m); default (30 s), default (5 m)

The settings run side by side (one thread each; the runs of a setting one after the
other): waiting dominates, not CPU.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_prometheus_latency.py [--runs 5] [--slow-runs N]
        [--settings matched-1s,matched-5s,common,defaults] [--quick]

``--quick``: matched-1s and matched-5s only, 3 runs (about 3 minutes). A run under
``common`` or ``defaults`` takes 6 to 9 minutes (Alertmanager's 5 m group_interval
delays the RESOLVED).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the stack lives with the end-to-end tests
    sys.path.insert(0, str(ROOT))

from _common import machine, median, table  # noqa: E402

from otel_alerting.durations import parse_duration  # noqa: E402
from tests.e2e.prometheus_stack import Settings, Stack, alerts_in, prometheus_stack  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402

RULES = """\
rules:
  - alert: LevelCritical
    expr: {value: {metric: app.level}}
    above: {critical: 10}
"""
SETTINGS = {
    s.name: s
    for s in (
        Settings("matched-1s", 1000, "1s", "1s", "0s", "1s"),
        Settings("matched-5s", 5000, "5s", "5s", "0s", "5s"),
        Settings("common", None, "15s", "15s", "30s", None),
        Settings("defaults", None, None, None, None, None),
    )
}
#: the settings whose runs take minutes
SLOW = frozenset({"common", "defaults"})
#: the shipped defaults left out of the files (for the phases and the time limits)
DEFAULT_PLUGIN_S, DEFAULT_PROMETHEUS_S, DEFAULT_GROUP_WAIT_S, DEFAULT_GROUP_INTERVAL_S = 1.0, 60.0, 30.0, 300.0


@dataclass
class Result:
    settings: Settings
    #: side -> "fire"/"resolve" -> seconds, one per run
    times: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {side: {"fire": [], "resolve": []} for side in ("plugin", "prometheus")}
    )
    errors: list[str] = field(default_factory=list)


def _s(value: str | None, default: float) -> float:
    return default if value is None else parse_duration(value)


def _spans(settings: Settings) -> tuple[float, float, float]:
    """(the phase span, the time limit to fire, the time limit to resolve)."""
    plugin = DEFAULT_PLUGIN_S if settings.plugin_interval_ms is None else settings.plugin_interval_ms / 1000
    scrape = _s(settings.scrape_interval, DEFAULT_PROMETHEUS_S)
    evaluation = _s(settings.evaluation_interval, DEFAULT_PROMETHEUS_S)
    wait = _s(settings.group_wait, DEFAULT_GROUP_WAIT_S)
    interval = _s(settings.group_interval, DEFAULT_GROUP_INTERVAL_S)
    span = max(plugin, scrape, evaluation)
    return span, 2 * (scrape + evaluation) + wait + 30, 2 * (scrape + evaluation) + interval + 60


def _arrival(stack: Stack, side: str, status: str, after: float) -> float | None:
    hook = stack.plugin_hook if side == "plugin" else stack.am_hook
    found = [at for st, _, at in alerts_in(hook.requests, "LevelCritical") if st == status and at >= after]
    return min(found) if found else None


def _wait_arrival(stack: Stack, side: str, status: str, after: float, limit: float) -> float:
    wait_until(lambda: _arrival(stack, side, status, after), f"{side} {status.upper()}", limit, seen=stack.logs)
    return _arrival(stack, side, status, after) or after


def one_run(settings: Settings, rise: float, fall: float, directory: Path) -> dict[str, dict[str, float]]:
    span, fire_limit, resolve_limit = _spans(settings)
    out: dict[str, dict[str, float]] = {"plugin": {}, "prometheus": {}}
    with prometheus_stack(directory, RULES, settings) as stack:
        wait_until(lambda: stack.query('app_level{job="app"}'), "the first scrape", 3 * span + 60, seen=stack.logs)
        time.sleep(rise * span)  # the random phase of the crossing
        crossed = time.monotonic()
        stack.set_level(15)
        for side in out:
            out[side]["fire"] = _wait_arrival(stack, side, "firing", crossed, fire_limit) - crossed
        time.sleep(fall * span)  # the random phase of the clearing
        cleared = time.monotonic()
        stack.set_level(0)
        for side in out:
            out[side]["resolve"] = _wait_arrival(stack, side, "resolved", cleared, resolve_limit) - cleared
    return out


def run_setting(settings: Settings, runs: int, result: Result, base: Path) -> None:
    rises = [(k + random.random()) / runs for k in range(runs)]
    falls = [(k + random.random()) / runs for k in range(runs)]
    random.shuffle(rises)
    random.shuffle(falls)
    for n in range(runs):
        try:
            times = one_run(settings, rises[n], falls[n], base / f"{settings.name}-{n}")
        except AssertionError as exc:
            result.errors.append(f"run {n + 1}: {str(exc)[:300]}")
            # the whole message: it ends with the tails of Prometheus's and Alertmanager's logs
            print(f"{settings.name} run {n + 1}/{runs} failed: {exc}", file=sys.stderr, flush=True)
            continue
        for side, phases in times.items():
            for phase, seconds in phases.items():
                result.times[side][phase].append(seconds)
        print(f"{settings.name} run {n + 1}/{runs}: {json.dumps(times)}", file=sys.stderr, flush=True)


def _cell(values: list[float]) -> tuple[str, str]:
    if not values:
        return "-", "-"
    return f"{median(values):.2f}", f"{min(values):.2f} .. {max(values):.2f}"


def _describe(settings: Settings) -> tuple[str, str]:
    def given(value: str | None, default: str) -> str:
        return value if value is not None else f"{default} (default)"

    plugin = given(None if settings.plugin_interval_ms is None else f"{settings.plugin_interval_ms / 1000:g}s", "1s")
    prometheus = (
        f"scrape/evaluation {given(settings.scrape_interval, '1m')}/{given(settings.evaluation_interval, '1m')}, "
        f"group_wait/group_interval {given(settings.group_wait, '30s')}/{given(settings.group_interval, '5m')}"
    )
    return plugin, prometheus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per setting (fresh processes each)")
    parser.add_argument(
        "--settings", default=",".join(SETTINGS), help=f"a comma-separated subset of {', '.join(SETTINGS)}"
    )
    parser.add_argument("--slow-runs", type=int, help="runs for common and defaults (default: --runs)")
    parser.add_argument("--quick", action="store_true", help="matched-1s and matched-5s only, 3 runs")
    args = parser.parse_args()
    names = ["matched-1s", "matched-5s"] if args.quick else [n.strip() for n in args.settings.split(",") if n.strip()]
    runs = 3 if args.quick else args.runs
    slow_runs = args.slow_runs if args.slow_runs is not None else runs
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        parser.error(f"unknown settings {unknown}: expected some of {', '.join(SETTINGS)}")
    results = [Result(SETTINGS[name]) for name in names]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-prometheus-") as base:
        threads = [
            threading.Thread(
                target=run_setting,
                args=(r.settings, slow_runs if r.settings.name in SLOW else runs, r, Path(base)),
                name=r.settings.name,
            )
            for r in results
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    rows = []
    for result in results:
        plugin_desc, prometheus_desc = _describe(result.settings)
        for side, desc in (
            ("plugin", f"plugin, interval {plugin_desc}"),
            ("prometheus", f"Prometheus + Alertmanager, {prometheus_desc}"),
        ):
            fire, fire_range = _cell(result.times[side]["fire"])
            resolve, resolve_range = _cell(result.times[side]["resolve"])
            count = len(result.times[side]["fire"])
            rows.append([result.settings.name, desc, fire, fire_range, resolve, resolve_range, count])
    print(machine())
    print(f"{runs} run(s) per matched setting, {slow_runs} per slow one, {time.monotonic() - started:.0f} s in all")
    print()
    print(
        table(
            ["setting", "path", "to FIRING s (median)", "range", "to RESOLVED s (median)", "range", "runs"],
            rows,
        )
    )
    failed = [f"{r.settings.name}: {e}" for r in results for e in r.errors]
    for line in failed:
        print(f"failed: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
