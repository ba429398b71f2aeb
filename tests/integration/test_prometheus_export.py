"""The export checked by Prometheus's own tools: ``promtool check rules``,
``amtool check-config`` and ``promtool test rules`` against the in-process engine.

The binaries are Debian's ``prometheus`` and ``prometheus-alertmanager`` (scripts/bootstrap);
a missing one fails these tests, it never skips them.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_alerting.rules.prometheus_names import label_name
from otel_alerting.testing import RuleTester

ALL_KINDS = """\
rules:
  - alert: QueueBacklog
    expr:
      value: {metric: app.queue.depth, match: {queue: [ingest, "a.b"]}, reduce: max}
      by: [queue]
    above: {medium: 100, high: 500, critical: 1000}
    for: 30s
    keep_firing_for: 1m
    recovery: 80
    labels: {team: platform}
    annotations:
      summary: "Queue {labels[queue]} holds {value:.0f} items (threshold {threshold:g}, {severity})"
      description: "{alert} is {state}: {expr} {{literal}}"
  - alert: ErrorRate
    expr:
      rate: {metric: app.errors, match: {kind: timeout}}
      window: 5m
    above: {high: 2}
    no_data: resolve
  - alert: SlowRequests
    expr:
      rate: {metric: http.server.request.duration, quantile: 0.9}
      window: 10m
      by: [http.route]
    above: {medium: 0.5, high: 1.5}
  - alert: RequestCount
    expr:
      rate: {metric: http.server.request.duration, field: count}
      window: 1m
    below: {low: 1}
  - alert: CacheHitRateLow
    expr:
      ratio:
        numerator: {metric: cache.requests, match: {result: hit}}
        denominator: {metric: cache.requests}
        min_denominator: 20
      window: 10m
      by: [db.namespace]
    below: {medium: 0.5, high: 0.3}
  - alert: HitRatioNoFloor
    expr:
      ratio:
        numerator: {metric: cache.requests, match: {result: hit}}
        denominator: {metric: cache.requests}
      window: 5m
    below: {high: 0.1}
  - alert: LatencyNow
    expr:
      value: {metric: http.server.request.duration, quantile: 0.99}
    above: {high: 2}
  - alert: Heartbeat
    expr:
      absent: {metric: app.heartbeat}
      by: [worker]
    above: {high: 300, critical: 900}
  - alert: CounterSilent
    expr:
      absent: {metric: app.jobs}
    above: {high: 600}
