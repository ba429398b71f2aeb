"""Prometheus rule files as rules files: the PromQL each construct maps onto, the located
errors for what has no equivalent, ladders, severities, names and templates."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from otel_alerting import environment_variables as ev
from otel_alerting.rules import load_rule_set
from otel_alerting.rules.model import AbsentExpr, RateExpr, RatioExpr, Rule, Selector, Severity, ValueExpr
from otel_alerting.rules.prometheus_templates import from_go_template
from otel_alerting.rules.template import render
from otel_alerting.testing import RuleTester

DECLARED = "app.queue.depth=gauge,app.requests=counter,app.latency=histogram:ms,app.worker.busy=gauge"
ENVIRON = {ev.OTEL_PYTHON_ALERTING_PROMETHEUS_METRICS: DECLARED}


def _file(tmp_path: Path, rules: str, name: str = "prom.yml") -> Path:
    path = tmp_path / name
    path.write_text("groups:\n- name: g\n  rules:\n" + textwrap.indent(textwrap.dedent(rules), "  "))
    return path


def _load(tmp_path: Path, rules: str, environ: dict[str, str] | None = None) -> tuple[list[Rule], list[str]]:
    path = _file(tmp_path, rules)
    loaded = load_rule_set([str(path)], {**ENVIRON, **(environ or {})}, include_defaults=False)
    return list(loaded.rules), [str(e) for e in loaded.errors]


def _one(tmp_path: Path, expr: str, severity: str = "warning") -> Rule:
    rules, errors = _load(tmp_path, f"- alert: A\n  expr: '{expr}'\n  labels: {{severity: {severity}}}\n")
    assert errors == []
    (rule,) = rules
    return rule


def _selector(metric: str, field: str = "value", quantile: float | None = None, **kw: Any) -> Selector:
    return Selector(metric, kw.pop("match", {}), field, quantile, kw.pop("matchers", ()), prometheus_labels=True)  # type: ignore[arg-type]


# --- expressions ----------------------------------------------------------------------------

UP = math.nextafter
MAPPINGS = [
    (
        "max by (queue) (app_queue_depth) >= 100",
        ValueExpr(_selector("app.queue.depth"), "max", ("queue",)),
        "above",
        100,
    ),
    ("sum(app_queue_depth) < 5", ValueExpr(_selector("app.queue.depth"), "sum"), "below", 5),
    (
        "min by (a, b) (app_queue_depth) > 1",
        ValueExpr(_selector("app.queue.depth"), "min", ("a", "b")),
        "above",
        UP(1, math.inf),
    ),
    ("avg(app_queue_depth) <= 2", ValueExpr(_selector("app.queue.depth"), "avg"), "below", UP(2, math.inf)),
    ("count by (pool) (app_worker_busy) < 2", ValueExpr(_selector("app.worker.busy"), "count", ("pool",)), "below", 2),
    ("5 < max(app_queue_depth)", ValueExpr(_selector("app.queue.depth"), "max"), "above", UP(5, math.inf)),
    (
        "sum by (route) (rate(app_requests_total[5m])) >= 2",
        RateExpr(_selector("app.requests"), 300, ("route",)),
        "above",
        2,
    ),
    # increase is rate times the window: the threshold is divided by it
    ("sum(increase(app_requests_total[24h])) >= 86400", RateExpr(_selector("app.requests"), 86400), "above", 1),
    ("sum(rate(app_latency_milliseconds_count[1m])) < 1", RateExpr(_selector("app.latency", "count"), 60), "below", 1),
    (
        'sum by (r) (rate(app_requests_total{s=~"5.."}[5m])) / sum by (r) (rate(app_requests_total[5m])) >= 0.1',
        RatioExpr(
            _selector("app.requests", matchers=(("s", "=~", "5.."),)), _selector("app.requests"), 300, 0.0, ("r",)
        ),
        "above",
        0.1,
    ),
    (
        "sum(increase(app_latency_milliseconds_sum[10m])) / sum(increase(app_latency_milliseconds_count[10m])) >= 200",
        RatioExpr(_selector("app.latency", "sum"), _selector("app.latency", "count"), 600),
        "above",
        200,
    ),
    (
        "histogram_quantile(0.99, sum by (le, route) (rate(app_latency_milliseconds_bucket[5m]))) >= 250",
        RateExpr(_selector("app.latency", "quantile", 0.99), 300, ("route",)),
        "above",
        250,
    ),
    (
        "histogram_quantile(0.5, sum by (le) (app_latency_milliseconds_bucket)) >= 250",
        ValueExpr(_selector("app.latency", "quantile", 0.5)),
        "above",
        250,
    ),
    (
        'max(app_queue_depth{q="a", r=~"x|y", s!="b", t=~"e.*", u!~"z", v=""}) >= 1',
        ValueExpr(
            _selector(
                "app.queue.depth",
                match={"q": ("a",), "r": ("x", "y")},
                matchers=(("s", "!=", "b"), ("t", "=~", "e.*"), ("u", "!~", "z"), ("v", "=", "")),
            ),
            "max",
        ),
        "above",
        1,
    ),
    # the plugin's own metrics need no declaration
    (
        'sum(rate(otel_alerting_cache_requests_total{otel_alerting_cache_result="hit"}[1m])) >= 1',
        RateExpr(_selector("otel_alerting.cache.requests", match={"otel_alerting_cache_result": ("hit",)}), 60),
        "above",
        1,
    ),
    (
        'absent(app_queue_depth{queue="ingest"})',
        AbsentExpr(_selector("app.queue.depth", match={"queue": ("ingest",)})),
        "above",
        0.001,
    ),
]


@pytest.mark.parametrize(("promql", "expr", "direction", "threshold"), MAPPINGS, ids=[m[0][:60] for m in MAPPINGS])
def test_expressions_map_onto_the_rule_kinds(
    tmp_path: Path, promql: str, expr: object, direction: str, threshold: float
) -> None:
    rule = _one(tmp_path, promql)
    assert rule.expr == expr
    assert rule.direction == direction
    assert rule.thresholds == ((Severity.MEDIUM, pytest.approx(threshold, rel=1e-15)),)
    assert rule.no_data == "resolve"  # Prometheus resolves an alert whose expression returns nothing


@pytest.mark.parametrize(
    ("op", "at_threshold", "just_past"),
    [(">", False, True), (">=", True, True), ("<", False, False), ("<=", True, False)],
)
def test_each_comparison_holds_exactly_where_promql_holds(
    tmp_path: Path, op: str, at_threshold: bool, just_past: bool
) -> None:
    rule = _one(tmp_path, f"max(app_queue_depth) {op} 0.1")
    threshold = rule.thresholds[0][1]
    assert rule.holds(threshold, 0.1) is at_threshold
    assert rule.holds(threshold, math.nextafter(0.1, math.inf)) is just_past
    assert rule.holds(threshold, math.nextafter(0.1, -math.inf)) is (op in ("<", "<="))


def test_absent_carries_its_equality_matchers_as_labels(tmp_path: Path) -> None:
    rule = _one(tmp_path, 'absent(app_queue_depth{queue="ingest", region=~"eu.*"})')
    assert rule.labels == {"queue": "ingest"}


# --- what has no equivalent: a located error naming the part -----------------------------------

UNSUPPORTED = [
    ("sum without (pod) (app_queue_depth) > 1", "without (pod)", "without: the engine groups by the labels listed"),
    ("app_queue_depth > 1", "app_queue_depth", "a value per series: aggregate it"),
    ("rate(app_requests_total[5m]) > 1", "rate(app_requests_total[5m])", "a rate per series"),
    ("max by (a) (rate(app_requests_total[5m])) > 1", "max by (a)", "max of a rate"),
    ("topk(3, app_queue_depth) > 1", "topk", "the aggregation topk"),
    ("max(app_queue_depth) == 1", "max(app_queue_depth) == 1", "must compare an expression with a number"),
    ("max(app_queue_depth) > bool 1", "bool", "a comparison with bool"),
    ("max(app_queue_depth) > max(app_worker_busy)", "max(app_worker_busy)", "the comparison must be with a number"),
    ("max(app_queue_depth offset 5m) > 1", "offset", "offset and @"),
    ("max(app_queue_depth) * 100 > 1", "max(app_queue_depth) * 100", "not supported"),
    ("sum(rate(app_queue_depth[5m])) > 1", "app_queue_depth", "rate and increase read counters"),
    ("sum(rate(app_requests_total[5m])) / sum(rate(app_requests_total[1m])) > 1", "/", "one window"),
    ("sum by (a) (rate(app_requests_total[5m])) / sum by (b) (rate(app_requests_total[5m])) > 1", "/", "same labels"),
    ("histogram_quantile(0.9, sum(rate(app_latency_milliseconds_bucket[5m]))) > 1", "sum(", "sum by (le"),
    ("max(app_latency_milliseconds_bucket) > 1", "app_latency_milliseconds_bucket", "histogram_quantile only"),
    ("absent(app_requests_total)", "app_requests_total", "absent() is supported for gauges"),
    ("max(unknown_metric) > 1", "unknown_metric", "no known OpenTelemetry metric is exposed as unknown_metric"),
    # RE2 (Prometheus) takes \\z, Python's re does not: refused, not matched differently
    ('max(app_queue_depth{a=~"x\\\\z"}) > 1', "app_queue_depth", "the regular expression"),
    ("max(app_queue_depth > 1", "max(app_queue_depth > 1", "not valid PromQL"),
]


@pytest.mark.parametrize(("promql", "part", "why"), UNSUPPORTED, ids=[u[0][:50] for u in UNSUPPORTED])
def test_what_has_no_equivalent_is_a_located_error(tmp_path: Path, promql: str, part: str, why: str) -> None:
    rules, errors = _load(
        tmp_path,
        f"- alert: Ok\n  expr: max(app_queue_depth) > 1\n  labels: {{severity: info}}\n"
        f"- alert: A\n  expr: '{promql}'\n  labels: {{severity: warning}}\n",
    )
    assert [r.alert for r in rules] == ["Ok"]  # the others still load
    (error,) = errors
    assert error.startswith(f"{tmp_path / 'prom.yml'}:8: groups[0].rules[1] (A).expr: {promql!r}: "), error
    assert why in error and part in error, error


def test_a_recording_rule_is_a_located_error(tmp_path: Path) -> None:
    _, errors = _load(tmp_path, "- record: job:x:rate5m\n  expr: sum(rate(app_requests_total[5m]))\n")
    assert errors == [
        f"{tmp_path / 'prom.yml'}:4: groups[0].rules[0] (job:x:rate5m).record: recording rules are not supported "
        "(the engine evaluates alerts only): write the alerts that read it with its expression"
    ]


def test_unknown_fields_and_templated_labels_are_errors(tmp_path: Path) -> None:
    _, errors = _load(
        tmp_path,
        "- alert: A\n  expr: max(app_queue_depth) > 1\n  labels: {severity: info}\n  limit: 3\n"
        "- alert: B\n  expr: max(app_queue_depth) > 1\n  labels: {severity: info, q: '{{ $labels.q }}'}\n",
    )
    assert len(errors) == 2
    assert "prom.yml:7: groups[0].rules[0] (A).limit: unknown field" in errors[0]
    assert "prom.yml:10: groups[0].rules[1] (B).labels.q: templates in labels are not supported" in errors[1]


# --- severities and ladders ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "severity"),
    [("info", "LOW"), ("Warning", "MEDIUM"), ("ERROR", "HIGH"), ("critical", "CRITICAL"), ("page", "CRITICAL")],
)
def test_severity_labels_in_any_case(tmp_path: Path, label: str, severity: str) -> None:
    assert _one(tmp_path, "max(app_queue_depth) > 1", label).thresholds[0][0] is Severity[severity]


def test_an_unknown_or_missing_severity_is_a_located_error(tmp_path: Path) -> None:
    _, errors = _load(
        tmp_path,
        "- alert: A\n  expr: max(app_queue_depth) > 1\n  labels: {severity: minor}\n"
        "- alert: B\n  expr: max(app_queue_depth) > 1\n",
    )
    assert errors[0].startswith(
        f"{tmp_path / 'prom.yml'}:6: groups[0].rules[0] (A).labels.severity: unknown severity 'minor'"
    )
    assert ev.OTEL_PYTHON_ALERTING_PROMETHEUS_SEVERITIES in errors[0]
    assert "prom.yml:7: groups[0].rules[1] (B).labels.severity: required: a severity label" in errors[1]


def test_the_severity_table_is_the_users_to_change(tmp_path: Path) -> None:
    environ = {ev.OTEL_PYTHON_ALERTING_PROMETHEUS_SEVERITIES: "minor=low, warning=high"}
    rules, errors = _load(
        tmp_path,
        "- alert: A\n  expr: max(app_queue_depth) > 1\n  labels: {severity: minor}\n"
        "- alert: B\n  expr: max(app_queue_depth) > 1\n  labels: {severity: warning}\n",
        environ,
    )
    assert errors == []
    assert [r.thresholds[0][0] for r in rules] == [Severity.LOW, Severity.HIGH]


def test_a_bad_entry_of_the_table_names_the_variable(tmp_path: Path) -> None:
    environ = {ev.OTEL_PYTHON_ALERTING_PROMETHEUS_SEVERITIES: "minor=urgent"}
    _, errors = _load(tmp_path, "- alert: A\n  expr: max(app_queue_depth) > 1\n  labels: {severity: info}\n", environ)
    assert errors == [
        f"{ev.OTEL_PYTHON_ALERTING_PROMETHEUS_SEVERITIES}: invalid value 'minor=urgent': "
        "expected label=LEVEL, LEVEL one of low, medium, high, critical"
    ]


LADDER = """\
- alert: QueueBacklog
  expr: max by (queue) (app_queue_depth) >= 100
  for: 1m
  labels: {severity: warning, team: a}
