"""The export checked by Prometheus's own tools: ``promtool check rules``,
``amtool check-config`` and ``promtool test rules`` against the in-process engine.

The binaries are Debian's ``prometheus`` and ``prometheus-alertmanager`` (scripts/bootstrap);
a missing one fails these tests, it never skips them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

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


@pytest.mark.parametrize("files", [(), ("all",)], ids=["built-in", "every-kind"])
def test_promtool_checks_the_rules(tmp_path: Path, all_kinds: Path, files: tuple[str, ...]) -> None:
    promtool = _binary("promtool")
    args = [arg for _ in files for arg in ("--rules", str(all_kinds))]
    out = tmp_path / "rules.yml"
    out.write_text(_export(tmp_path, "prometheus", *args, "--selector", 'job="api"'))
    done = _run([promtool, "check", "rules", str(out)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("files", [(), ("all",)], ids=["built-in", "every-kind"])
def test_amtool_checks_the_config(tmp_path: Path, all_kinds: Path, files: tuple[str, ...]) -> None:
    amtool = _binary("amtool")
    args = [arg for _ in files for arg in ("--rules", str(all_kinds))]
    out = tmp_path / "alertmanager.yml"
    out.write_text(_export(tmp_path, "alertmanager", *args))
    done = _run([amtool, "check-config", str(out)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


# --- the severities fire where the engine fires them ---------------------------------

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
MINUTES = 24
DEPTH = [0, 12, 12, 12, 25, 25, 25, 50, 50, 50, 50, 5, 5, 5, 30, 30, 30, 30, 0, 0, 0, 0, 0, 0]
ERRORS_PER_MINUTE = [0] * 4 + [120] * 8 + [300] * 6 + [0] * 6  # 2/s, then 5/s, then none
FREE = [9, 9, 4, 4, 1, 9, 9, 9, 9, 9, 9, 3, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]


def _rules_file(path: Path, ladders: dict[str, dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"rules": [{"alert": name, **body} for name, body in ladders.items()]}))
    return path


def _engine_run(rules: Path) -> dict[tuple[str, int], str | None]:
    """The severity each alert fires at, minute by minute (None: not firing)."""
    fired: dict[tuple[str, int], str | None] = {}
    with RuleTester(rules, interval="1m") as tester:
        for minute in range(MINUTES):
            tester.gauge("app.depth", DEPTH[minute], queue="a")
            tester.gauge("app.free", FREE[minute])
            tester.add("app.errors", ERRORS_PER_MINUTE[minute])  # 0 too: the series exists from the start
            tester.evaluate()
            for alert in LADDERS:
                found = tester.find(alert)
                firing = found is not None and found.state.name == "FIRING" and found.severity is not None
                fired[(alert, minute)] = found.severity.name.lower() if firing and found and found.severity else None
            tester.clock.advance(60)
    return fired


def _single_levels(tmp_path: Path) -> dict[tuple[str, int], list[str]]:
    """Each level run alone in the engine: which levels fire at each minute."""
    levels: dict[tuple[str, int], list[str]] = {}
    for alert, body in LADDERS.items():
        direction = "above" if "above" in body else "below"
        for level, threshold in body[direction].items():
            single = {**body, direction: {level: threshold}}
            path = _rules_file(tmp_path / f"{alert}-{level}.yaml", {alert: single})
            for (name, minute), severity in _engine_run(path).items():
                if name == alert and severity is not None:
                    levels.setdefault((alert, minute), []).append(severity)
    return levels


def _series() -> list[dict[str, str]]:
    errors, total = [], 0
    for per_minute in ERRORS_PER_MINUTE:
        total += per_minute
        errors.append(str(total))
    return [
        {"series": 'app_depth{queue="a"}', "values": " ".join(str(v) for v in DEPTH)},
        {"series": "app_errors_total", "values": " ".join(errors)},
        {"series": "app_free", "values": " ".join(str(v) for v in FREE)},
    ]


def _labels(alert: str) -> dict[str, str]:
    return {"queue": "a"} if alert == "Depth" else {}


def test_promtool_fires_the_severities_the_engine_fires(tmp_path: Path) -> None:
    promtool = _binary("promtool")
    ladder = _engine_run(_rules_file(tmp_path / "ladder.yaml", LADDERS))
    levels = _single_levels(tmp_path)
    order = ["low", "medium", "high", "critical"]
    for key, severity in ladder.items():  # the ladder fires its highest firing level
        highest = max(levels.get(key, []), key=order.index, default=None)
        assert severity == highest, key
    assert {s for s in ladder.values() if s} == {"medium", "high", "critical"}  # the data reaches every level

    (tmp_path / "rules.yml").write_text(_export(tmp_path, "prometheus", "--rules", str(tmp_path / "ladder.yaml")))
    tests = [
        {
            "eval_time": f"{minute}m",
            "alertname": alert,
            "exp_alerts": [
                {"exp_labels": {**_labels(alert), "severity": level}} for level in levels.get((alert, minute), [])
            ],
        }
        for alert in LADDERS
        for minute in range(MINUTES)
    ]
    unit = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": _series(), "alert_rule_test": tests}],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(unit, sort_keys=False))
    done = _run([promtool, "test", "rules", "test.yml"], tmp_path)
    assert done.returncode == 0, textwrap.shorten(done.stdout + done.stderr, 4000)