"""


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"{names[0]} is not installed: run ./scripts/bootstrap (apt prometheus, prometheus-alertmanager)")


def _export(tmp_path: Path, fmt: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "otel_alerting.cli", "rules", "export", "--format", fmt, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _run(argv: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=False, cwd=cwd)


@pytest.fixture
def all_kinds(tmp_path: Path) -> Path:
    path = tmp_path / "all.yaml"
    path.write_text(ALL_KINDS)
    return path


@pytest.mark.parametrize(
    ("files", "extra"),
    [((), ()), (("all",), ()), (("all",), ("--by", "job,instance"))],
    ids=["built-in", "every-kind", "every-kind-by-instance"],
)
def test_promtool_checks_the_rules(
    tmp_path: Path, all_kinds: Path, files: tuple[str, ...], extra: tuple[str, ...]
) -> None:
    promtool = _binary("promtool")
    args = [*(arg for _ in files for arg in ("--rules", str(all_kinds))), *extra]
    out = tmp_path / "rules.yml"
    out.write_text(_export(tmp_path, "prometheus", *args, "--selector", 'job="api"'))
    done = _run([promtool, "check", "rules", str(out)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("files", "extra"),
    [((), ()), (("all",), ()), (("all",), ("--by", "job,instance"))],
    ids=["built-in", "every-kind", "every-kind-by-instance"],
)
def test_amtool_checks_the_config(
    tmp_path: Path, all_kinds: Path, files: tuple[str, ...], extra: tuple[str, ...]
) -> None:
    amtool = _binary("amtool")
    args = [*(arg for _ in files for arg in ("--rules", str(all_kinds))), *extra]
    out = tmp_path / "alertmanager.yml"
    out.write_text(_export(tmp_path, "alertmanager", *args))
    done = _run([amtool, "check-config", str(out)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


# --- the severities fire where the engine fires them ---------------------------------
#
# A scenario feeds the same data, minute by minute, to the engine (``RuleTester``) and to
# ``promtool test rules`` (input series). Prometheus fires every level whose condition
# holds (Alertmanager's inhibitions make the ladder), so each level is also run alone in
# the engine: promtool must fire, at each minute, exactly the levels that fire alone.

#: the labels of one alert group as the engine and as Prometheus write them
Group = dict[str, str]


@dataclass(frozen=True)
class Scenario:
    ladders: dict[str, dict[str, Any]]
    minutes: int
    #: the engine's measurements of one minute
    feed: Callable[[RuleTester, int], None]
    #: promtool's input series, one value per minute (``_`` for none)
    series: list[dict[str, str]]
    #: alert -> its groups (labels as the engine writes them)
    groups: dict[str, list[Group]]
    export_args: tuple[str, ...] = ()
    #: levels the data must reach (a scenario that never fires proves nothing)
    reaches: frozenset[str] = frozenset({"medium", "high", "critical"})


def _rules_file(path: Path, ladders: dict[str, dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"rules": [{"alert": name, **body} for name, body in ladders.items()]}))
    return path


def _engine_run(scenario: Scenario, rules: Path) -> dict[tuple[str, str, int], str | None]:
    """The severity each alert group fires at, minute by minute (None: not firing)."""
    fired: dict[tuple[str, str, int], str | None] = {}
    with RuleTester(rules, interval="1m") as tester:
        for minute in range(scenario.minutes):
            scenario.feed(tester, minute)
            tester.evaluate()
            for alert, groups in scenario.groups.items():
                for group in groups:
                    found = tester.find(alert, **group)
                    firing = found is not None and found.state.name == "FIRING" and found.severity is not None
                    key = (alert, _key(group), minute)
                    fired[key] = found.severity.name.lower() if firing and found and found.severity else None
            tester.clock.advance(60)
    return fired


def _key(group: Group) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(group.items()))


def _single_levels(scenario: Scenario, tmp_path: Path) -> dict[tuple[str, str, int], list[str]]:
    """Each level run alone in the engine: which levels fire at each minute."""
    levels: dict[tuple[str, str, int], list[str]] = {}
    for alert, body in scenario.ladders.items():
        direction = "above" if "above" in body else "below"
        for index, (level, threshold) in enumerate(body[direction].items()):
            single = {**body, direction: {level: threshold}}
            if index:  # hysteresis holds the lowest level only
                single.pop("recovery", None)
            path = _rules_file(tmp_path / f"{alert}-{level}.yaml", {alert: single})
            for key, severity in _engine_run(scenario, path).items():
                if key[0] == alert and severity is not None:
                    levels.setdefault(key, []).append(severity)
    return levels


def _promtool_agrees(scenario: Scenario, tmp_path: Path) -> None:
    promtool = _binary("promtool")
    ladder = _engine_run(scenario, _rules_file(tmp_path / "ladder.yaml", scenario.ladders))
    levels = _single_levels(scenario, tmp_path)
    order = ["low", "medium", "high", "critical"]
    for key, severity in ladder.items():  # the ladder fires its highest firing level
        highest = max(levels.get(key, []), key=order.index, default=None)
        assert severity == highest, key
    assert {s for s in ladder.values() if s} == scenario.reaches  # the data reaches every level

    rules = _export(tmp_path, "prometheus", "--rules", str(tmp_path / "ladder.yaml"), *scenario.export_args)
    (tmp_path / "rules.yml").write_text(rules)
    tests = []
    for alert, groups in scenario.groups.items():
        for minute in range(scenario.minutes):
            expected = [
                {"exp_labels": {**_prometheus_labels(group), "severity": level}}
                for group in groups
                for level in levels.get((alert, _key(group), minute), [])
            ]
            tests.append({"eval_time": f"{minute}m", "alertname": alert, "exp_alerts": expected})
    unit = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": scenario.series, "alert_rule_test": tests}],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(unit, sort_keys=False))
    done = _run([promtool, "test", "rules", "test.yml"], tmp_path)
    assert done.returncode == 0, textwrap.shorten(done.stdout + done.stderr, 4000)


def _prometheus_labels(group: Group) -> Group:
    # the placeholder group of an absence rule has empty labels: Prometheus has none
    return {label_name(k): v for k, v in group.items() if v}


def _values(values: Sequence[float | None]) -> str:
    return " ".join("_" if v is None else f"{v:g}" for v in values)


def _cumulative(per_minute: Sequence[float]) -> list[float]:
    out, total = [], 0.0
    for amount in per_minute:
        total += amount
        out.append(total)
    return out


# value, rate and below ladders

LADDERS: dict[str, dict[str, Any]] = {
    "Depth": {
        "expr": {"value": {"metric": "app.depth", "reduce": "max"}, "by": ["queue"]},
        "above": {"medium": 10, "high": 20, "critical": 40},
        "for": "2m",
    },
    "Errors": {"expr": {"rate": {"metric": "app.errors"}, "window": "5m"}, "above": {"medium": 1, "high": 3}},
    "Drops": {
        "expr": {"value": {"metric": "app.free", "reduce": "min"}},
        "below": {"high": 5, "critical": 2},
        "keep_firing_for": "3m",
    },
}
DEPTH = [0, 12, 12, 12, 25, 25, 25, 50, 50, 50, 50, 5, 5, 5, 30, 30, 30, 30, 0, 0, 0, 0, 0, 0]
ERRORS_PER_MINUTE = [0] * 4 + [120] * 8 + [300] * 6 + [0] * 6  # 2/s, then 5/s, then none
FREE = [9, 9, 4, 4, 1, 9, 9, 9, 9, 9, 9, 3, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]


def _feed_ladders(tester: RuleTester, minute: int) -> None:
    tester.gauge("app.depth", DEPTH[minute], queue="a")
    tester.gauge("app.free", FREE[minute])
    tester.add("app.errors", ERRORS_PER_MINUTE[minute])  # 0 too: the series exists from the start


VALUE_RATE_BELOW = Scenario(
    LADDERS,
    len(DEPTH),
    _feed_ladders,
    [
        {"series": 'app_depth{queue="a"}', "values": _values(DEPTH)},
        {"series": "app_errors_total", "values": _values(_cumulative(ERRORS_PER_MINUTE))},
        {"series": "app_free", "values": _values(FREE)},
    ],
    {"Depth": [{"queue": "a"}], "Errors": [{}], "Drops": [{}]},
)

# a ratio with min_denominator and hysteresis: requests per minute and hits among them

RATIO: dict[str, dict[str, Any]] = {
    "HitRate": {
        "expr": {
            "ratio": {
                "numerator": {"metric": "app.lookups", "match": {"result": "hit"}},
                "denominator": {"metric": "app.lookups"},
                "min_denominator": 20,
            },
            "window": "5m",
            "by": ["cache.name"],
        },
        "below": {"medium": 0.5, "high": 0.3},
        "recovery": 0.6,
        "for": "1m",
        "no_data": "resolve",  # Prometheus has no other: the export says so
    },
}
# 100 requests a minute; from minute 36, 2 a minute (10 in the window, under min_denominator)
LOOKUPS = [100] * 36 + [2] * 10
# 0.9 hits; 0.4 (medium); 0.2 (high); 0.55 (back over medium but not over recovery: held);
# 0.7 (over recovery: resolved); 0.4 (medium again); then too few requests: no data
HITS = [90] * 6 + [40] * 6 + [20] * 6 + [55] * 6 + [70] * 6 + [40] * 6 + [0] * 10


def _feed_ratio(tester: RuleTester, minute: int) -> None:
    for cache in ("a", "b"):  # cache b stays healthy: its alerts never fire
        hits = HITS[minute] if cache == "a" else LOOKUPS[minute]
        tester.count("app.lookups", hits, result="hit", **{"cache.name": cache})
        tester.count("app.lookups", LOOKUPS[minute] - hits, result="miss", **{"cache.name": cache})


def _ratio_series() -> list[dict[str, str]]:
    out = []
    for cache in ("a", "b"):
        hits = HITS if cache == "a" else LOOKUPS
        misses = [total - hit for total, hit in zip(LOOKUPS, hits, strict=True)]
        for result, counts in (("hit", hits), ("miss", misses)):
            name = f'app_lookups_total{{cache_name="{cache}", result="{result}"}}'
            out.append({"series": name, "values": _values(_cumulative(counts))})
    return out


RATIO_SCENARIO = Scenario(
    RATIO,
    len(HITS),
    _feed_ratio,
    _ratio_series(),
    {"HitRate": [{"cache.name": "a"}, {"cache.name": "b"}]},
    reaches=frozenset({"medium", "high"}),
)

# absence: a gauge per worker (worker b stops for 4 minutes, inside the 5m lookback) and
# a counter that stops increasing (it is still reported)

ABSENT: dict[str, dict[str, Any]] = {
    "Heartbeat": {
        "expr": {"absent": {"metric": "app.heartbeat"}, "by": ["worker"]},
        "above": {"high": 120, "critical": 240},
    },
    "JobsStalled": {"expr": {"absent": {"metric": "app.jobs"}}, "above": {"medium": 180, "high": 300}},
    "NoRequests": {"expr": {"absent": {"metric": "app.duration"}}, "above": {"critical": 240}},
}
ABSENT_MINUTES = 26
B_GONE = range(5, 9)  # worker b reports nothing in these minutes
JOBS = [5] * 4 + [0] * 12 + [5] * 10  # jobs per minute: none from minute 4 to 15
REQUESTS = [3] * 10 + [0] * 6 + [3] * 10  # observations of a histogram: none from minute 10 to 15


def _feed_absent(tester: RuleTester, minute: int) -> None:
    tester.gauge("app.heartbeat", minute, worker="a")
    tester.gauge("app.heartbeat", None if minute in B_GONE else minute, worker="b")
    tester.count("app.jobs", JOBS[minute])
    for _ in range(REQUESTS[minute]):
        tester.observe("app.duration", 0.1)


ABSENT_SCENARIO = Scenario(
    ABSENT,
    ABSENT_MINUTES,
    _feed_absent,
    [
        {"series": 'app_heartbeat{worker="a"}', "values": _values(range(ABSENT_MINUTES))},
        {
            "series": 'app_heartbeat{worker="b"}',
            "values": _values([None if m in B_GONE else m for m in range(ABSENT_MINUTES)]),
        },
        {"series": "app_jobs_total", "values": _values(_cumulative(JOBS))},
        {"series": "app_duration_count", "values": _values(_cumulative(REQUESTS))},
    ],
    {"Heartbeat": [{"worker": "a"}, {"worker": "b"}], "JobsStalled": [{}], "NoRequests": [{}]},
    # for a counter, new data is an increase; for a histogram, an increase of its count
    ("--metric", "app.jobs=counter", "--metric", "app.duration=histogram"),
    reaches=frozenset({"medium", "high", "critical"}),
)

# a latency quantile over a window, and one over the whole histogram (default buckets:
# 0, 5, 10, 25, 50, 75, 100, 250, ...)

QUANTILE: dict[str, dict[str, Any]] = {
    "SlowRecent": {
        "expr": {"rate": {"metric": "app.latency", "quantile": 0.9}, "window": "5m"},
        "above": {"medium": 20, "high": 100},
    },
    "SlowOverall": {"expr": {"value": {"metric": "app.latency", "quantile": 0.5}}, "above": {"medium": 8}},
}
BOUNDS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000]
# observations per minute: 10 at 3 ms always; 2 slow ones (40 ms, then 200 ms) for a while
LATENCY = [[3.0] * 10] * 5 + [[3.0] * 10 + [40.0, 40.0]] * 6 + [[3.0] * 10 + [200.0] * 3] * 6 + [[3.0] * 10] * 10
# the whole histogram's median passes 8 ms once slow ones are many
LATENCY += [[3.0] * 2 + [40.0] * 10] * 6


def _feed_quantile(tester: RuleTester, minute: int) -> None:
    for value in LATENCY[minute]:
        tester.observe("app.latency", value)


def _quantile_series() -> list[dict[str, str]]:
    counts = {bound: [0.0] * len(LATENCY) for bound in [*BOUNDS, math.inf]}
    for minute, values in enumerate(LATENCY):
        for bound in counts:
            counts[bound][minute] = sum(1 for v in values if v <= bound)
    out = []
    for bound, per_minute in counts.items():
        le = "+Inf" if bound == math.inf else f"{bound:g}"
        out.append({"series": f'app_latency_bucket{{le="{le}"}}', "values": _values(_cumulative(per_minute))})
    return out


QUANTILE_SCENARIO = Scenario(
    QUANTILE,
    len(LATENCY),
    _feed_quantile,
    _quantile_series(),
    {"SlowRecent": [{}], "SlowOverall": [{}]},
    reaches=frozenset({"medium", "high"}),
)


@pytest.mark.parametrize(
    "scenario",
    [VALUE_RATE_BELOW, RATIO_SCENARIO, ABSENT_SCENARIO, QUANTILE_SCENARIO],
    ids=["value-rate-below", "ratio-recovery", "absent", "quantile"],
)
def test_promtool_fires_the_severities_the_engine_fires(tmp_path: Path, scenario: Scenario) -> None:
    _promtool_agrees(scenario, tmp_path)


# --- a fleet: --by job,instance keeps per-process rules per process ---------------------

FLEET_RULES = """\
rules:
  - alert: Depth
    expr: {value: {metric: app.depth, reduce: max}, by: [queue]}
    above: {medium: 10, high: 20}
  - alert: HitRate
    expr:
      ratio: {numerator: {metric: app.lookups, match: {result: hit}}, denominator: {metric: app.lookups}}
      window: 2m
    below: {high: 0.5}
    recovery: 0.7
  - alert: Heartbeat
    expr: {absent: {metric: app.heartbeat}}
    above: {high: 120}
