"""The pieces of the Prometheus export: names, expressions, templates, inhibitions."""

from __future__ import annotations

import pytest

from otel_alerting.alertmanager_export import ladder_inhibitions
from otel_alerting.rules import parse_rules
from otel_alerting.rules.go_templates import TemplateFacts, to_go_template
from otel_alerting.rules.prometheus_names import MetricInfo, NameOptions, label_name, map_unit, metric_name
from otel_alerting.rules.promql import ExportOptions, alert_expression, duration, export_rules, number
from otel_alerting.rules_export import parse_by, parse_metric_declarations


@pytest.mark.parametrize(
    ("unit", "suffix"),
    [
        ("s", "seconds"),
        ("By", "bytes"),
        ("1", ""),
        ("{request}", ""),
        ("m/s", "meters_per_second"),
        ("/s", "per_second"),
    ],
)
def test_units_map_as_the_python_exporter_does(unit: str, suffix: str) -> None:
    assert map_unit(unit) == suffix


@pytest.mark.parametrize(
    ("name", "info", "options", "exposed"),
    [
        ("app.requests", MetricInfo("counter", "{request}"), NameOptions(), "app_requests_total"),
        ("app.requests_total", MetricInfo("counter", "s"), NameOptions(), "app_requests_seconds_total"),
        ("app.requests", MetricInfo("counter"), NameOptions(total_suffix=False), "app_requests"),
        ("app.latency", MetricInfo("histogram", "ms"), NameOptions(), "app_latency_milliseconds"),
        ("app.latency", MetricInfo("histogram", "ms"), NameOptions(unit_suffix=False), "app_latency"),
        ("app.downtime_seconds", MetricInfo("gauge", "s"), NameOptions(), "app_downtime_seconds"),
        ("mem.use", MetricInfo("gauge", "1"), NameOptions(), "mem_use"),
        ("mem.use", MetricInfo("gauge", "1"), NameOptions(ratio_suffix=True), "mem_use_ratio"),
        ("9lives", MetricInfo("gauge"), NameOptions(), "_lives"),
    ],
)
def test_metric_names(name: str, info: MetricInfo, options: NameOptions, exposed: str) -> None:
    assert metric_name(name, info, options) == exposed


def test_label_names_collapse_runs_underscores_included() -> None:
    assert label_name("otel_alerting.cache.result") == "otel_alerting_cache_result"
    assert label_name("a._b") == "a_b"
    assert label_name("1x") == "_x"


def _rule(body: dict[str, object]) -> object:
    loaded = parse_rules({"rules": [{"alert": "A", **body}]}, "test")
    assert not loaded.errors, loaded.errors
    return loaded.rules[0]


@pytest.mark.parametrize(
    ("body", "expr"),
    [
        (
            {"expr": {"value": {"metric": "q.depth", "match": {"q": ["a", "b.c"]}, "reduce": "sum"}, "by": ["q"]}},
            'sum by (q) (q_depth{q=~"a|b\\\\.c", job="api"}) >= 5',
        ),
        ({"expr": {"rate": {"metric": "errs"}, "window": "5m"}}, 'sum(rate(errs_total{job="api"}[5m])) >= 5'),
        (
            {"expr": {"rate": {"metric": "lat", "quantile": 0.9}, "window": "90s", "by": ["r"]}},
            'histogram_quantile(0.9, sum by (le, r) (rate(lat_bucket{job="api"}[90s]))) >= 5',
        ),
        (
            {"expr": {"absent": {"metric": "beat"}}},
            '((time() - max(timestamp(beat{job="api"}))) >= 5) or absent_over_time(beat{job="api"}[5s])',
        ),
    ],
)
def test_expressions(body: dict[str, object], expr: str) -> None:
    rule = _rule({**body, "above": {"high": 5}})
    assert alert_expression(rule, 5, ExportOptions(selector='job="api"')) == expr  # type: ignore[arg-type]


def test_ratio_keeps_min_denominator_as_a_filter() -> None:
    rule = _rule(
        {
            "expr": {
                "ratio": {"numerator": {"metric": "c", "match": {"r": "hit"}}, "denominator": {"metric": "c"}},
                "window": "5m",
                "by": ["n"],
            },
            "below": {"high": 0.5},
        }
    )
    expr = alert_expression(rule, 0.5, ExportOptions())  # type: ignore[arg-type]
    den = "sum by (n) (increase(c_total[5m]))"
    assert expr == f'((sum by (n) (increase(c_total{{r="hit"}}[5m])) / {den}) and on(n) ({den} > 0)) < 0.5'


