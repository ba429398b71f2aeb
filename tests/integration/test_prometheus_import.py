"""A Prometheus rule file imported, run in the engine, exported again, and both files
run through ``promtool test rules`` on the same series with the same alerts expected.

The expected alerts come from the engine: each level of the original file is imported
alone and run through ``RuleTester`` minute by minute (Prometheus fires every level on
its own; the engine's ladder fires the highest, checked too). ``promtool`` then confirms
that the original file fires exactly those alerts at exactly those minutes, and that the
file exported from the imported rules does the same. promtool is Debian's ``prometheus``
package (scripts/bootstrap): a missing one fails these tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_alerting import environment_variables as ev
from otel_alerting.rules.template import ALLOWED_NAMES, render
from otel_alerting.testing import RuleTester

#: the application's metrics, as the import and the export are told them
METRICS = {
    "app.queue.depth": "gauge",
    "app.requests": "counter",
    "app.latency": "histogram:ms",
    "app.worker.busy": "gauge",
}
#: per alert and minute, the levels firing (the severity label) and their annotations
Fired = dict[tuple[str, int], list[tuple[str, dict[str, str]]]]
ENVIRON = {ev.OTEL_PYTHON_ALERTING_PROMETHEUS_METRICS: ",".join(f"{k}={v}" for k, v in METRICS.items())}

SUMMARY = 'Queue {{ $labels.queue }} holds {{ printf "%.0f" $value }} items'
#: Prometheus's formatting functions, both spellings (the import reads each as a named spec)
DEPTH_NOTE = "{{ $value | humanize }} items, {{ humanizePercentage $value }} of one"
BURST_NOTE = "{{ humanize $value }} errors a second ({{ $value | humanizePercentage }})"
ERRORS = 'sum by (http_route) (rate(app_requests_total{status=~"5.."}[5m]))'
ALL = "sum by (http_route) (rate(app_requests_total[5m]))"
P90 = "histogram_quantile(0.9, sum by (le) (rate(app_latency_milliseconds_bucket[5m])))"

# A rule file as teams write them: warning and critical levels of one alert, `>` and `>=`.
ORIGINAL = f"""\
groups:
- name: app
  interval: 1m
  rules:
  - alert: QueueBacklog
    expr: max by (queue) (app_queue_depth{{queue!~"test.*"}}) >= 100
    for: 2m
    labels: {{severity: warning, team: platform}}
    annotations: {{summary: '{SUMMARY}', description: '{DEPTH_NOTE}'}}
  - alert: QueueBacklog
    expr: max by (queue) (app_queue_depth{{queue!~"test.*"}}) >= 500
    for: 2m
    labels: {{severity: critical, team: platform}}
    annotations: {{summary: '{SUMMARY}', description: '{DEPTH_NOTE}'}}
  - alert: ErrorBurst
    expr: {ERRORS} > 1
    labels: {{severity: warning}}
    annotations: {{description: '{BURST_NOTE}'}}
  - alert: ErrorBurst
    expr: {ERRORS} > 3
    labels: {{severity: critical}}
    annotations: {{description: '{BURST_NOTE}'}}
  - alert: ErrorRatio
    expr: {ERRORS} / {ALL} > 0.1
    keep_firing_for: 2m
    labels: {{severity: warning}}
    annotations: {{summary: 'Route {{{{ $labels.http_route }}}} fails'}}
  - alert: ErrorRatio
    expr: {ERRORS} / {ALL} > 0.4
    keep_firing_for: 2m
    labels: {{severity: critical}}
    annotations: {{summary: 'Route {{{{ $labels.http_route }}}} fails'}}
- name: latency
  rules:
  - alert: SlowRequests
    expr: {P90} > 200
    labels: {{severity: warning}}
  - alert: SlowRequests
    expr: {P90} > 600
    labels: {{severity: page}}
  - alert: TrafficSpike
    expr: sum(increase(app_requests_total{{http_route="/b"}}[10m])) > 10000
    labels: {{severity: info}}
  - alert: FewWorkers
    expr: count(app_worker_busy) <= 1
    labels: {{severity: error}}