"""
FLEET = {"a": 'job="api", instance="a:8000"', "b": 'job="api", instance="b:8000"'}


def _fleet_series() -> list[dict[str, str]]:
    """Two processes; only a's queue grows, its hit rate falls and its heartbeat stops."""
    out = []
    for name, labels in FLEET.items():
        crossing = name == "a"
        depth = [5, 5, 15, 15, 25, 25, 5, 5] if crossing else [5] * 8
        hits = [10, 10, 2, 2, 2, 2, 10, 10] if crossing else [10] * 8
        beats = [0, 1, 2, None, None, None, None, None] if crossing else list(range(8))
        out.append({"series": f'app_depth{{queue="q", {labels}}}', "values": _values(depth)})
        out.append({"series": f'app_lookups_total{{result="hit", {labels}}}', "values": _values(_cumulative(hits))})
        misses = [10 - h for h in hits]
        out.append({"series": f'app_lookups_total{{result="miss", {labels}}}', "values": _values(_cumulative(misses))})
        out.append({"series": f"app_heartbeat{{{labels}}}", "values": _values(beats)})
    return out


def test_by_job_instance_fires_only_the_process_that_crosses(tmp_path: Path) -> None:
    promtool = _binary("promtool")
    (tmp_path / "fleet.yaml").write_text(FLEET_RULES)
    rules = _export(tmp_path, "prometheus", "--rules", str(tmp_path / "fleet.yaml"), "--by", "job,instance")
    (tmp_path / "rules.yml").write_text(rules)
    a = {"job": "api", "instance": "a:8000"}
    expected = {  # minute -> alert -> severities of process a (b never fires)
        0: {},
        2: {"Depth": ["medium"]},
        3: {"Depth": ["medium"], "HitRate": ["high"]},
        4: {"Depth": ["medium", "high"], "HitRate": ["high"], "Heartbeat": ["high"]},  # last beat at 2m
        5: {"Depth": ["medium", "high"], "HitRate": ["high"], "Heartbeat": ["high"]},
        6: {"Heartbeat": ["high"], "HitRate": ["high"]},  # 0.6 after 2m of 0.2: held above 0.5 by recovery 0.7
        7: {"Heartbeat": ["high"]},
    }
    tests = []
    for minute, alerts in expected.items():
        for alert, extra in (("Depth", {"queue": "q"}), ("HitRate", {}), ("Heartbeat", {})):
            exp = [{"exp_labels": {**a, **extra, "severity": level}} for level in alerts.get(alert, [])]
            tests.append({"eval_time": f"{minute}m", "alertname": alert, "exp_alerts": exp})
    unit = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": _fleet_series(), "alert_rule_test": tests}],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(unit, sort_keys=False))
    done = _run([promtool, "test", "rules", "test.yml"], tmp_path)
    assert done.returncode == 0, textwrap.shorten(done.stdout + done.stderr, 4000)