def test_one_rule_per_level_and_the_untranslated_fields_listed() -> None:
    rule = _rule(
        {
            "expr": {"value": {"metric": "d"}},
            "above": {"medium": 1, "high": 2},
            "for": "30s",
            "keep_firing_for": "1m",
            "recovery": 0.5,
            "labels": {"team.name": "x"},
        }
    )
    export = export_rules([rule], ExportOptions())  # type: ignore[list-item]
    rules = export.document["groups"][0]["rules"]
    assert [r["labels"] for r in rules] == [
        {"team_name": "x", "severity": "medium"},
        {"team_name": "x", "severity": "high"},
    ]
    assert rules[0]["for"] == "30s" and rules[0]["keep_firing_for"] == "1m"
    # recovery is translated (hysteresis on the lowest level, through ALERTS), not listed
    assert not any("recovery" in note for note in export.notes)
    assert rules[0]["expr"] == 'max(d) >= 1 or (max(d) >= 0.5 and on() ALERTS{alertname="A", alertstate="firing"})'
    assert rules[1]["expr"] == "max(d) >= 2"
    assert any("reduce: last" in note for note in export.notes)


def test_templates_become_go_templates() -> None:
    facts = TemplateFacts("A", "HIGH", 0.25, "30s", "5m", "x")
    text, notes = to_go_template(
        "{labels[db.name]} {value} {value:.2f} {value:.0%} {threshold:.0%} {alert} {severity} {state} {{x}}", facts
    )
    assert text == (
        '{{ $labels.db_name }} {{ $value }} {{ printf "%.2f" $value }} {{ $value | humanizePercentage }} '
        "25% A HIGH FIRING {x}"
    )
    assert notes == ["{state} has no Go-template form: written as FIRING"]


def test_ladder_inhibitions() -> None:
    rule = _rule({"expr": {"value": {"metric": "d"}, "by": ["q.name"]}, "above": {"low": 1, "high": 2, "critical": 3}})
    inhibitions = ladder_inhibitions([rule])  # type: ignore[list-item]
    assert [i["target_matchers"][1] for i in inhibitions] == ['severity=~"low"', 'severity=~"low|high"']
    assert inhibitions[1]["equal"] == ["alertname", "q_name"]


def test_numbers_and_durations() -> None:
    assert (number(60.0), number(0.1)) == ("60", "0.1")
    assert (duration(300), duration(90), duration(3600), duration(1.5)) == ("5m", "90s", "1h", "1500ms")


def test_metric_declarations() -> None:
    assert parse_metric_declarations(["a.b=histogram:ms"]) == {"a.b": MetricInfo("histogram", "ms")}
    with pytest.raises(ValueError, match="NAME=KIND"):
        parse_metric_declarations(["a.b=summary"])


def test_by_labels_join_every_aggregation_and_the_hysteresis() -> None:
    rule = _rule(
        {
            "expr": {
                "ratio": {"numerator": {"metric": "c", "match": {"r": "hit"}}, "denominator": {"metric": "c"}},
                "window": "5m",
                "by": ["n"],
            },
            "below": {"medium": 0.5},
            "recovery": 0.6,
        }
    )
    expr = export_rules([rule], ExportOptions(by=("job", "instance"))).document["groups"][0]["rules"][0]["expr"]  # type: ignore[list-item]
    den = "sum by (n, job, instance) (increase(c_total[5m]))"
    ratio = (
        f'((sum by (n, job, instance) (increase(c_total{{r="hit"}}[5m])) / {den}) and on(n, job, instance) ({den} > 0))'
    )
    firing = 'ALERTS{alertname="A", alertstate="firing"}'
    assert expr == f"{ratio} < 0.5 or ({ratio} < 0.6 and on(n, job, instance) {firing})"


@pytest.mark.parametrize("text", ["job,le", "job instance", "__name__", "1x"])
def test_by_rejects_what_is_no_label_to_add(text: str) -> None:
    with pytest.raises(ValueError, match="--by"):
        parse_by(text)


def test_by_labels_are_split_and_deduplicated() -> None:
    assert parse_by(" job, instance,job ") == ("job", "instance")