"""

MINUTES = 32
DEPTH = [0, 120, 120, 120, 120, 600, 600, 600, 600, 50, 50, 300, 300, 300, 0] + [0] * 17
TEST_DEPTH = [900] * MINUTES  # a queue the selector leaves out
# requests per minute on /a: (ok, failed); /b: ok only
A_REQUESTS = [(900, 0)] * 4 + [(600, 120)] * 6 + [(300, 300)] * 6 + [(900, 0)] * 6 + [(60, 0)] * 10
B_REQUESTS = [300] * 20 + [0] * 4 + [3000] * 6 + [0] * 2
# observations per minute: how many at each latency (ms)
LATENCY = [{20: 50}] * 6 + [{20: 20, 300: 30}] * 8 + [{700: 40, 20: 2}] * 6 + [{20: 50}] * 12
WORKERS = [3] * 10 + [1] * 8 + [3] * 14  # busy workers reporting
BOUNDS = (0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000)  # the SDK's defaults

LEVELS = ["low", "medium", "high", "critical"]
SEVERITY = {"info": "low", "warning": "medium", "error": "high", "critical": "critical", "page": "critical"}


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is not installed: run ./scripts/bootstrap (apt prometheus)")
    return found


def _labels(alert: str) -> dict[str, str]:
    return {
        "QueueBacklog": {"queue": "ingest", "team": "platform"},
        "ErrorBurst": {"http_route": "/a"},
        "ErrorRatio": {"http_route": "/a"},
    }.get(alert, {})


def _feed(tester: RuleTester, minute: int) -> None:
    tester.gauge("app.queue.depth", DEPTH[minute], queue="ingest")
    tester.gauge("app.queue.depth", TEST_DEPTH[minute], queue="test-1")
    ok, failed = A_REQUESTS[minute]
    tester.count("app.requests", ok, **{"http.route": "/a", "status": "200"})
    tester.count("app.requests", failed, **{"http.route": "/a", "status": "503"})
    tester.count("app.requests", B_REQUESTS[minute], **{"http.route": "/b", "status": "200"})
    for latency, times in LATENCY[minute].items():
        for _ in range(times):
            tester.observe("app.latency", latency)
    for worker in range(3):
        tester.gauge("app.worker.busy", 1 if worker < WORKERS[minute] else None, worker=str(worker))


def _engine_run(rules: Path, alerts: list[str]) -> dict[tuple[str, int], tuple[str | None, dict[str, str]]]:
    """Per alert and minute: the severity it fires at (None: not firing), and its
    annotations rendered with its value then (Prometheus renders them at each evaluation)."""
    out: dict[tuple[str, int], tuple[str | None, dict[str, str]]] = {}
    with RuleTester(rules, interval="1m", environ=ENVIRON) as tester:
        imported = {rule.alert: rule for rule in tester.system.rule_set.rules}
        for minute in range(MINUTES):
            _feed(tester, minute)
            tester.evaluate()
            for alert in alerts:
                found = tester.find(alert)
                if found is None or found.state.name != "FIRING" or found.severity is None:
                    out[(alert, minute)] = (None, {})
                    continue
                values = {**dict.fromkeys(ALLOWED_NAMES, ""), "labels": found.labels, "last_firing_value": found.value}
                annotations = {k: render(t, values) for k, t in imported[alert].annotations.items()}
                out[(alert, minute)] = (found.severity.name.lower(), annotations)
            tester.clock.advance(60)
    return out


def _original_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(ORIGINAL)["groups"] for rule in group["rules"]]


def _single_levels(tmp_path: Path) -> Fired:
    """Each level of the original file imported alone: the levels firing at each minute."""
    fired: Fired = {}
    for index, rule in enumerate(_original_rules()):
        path = tmp_path / f"level-{index}.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "one", "rules": [rule]}]}))
        for key, (severity, rendered) in _engine_run(path, [rule["alert"]]).items():
            if severity is not None:
                fired.setdefault(key, []).append((rule["labels"]["severity"], rendered))
    return fired


def _counter(values: list[int]) -> str:
    totals, total = [], 0
    for value in values:
        total += value
        totals.append(str(total))
    return " ".join(totals)


def _series() -> list[dict[str, str]]:
    series = [
        {"series": 'app_queue_depth{queue="ingest"}', "values": " ".join(map(str, DEPTH))},
        {"series": 'app_queue_depth{queue="test-1"}', "values": " ".join(map(str, TEST_DEPTH))},
        {
            "series": 'app_requests_total{http_route="/a", status="200"}',
            "values": _counter([ok for ok, _ in A_REQUESTS]),
        },
        {
            "series": 'app_requests_total{http_route="/a", status="503"}',
            "values": _counter([failed for _, failed in A_REQUESTS]),
        },
        {"series": 'app_requests_total{http_route="/b", status="200"}', "values": _counter(B_REQUESTS)},
    ]
    for bound in (*BOUNDS, "+Inf"):
        per_minute = [
            sum(times for latency, times in observed.items() if bound == "+Inf" or latency <= bound)
            for observed in LATENCY
        ]
        series.append({"series": f'app_latency_milliseconds_bucket{{le="{bound}"}}', "values": _counter(per_minute)})
    for worker in range(3):
        values = ["1" if worker < busy else "stale" for busy in WORKERS]
        series.append({"series": f'app_worker_busy{{worker="{worker}"}}', "values": " ".join(values)})
    return series


def _promtool_test(tmp_path: Path, rules: str, expected: Fired) -> None:
    (tmp_path / "rules.yml").write_text(rules)
    alerts = list(dict.fromkeys(rule["alert"] for rule in _original_rules()))
    tests = [
        {
            "eval_time": f"{minute}m",
            "alertname": alert,
            "exp_alerts": [
                {"exp_labels": {**_labels(alert), "severity": severity}, "exp_annotations": annotations}
                for severity, annotations in expected.get((alert, minute), [])
            ],
        }
        for alert in alerts
        for minute in range(MINUTES)
    ]
    unit = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": _series(), "alert_rule_test": tests}],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(unit, sort_keys=False))
    done = subprocess.run(
        [_promtool(), "test", "rules", "test.yml"], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert done.returncode == 0, textwrap.shorten(done.stdout + done.stderr, 6000)


def _export(tmp_path: Path, rules: Path) -> str:
    declarations = [arg for name, kind in METRICS.items() for arg in ("--metric", f"{name}={kind}")]
    command = [sys.executable, "-m", "otel_alerting.cli", "rules", "export", "--format", "prometheus"]
    done = subprocess.run(
        [*command, "--rules", str(rules), *declarations],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": ":".join(sys.path),
            ev.OTEL_PYTHON_ALERTING_DEFAULT_RULES: "false",
            **ENVIRON,
        },
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def levels(tmp_path_factory: pytest.TempPathFactory) -> Fired:
    return _single_levels(tmp_path_factory.mktemp("levels"))


def test_the_data_reaches_every_kind_and_level(
    levels: Fired,
) -> None:
    fired = {(alert, severity) for (alert, _), found in levels.items() for severity, _ in found}
    assert fired == {(rule["alert"], rule["labels"]["severity"]) for rule in _original_rules()}, (
        "some level never fires: the comparison below would prove nothing for it"
    )
    # and each one also stops firing at some point
    for rule in _original_rules():
        severity = rule["labels"]["severity"]
        assert any(severity not in dict(levels.get((rule["alert"], m), [])) for m in range(MINUTES)), rule


def test_the_ladder_fires_the_highest_firing_level(tmp_path: Path, levels: Fired) -> None:
    path = tmp_path / "original.yml"
    path.write_text(ORIGINAL)
    alerts = list(dict.fromkeys(rule["alert"] for rule in _original_rules()))
    for key, (severity, rendered) in _engine_run(path, alerts).items():
        firing = [SEVERITY[s] for s, _ in levels.get(key, [])]
        assert severity == max(firing, key=LEVELS.index, default=None), key
        if severity is not None:
            assert rendered == dict(levels[key])[next(s for s, _ in levels[key] if SEVERITY[s] == severity)]


def test_promtool_fires_the_original_where_the_engine_fires_the_import(tmp_path: Path, levels: Fired) -> None:
    _promtool_test(tmp_path, ORIGINAL, levels)


def test_the_export_of_the_import_fires_the_same_in_promtool(tmp_path: Path, levels: Fired) -> None:
    original = tmp_path / "original.yml"
    original.write_text(ORIGINAL)
    exported = _export(tmp_path, original)
    expected = {
        key: [(SEVERITY[severity], annotations) for severity, annotations in found] for key, found in levels.items()
    }
    _promtool_test(tmp_path, exported, expected)


def _check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "prom.yml"
    path.write_text(text)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ALERT_"))}
    cli = str(Path(sys.executable).parent / "otel-alerting")
    return subprocess.run(
        [cli, "check", "--rules", str(path)],
        env={**clean, **ENVIRON, ev.OTEL_PYTHON_ALERTING_DEFAULT_RULES: "false"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_reads_a_prometheus_file(tmp_path: Path) -> None:
    done = _check(tmp_path, ORIGINAL)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Rules (6):" in done.stdout  # one per alert name: a ladder each
    ladder = "QueueBacklog: max(app.queue.depth{queue!~'test.*'}) by (queue) [MEDIUM >= 100, CRITICAL >= 500] for 2m"
    assert f"{ladder} ({tmp_path / 'prom.yml'}:5)" in done.stdout
    assert "[MEDIUM > 1, CRITICAL > 3]" in done.stdout  # `> 1` as written, not `>= 1`
    assert "[HIGH <= 1]" in done.stdout


def test_check_names_the_file_line_and_part_of_what_is_not_supported(tmp_path: Path) -> None:
    bad = ORIGINAL.replace("max by (queue) (app_queue_depth", "max without (pod) (app_queue_depth", 1)
    done = _check(tmp_path, bad)
    assert done.returncode == 1
    assert (
        f"{tmp_path / 'prom.yml'}:6: groups[0].rules[0] (QueueBacklog).expr: "
        "'max without (pod) (app_queue_depth{queue!~\"test.*\"}) >= 100': without: the engine groups by the labels "
        "listed; write by (...) (in without (pod))"
    ) in done.stderr