def test_by_job_instance_inhibits_within_one_process(tmp_path: Path) -> None:
    (tmp_path / "fleet.yaml").write_text(FLEET_RULES)
    config = yaml.safe_load(
        _export(tmp_path, "alertmanager", "--rules", str(tmp_path / "fleet.yaml"), "--by", "job,instance")
    )
    ladder = next(r for r in config["inhibit_rules"] if 'alertname="Depth"' in r["source_matchers"])
    assert ladder["equal"] == ["alertname", "queue", "job", "instance"]
    assert all({"job", "instance"} <= set(rule["equal"]) for rule in config["inhibit_rules"])


# --- the named format specs print what Prometheus's functions print ----------------------

#: one alert group per value; each fires at once, its annotation rendered with its value
SPEC_VALUES = {
    "big": 1234567.0,
    "huge": 5.5e21,
    "small": 0.000123,
    "ratio": 0.1234,
    "whole": 12.0,
    "zero": 0.0,
    "negative": -2500.0,
    "tiny": 3e-9,
}
SPEC_SUMMARY = "{value:humanize} | {value:humanizePercentage} | {value:go} | {threshold:humanize}"


def test_humanize_specs_render_in_promtool_as_in_the_engine(tmp_path: Path) -> None:
    promtool = _binary("promtool")
    body = {
        "alert": "Level",
        "expr": {"value": {"metric": "app.level"}, "by": ["case"]},
        "above": {"high": -1_000_000},
        "annotations": {"summary": SPEC_SUMMARY},
    }
    (tmp_path / "specs.yaml").write_text(yaml.safe_dump({"rules": [body]}))
    with RuleTester(tmp_path / "specs.yaml", interval="1m") as tester:
        for case, value in SPEC_VALUES.items():
            tester.gauge("app.level", value, case=case)
        fired = {n.labels["case"]: n.annotations["summary"] for n in tester.evaluate() if n.alert == "Level"}
    assert set(fired) == set(SPEC_VALUES)
    assert fired["big"] == "1.235M | 1.235e+08% | 1.234567e+06 | -1M"  # the engine's side, spelled out once

    rules = _export(tmp_path, "prometheus", "--rules", str(tmp_path / "specs.yaml"))
    assert "{{ humanize $value }}" in rules and "{{ humanizePercentage $value }}" in rules
    (tmp_path / "rules.yml").write_text(rules)
    expected = [
        {"exp_labels": {"case": case, "severity": "high"}, "exp_annotations": {"summary": summary}}
        for case, summary in fired.items()
    ]
    unit = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f'app_level{{case="{case}"}}', "values": repr(value)}
                    for case, value in SPEC_VALUES.items()
                ],
                "alert_rule_test": [{"eval_time": "0m", "alertname": "Level", "exp_alerts": expected}],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(unit, sort_keys=False))
    done = _run([promtool, "test", "rules", "test.yml"], tmp_path)
    assert done.returncode == 0, textwrap.shorten(done.stdout + done.stderr, 4000)