- alert: QueueBacklog
  expr: max by (queue) (app_queue_depth) >= 500
  for: 1m
  labels: {severity: critical, team: a}
- alert: QueueBacklog
  expr: max by (queue) (app_queue_depth) >= 300
  for: 1m
  labels: {severity: error, team: a}
"""


def test_same_named_rules_form_one_ladder(tmp_path: Path) -> None:
    rules, errors = _load(tmp_path, LADDER)
    assert errors == []
    (rule,) = rules
    assert rule.thresholds == ((Severity.MEDIUM, 100), (Severity.HIGH, 300), (Severity.CRITICAL, 500))
    assert rule.labels == {"team": "a"} and rule.for_ == 60 and rule.source == f"{tmp_path / 'prom.yml'}:4"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("for: 1m\n  labels: {severity: critical", "for: 5m\n  labels: {severity: critical"),
            "same for as the first (line 4)",
        ),
        (
            (
                "team: a}\n- alert: QueueBacklog\n  expr: max by (queue) (app_queue_depth) >= 300",
                "team: b}\n- alert: QueueBacklog\n  expr: max by (queue) (app_queue_depth) >= 300",
            ),
            "same labels other than severity",
        ),
        (("(app_queue_depth) >= 500", '(app_queue_depth{queue="x"}) >= 500'), "same expression"),
        (("(app_queue_depth) >= 500", "(app_queue_depth) < 500"), "same comparison"),
        (("severity: error", "severity: page"), "two rules of one ladder map onto one severity"),
        (("(app_queue_depth) >= 300", "(app_queue_depth) >= 700"), "critical (500) must be above high (700)"),
    ],
)
def test_a_ladder_whose_levels_disagree_is_a_located_error(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    rules, errors = _load(tmp_path, LADDER.replace(*change))
    assert rules == []
    (error,) = errors
    assert "prom.yml:" in error and "(QueueBacklog)" in error and message in error, error


# --- names ---------------------------------------------------------------------------------------


def test_an_ambiguous_name_says_how_to_write_the_rule(tmp_path: Path) -> None:
    environ = {ev.OTEL_PYTHON_ALERTING_PROMETHEUS_METRICS: "app.queue.depth=gauge,app_queue.depth=gauge"}
    _, errors = _load(tmp_path, "- alert: A\n  expr: max(app_queue_depth) > 1\n  labels: {severity: info}\n", environ)
    (error,) = errors
    assert "app_queue_depth may be app.queue.depth (gauge) or app_queue.depth (gauge)" in error
    assert "write the rule in otel-alerting's format" in error


def test_an_undeclared_name_says_how_to_declare_it(tmp_path: Path) -> None:
    _, errors = _load(tmp_path, "- alert: A\n  expr: max(app_other) > 1\n  labels: {severity: info}\n")
    (error,) = errors
    assert f"declare the metric ({ev.OTEL_PYTHON_ALERTING_PROMETHEUS_METRICS}=" in error


@pytest.mark.parametrize(
    "exposed",
    ["app_latency_milliseconds_count", "app_latency_count"],  # with and without the unit suffix
)
def test_names_with_each_exporters_suffixes(tmp_path: Path, exposed: str) -> None:
    rule = _one(tmp_path, f"sum(rate({exposed}[1m])) > 1")
    assert isinstance(rule.expr, RateExpr) and rule.expr.selector.metric == "app.latency"


# --- templates -----------------------------------------------------------------------------------

#: what promtool printed for these templates (Prometheus 2.42, `promtool test rules`)
PROMTOOL = {
    123456789: ("1.23456789e+08", "123.5M", "1.235e+10%", "123456789.00"),
    0.1: ("0.1", "100m", "10%", "0.10"),
    1: ("1", "1", "100%", "1.00"),
    1234567: ("1.234567e+06", "1.235M", "1.235e+08%", "1234567.00"),
    0.00001234: ("1.234e-05", "12.34u", "0.001234%", "0.00"),
    100000: ("100000", "100k", "1e+07%", "100000.00"),
    2.5e21: ("2.5e+21", "2.5Z", "2.5e+23%", "2500000000000000000000.00"),
}
GO = ["{{ $value }}", "{{ humanize $value }}", "{{ humanizePercentage $value }}", '{{ printf "%.2f" $value }}']


@pytest.mark.parametrize("value", list(PROMTOOL))
def test_templates_render_what_prometheus_renders(value: float) -> None:
    rendered = tuple(render(from_go_template(t), {"last_firing_value": float(value)}) for t in GO)
    assert rendered == PROMTOOL[value]


def test_template_translations() -> None:
    assert from_go_template("Queue {{ $labels.queue }} {x}: {{ $value | humanizePercentage }}") == (
        "Queue {labels[queue]} {{x}}: {last_firing_value:humanizePercentage}"
    )
    assert render(from_go_template("{{ $labels }}"), {"labels": {"c": "d", "a": "b"}}) == "map[a:b c:d]"
    assert from_go_template("a  {{- .Value -}}  b") == "a{last_firing_value:go}b"


def test_an_unsupported_action_is_a_located_error(tmp_path: Path) -> None:
    _, errors = _load(
        tmp_path,
        "- alert: A\n  expr: max(app_queue_depth) > 1\n  labels: {severity: info}\n"
        "  annotations: {summary: 'at {{ $externalLabels.site }}'}\n",
    )
    (error,) = errors
    assert f"{tmp_path / 'prom.yml'}:7: groups[0].rules[0] (A).annotations.summary: not supported" in error
    assert error.endswith(": {{ $externalLabels.site }}")


# --- in the engine ---------------------------------------------------------------------------------


def _tester(tmp_path: Path, rules: str, **kw: Any) -> RuleTester:
    return RuleTester(_file(tmp_path, rules), interval=kw.pop("interval", "1s"), environ=ENVIRON, **kw)


def test_the_engine_honours_every_matcher_and_label_names(tmp_path: Path) -> None:
    rules = (
        "- alert: Deep\n"
        '  expr: max by (queue, http_route) (app_queue_depth{queue!="b", region=~"eu-.*", zone!~"x|y", tier=""}) > 1\n'
        "  labels: {severity: warning}\n"
    )
    with _tester(tmp_path, rules) as tester:
        series = {
            "a": {"region": "eu-west", "zone": "z"},  # matches
            "b": {"region": "eu-west", "zone": "z"},  # queue != b
            "c": {"region": "us-east", "zone": "z"},  # region =~ eu-.*
            "d": {"region": "eu-west", "zone": "x"},  # zone !~ x|y
            "e": {"region": "eu-west", "zone": "z", "tier": "gold"},  # tier = "" (absent only)
            "f": {"region": "eu-west"},  # no zone: reads "", which !~ x|y
        }
        for queue, attributes in series.items():
            tester.gauge("app.queue.depth", 5, queue=queue, **{"http.route": "/r"}, **attributes)
        tester.advance("1s")
        firing = sorted(a.labels["queue"] for a in tester.alerts())
        assert firing == ["a", "f"]
        assert tester.find("Deep", queue="a") is not None
        assert tester.assert_firing("Deep", "medium", queue="a", http_route="/r")  # the attribute as its label name


def test_count_counts_the_series_of_each_group(tmp_path: Path) -> None:
    with _tester(
        tmp_path, "- alert: Few\n  expr: count by (pool) (app_worker_busy) <= 1\n  labels: {severity: error}\n"
    ) as tester:
        for worker in ("1", "2"):
            tester.gauge("app.worker.busy", 1, pool="p", worker=worker)
        tester.advance("1s")
        tester.assert_inactive("Few", pool="p")
        tester.gauge("app.worker.busy", None, pool="p", worker="2")
        tester.advance("1s")
        tester.assert_firing("Few", "high", pool="p")


def test_absent_fires_at_the_first_collection_without_a_point(tmp_path: Path) -> None:
    rules = '- alert: Gone\n  expr: absent(app_queue_depth{queue="ingest"})\n  for: 2s\n  labels: {severity: page}\n'
    with _tester(tmp_path, rules) as tester:
        tester.gauge("app.queue.depth", 3, queue="ingest")
        tester.advance("5s")
        tester.assert_inactive("Gone")
        tester.gauge("app.queue.depth", None, queue="ingest")
        tester.advance("1s")
        tester.assert_pending("Gone", queue="ingest")
        tester.advance("2s")
        tester.assert_firing("Gone", "critical", queue="ingest")


def test_a_24h_increase_keeps_60_snapshots_and_reads_the_whole_day(tmp_path: Path) -> None:
    rules = "- alert: Busy\n  expr: sum(increase(app_requests_total[24h])) > 20000\n  labels: {severity: info}\n"
    with _tester(tmp_path, rules, interval="5m") as tester:
        state = tester.system.evaluator._states[0]
        for _ in range(12 * 30):  # 30 hours of 100 requests every 5 minutes: 28,800 a day
            tester.count("app.requests", 100)
            tester.advance("5m")
        tester.assert_firing("Busy", "low")
        for _ in range(12 * 7):  # traffic stops: the day's increase falls below 20,000 after 7h20m
            tester.count("app.requests", 0)
            tester.advance("5m")
        tester.assert_firing("Busy", "low")
        for _ in range(12):  # (the base of the window is up to 24h/60 = 24 min early)
            tester.advance("5m")
        tester.assert_resolved("Busy")
        (group,) = state._windows.groups.values()
        assert len(group.snapshots) <= 60, len(group.snapshots)  # of 456 evaluations


# --- dispatch and import cost ----------------------------------------------------------------------


def test_our_format_beside_groups_is_still_ours(tmp_path: Path) -> None:
    path = tmp_path / "ours.yml"
    path.write_text("rules: []\ngroups: []\n")
    errors = [str(e) for e in load_rule_set([str(path)], {}, include_defaults=False).errors]
    assert errors == [f"{path}:2: groups: unknown top-level key (expected rules, route, inhibit_rules, receivers)"]


def test_the_parser_is_imported_only_for_a_prometheus_file(tmp_path: Path) -> None:
    ours = tmp_path / "ours.yml"
    ours.write_text("rules: []\n")
    prom = _file(tmp_path, "- alert: A\n  expr: max(app_queue_depth) > 1\n  labels: {severity: info}\n")
    code = (
        "import sys\nfrom otel_alerting.rules import load_rule_set\n"
        f"load_rule_set([{str(ours)!r}], {{}})\nprint('promql_parser' in sys.modules)\n"
        f"load_rule_set([{str(prom)!r}], {ENVIRON!r})\nprint('promql_parser' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]


def test_without_the_parser_the_file_is_an_error_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "promql_parser", None)  # `import promql_parser` raises ImportError
    rules, errors = _load(tmp_path, "- alert: A\n  expr: max(app_queue_depth) > 1\n  labels: {severity: info}\n")
    assert rules == []
    assert errors == [
        f"{tmp_path / 'prom.yml'}:1: a Prometheus rule file needs the promql-parser package: "
        "pip install 'otel-alerting[prometheus]'"
    ]


def test_a_bad_metric_declaration_names_the_variable(tmp_path: Path) -> None:
    environ = {ev.OTEL_PYTHON_ALERTING_PROMETHEUS_METRICS: "app.queue.depth=gauge,app.x=summary"}
    rules, errors = _load(
        tmp_path, "- alert: A\n  expr: max(app_queue_depth) > 1\n  labels: {severity: info}\n", environ
    )
    assert [r.alert for r in rules] == ["A"]
    assert errors == [
        f"{ev.OTEL_PYTHON_ALERTING_PROMETHEUS_METRICS}: invalid value 'app.x=summary': "
        "expected NAME=KIND[:UNIT], KIND one of counter, gauge, histogram"
    ]
