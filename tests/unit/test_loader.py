from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import pytest

from otel_alerting.rules import RuleError, load_rule_set, load_rules_file
from otel_alerting.rules.loader import RulesFile, parse_rules
from otel_alerting.rules.model import AbsentExpr, RateExpr, RatioExpr, Rule, Selector, Severity, ValueExpr
from otel_alerting.rules.overrides import apply_overrides, override_key

ISSUE_EXAMPLE = """\
rules:
  - alert: QueueBacklog                 # identity of the alert
    expr:                               # exactly one of value / rate / ratio / absent
      value: {metric: app.queue.depth, match: {queue: ingest}, reduce: max}
      by: [queue]
    above: {medium: 100, high: 500, critical: 1000}
    for: 30s
    keep_firing_for: 0s
    recovery: 80
    labels: {team: platform}
    annotations:
      summary: "Queue {labels[queue]} holds {value:.0f} items"
  - alert: CacheHitRateLow
    expr:
      ratio:
        numerator: {metric: otel_alerting.cache.requests, match: {otel_alerting.cache.result: hit}}
        denominator: {metric: otel_alerting.cache.requests}
        min_denominator: 100
      window: 5m
      by: [db.namespace]
    below: {medium: 0.5, high: 0.3, critical: 0.1}
"""


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def only(errors: tuple[RuleError, ...] | list[RuleError]) -> RuleError:
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


# --- valid files -------------------------------------------------------------


def test_issue_example_loads_into_the_model(tmp_path: Path) -> None:
    path = write(tmp_path, ISSUE_EXAMPLE)
    loaded = load_rules_file(path)
    assert loaded.errors == ()
    backlog, hit_rate = loaded.rules

    assert backlog.alert == "QueueBacklog"
    assert backlog.expr == ValueExpr(Selector("app.queue.depth", {"queue": ("ingest",)}), "max", ("queue",))
    assert backlog.direction == "above"
    assert backlog.thresholds == ((Severity.MEDIUM, 100.0), (Severity.HIGH, 500.0), (Severity.CRITICAL, 1000.0))
    assert backlog.for_ == 30.0
    assert backlog.keep_firing_for == 0.0
    assert backlog.recovery == 80.0
    assert backlog.no_data == "keep"
    assert dict(backlog.labels) == {"team": "platform"}
    assert dict(backlog.annotations) == {"summary": "Queue {labels[queue]} holds {value:.0f} items"}
    assert backlog.source == f"{path}:2"

    assert hit_rate.direction == "below"
    assert hit_rate.thresholds == ((Severity.MEDIUM, 0.5), (Severity.HIGH, 0.3), (Severity.CRITICAL, 0.1))
    assert isinstance(hit_rate.expr, RatioExpr)
    assert hit_rate.expr.window == 300.0
    assert hit_rate.expr.min_denominator == 100.0
    assert hit_rate.expr.by == ("db.namespace",)
    assert hit_rate.expr.numerator == Selector("otel_alerting.cache.requests", {"otel_alerting.cache.result": ("hit",)})
    assert hit_rate.expr.denominator == Selector("otel_alerting.cache.requests")
    assert hit_rate.source == f"{path}:13"


def test_json_file_loads_the_same_rules(tmp_path: Path) -> None:
    import yaml

    document = yaml.safe_load(ISSUE_EXAMPLE)
    json_path = write(tmp_path, json.dumps(document, indent=2), "rules.json")
    yaml_path = write(tmp_path, ISSUE_EXAMPLE)
    from_json = load_rules_file(json_path)
    from_yaml = load_rules_file(yaml_path)
    assert from_json.errors == ()
    assert len(from_json.rules) == 2
    for a, b in zip(from_json.rules, from_yaml.rules):
        assert a.alert == b.alert
        assert a.expr == b.expr
        assert a.thresholds == b.thresholds
        assert (a.for_, a.recovery, dict(a.labels), dict(a.annotations)) == (
            b.for_,
            b.recovery,
            dict(b.labels),
            dict(b.annotations),
        )
        assert a.source.startswith(str(json_path) + ":")


def test_json_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{"rules": [\n  {"alert": "A",\n   "above": 1,,\n  }\n]}\n', "rules.json")
    error = only(load_rules_file(path).errors)
    assert error.source == str(path)
    assert error.line == 3
    assert "not valid YAML/JSON" in error.message


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("value: {metric: m}", ValueExpr(Selector("m"))),
        ("value: {metric: m, reduce: sum}", ValueExpr(Selector("m"), "sum")),
        ("value: {metric: m, match: {code: [500, 503]}}", ValueExpr(Selector("m", {"code": ("500", "503")}))),
        ("value: {metric: m, match: {ok: true}}", ValueExpr(Selector("m", {"ok": ("true",)}))),
        ("value: {metric: h, field: count}", ValueExpr(Selector("h", field="count"))),
        ("value: {metric: h, field: sum}", ValueExpr(Selector("h", field="sum"))),
        ("value: {metric: h, quantile: 0.99}", ValueExpr(Selector("h", field="quantile", quantile=0.99))),
        ("rate: {metric: c}\n  window: 1m", RateExpr(Selector("c"), 60.0)),
        ("rate: {metric: c}\n  window: 90", RateExpr(Selector("c"), 90.0)),
        ("rate: {metric: c}\n  window: 1m\n  by: queue", RateExpr(Selector("c"), 60.0, ("queue",))),
        ("absent: {metric: g}\n  by: [a, b]", AbsentExpr(Selector("g"), ("a", "b"))),
        ("value: {metric: m, match: {ok: false}}", ValueExpr(Selector("m", {"ok": ("false",)}))),
        ("value: {metric: h, quantile: 0}", ValueExpr(Selector("h", field="quantile", quantile=0.0))),
        ("value: {metric: h, quantile: 1}", ValueExpr(Selector("h", field="quantile", quantile=1.0))),
        ("rate: {metric: c}\n  window: 1s", RateExpr(Selector("c"), 1.0)),
        (
            "ratio: {numerator: {metric: a}, denominator: {metric: b}}\n  window: 1m",
            RatioExpr(Selector("a"), Selector("b"), 60.0, 0.0),
        ),
    ],
)
def test_expression_forms(snippet: str, expected: object) -> None:
    import yaml

    text = "rules:\n- alert: A\n  above: 1\n  expr:\n    " + snippet.replace("\n  ", "\n    ")
    loaded = parse_rules(yaml.safe_load(text), "t")
    assert loaded.errors == ()
    assert loaded.rules[0].expr == expected


def test_what_a_rule_may_set_beside_its_expression_and_ladder() -> None:
    loaded = parse_rules(
        {
            "rules": [
                {
                    "alert": "A",
                    "expr": {"value": {"metric": "m"}},
                    "above": {"medium": 100, "high": 200},
                    "recovery": 100,  # at the lowest threshold: allowed
                    "keep_firing_for": "5m",
                    "no_data": "keep",
                    "labels": {"team": None, "tier": 1},
                },
                {
                    "alert": "B",
                    "expr": {"value": {"metric": "m"}},
                    "below": {"medium": 0.5},
                    "recovery": 0.5,
                    "no_data": "resolve",
                    "enabled": True,
                },
            ]
        },
        "rules.yaml",
    )
    assert loaded.errors == ()
    a, b = loaded.rules
    assert (a.recovery, a.keep_firing_for, a.no_data, dict(a.labels)) == (
        100.0,
        300.0,
        "keep",
        {"team": "", "tier": "1"},
    )
    assert (b.recovery, b.keep_firing_for, b.no_data) == (0.5, 0.0, "resolve")
    # read from a dict, not a file: the source has no line
    assert (a.source, b.source) == ("rules.yaml", "rules.yaml")


def test_documents_without_rules() -> None:
    assert parse_rules(None, "r.yaml") == RulesFile((), frozenset(), {}, ())
    assert parse_rules({"route": {"receiver": "log"}}, "r.yaml") == RulesFile(
        (), frozenset(), {"route": {"receiver": "log"}}, ()
    )
    assert parse_rules(["alert"], "r.yaml") == RulesFile(
        (), frozenset(), {}, (RuleError("r.yaml", "the top level must be a mapping with a 'rules' list"),)
    )
    assert load_rules_file("/nonexistent/r.yaml") == RulesFile(
        (), frozenset(), {}, (RuleError("/nonexistent/r.yaml", "cannot read: No such file or directory"),)
    )
    # a document given in code is named <rules> in errors
    assert [str(e) for e in parse_rules([]).errors] == ["<rules>: the top level must be a mapping with a 'rules' list"]


def test_the_line_of_each_section_beside_the_rules(tmp_path: Path) -> None:
    path = write(tmp_path, "rules: []\nroute:\n  receiver: log\ninhibit_rules: []\n")
    loaded = load_rules_file(path)
    assert loaded.errors == ()
    assert dict(loaded.extra_lines) == {"route": 2, "inhibit_rules": 4}
    assert parse_rules({"rules": [], "route": {}}).extra_lines == {}


def test_rules_after_a_bare_disable_and_after_a_duplicate_still_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rules:\n  - {alert: Elsewhere, enabled: false}\n"
        + _simple("A", "m", 1)
        + _simple("A", "m", 2)
        + _simple("B", "m", 3)
        + "  - alert: C\n    enabled: false\n    expr: {value: {metric: m}}\n    above: 1\n"
        + _simple("D", "m", 4),
    )
    loaded = load_rules_file(path)
    assert [str(e) for e in loaded.errors] == [f"{path}:6: rules[2] (A).alert: duplicate alert name (first at rule #2)"]
    assert [r.alert for r in loaded.rules] == ["A", "B", "D"]
    assert loaded.disabled == frozenset({"Elsewhere", "C"})


def test_a_file_that_is_not_utf8_is_an_error_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"\nrules:\n  - alert: A\n    annotations: {summary: caf\xe9}\n")
    assert load_rules_file(path) == RulesFile(
        (), frozenset(), {}, (RuleError(str(path), "not valid UTF-8: invalid continuation byte", 4),)
    )


def test_a_control_character_is_a_yaml_error_without_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, "rules: []\n# bell: \x07\n")
    assert [str(e) for e in load_rules_file(path).errors] == [
        f"{path}: not valid YAML/JSON: unacceptable character #x0007: special characters are not allowed\n"
        '  in "<unicode string>", position 18'
    ]


def test_a_rules_file_is_read_as_utf8_whatever_the_locale(tmp_path: Path) -> None:
    import subprocess
    import sys

    import otel_alerting

    path = write(tmp_path, "rules:\n" + _simple("A", "m", 1) + "    annotations: {summary: 'température ≥ 5 °C'}\n")
    script = (
        "import locale, sys\n"
        "from otel_alerting.rules import load_rules_file\n"
        "loaded = load_rules_file(sys.argv[1])\n"
        "print(locale.getpreferredencoding(False), ascii(loaded.rules[0].annotations['summary']))\n"
    )
    # the C locale without UTF-8 mode or locale coercion: the locale's encoding is ASCII
    env = {
        "PATH": "/usr/bin:/bin",
        "LC_ALL": "C",
        "PYTHONCOERCECLOCALE": "0",
        "PYTHONUTF8": "0",
        "PYTHONPATH": str(Path(otel_alerting.__file__).parent.parent),
    }
    env.update({k: v for k, v in os.environ.items() if k == "MUTANT_UNDER_TEST"})  # mutation runs
    out = subprocess.run(
        [sys.executable, "-X", "utf8=0", "-c", script, str(path)], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.split(" ", 1) == ["ANSI_X3.4-1968", "'temp\\xe9rature \\u2265 5 \\xb0C'\n"]


def test_bare_threshold_means_one_high_level_and_ladders_sort_by_severity() -> None:
    loaded = parse_rules(
        {
            "rules": [
                {"alert": "A", "expr": {"value": {"metric": "m"}}, "above": 7},
                {"alert": "B", "expr": {"value": {"metric": "m"}}, "below": {"critical": 1, "LOW": 9, "high": 3}},
            ]
        }
    )
    assert loaded.errors == ()
    assert loaded.rules[0].thresholds == ((Severity.HIGH, 7.0),)
    assert loaded.rules[1].thresholds == ((Severity.LOW, 9.0), (Severity.HIGH, 3.0), (Severity.CRITICAL, 1.0))


def test_disabled_rule_is_reported_as_disabled_not_loaded(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        rules:
          - alert: Disabled
            enabled: false
            expr: {value: {metric: m}}
            above: 1
          - alert: Enabled
            expr: {value: {metric: m}}
            above: 1
        route: {group_by: [alertname]}
        """,
    )
    loaded = load_rules_file(path)
    assert loaded.errors == ()
    assert [r.alert for r in loaded.rules] == ["Enabled"]
    assert loaded.disabled == frozenset({"Disabled"})
    assert loaded.extra == {"route": {"group_by": ["alertname"]}}


def test_empty_file_has_no_rules_and_no_errors(tmp_path: Path) -> None:
    loaded = load_rules_file(write(tmp_path, ""))
    assert (loaded.rules, loaded.errors) == ((), ())


def test_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    error = only(load_rules_file(path).errors)
    assert error.source == str(path)
    assert "cannot read" in error.message


# --- every error names source, line and field ----------------------------------

# Each case marks the line the error must point at with "#<".
BAD_FILES = {
    "invalid_yaml": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}
            above: 1  #<
        """,
        None,
        r"not valid YAML/JSON",
    ),
    "unknown_rule_field": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            keep_firng_for: 5m  #<
        """,
        "rules[0] (A).keep_firng_for",
        r"unknown field",
    ),
    "unknown_expr_field": (
        """\
        rules:
          - alert: A
            expr:
              value: {metric: m}
              grup_by: [x]  #<
            above: 1
        """,
        "rules[0] (A).expr.grup_by",
        r"unknown field",
    ),
    "unknown_selector_field": (
        """\
        rules:
          - alert: A
            expr:
              value:
                metric: m
                labels: {x: y}  #<
            above: 1
        """,
        "rules[0] (A).expr.value.labels",
        r"unknown field",
    ),
    "non_monotonic_above": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: {medium: 500, high: 100}  #<
        """,
        "rules[0] (A).above",
        r"high \(100\) must be above medium \(500\)",
    ),
    "non_monotonic_below": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            below: {medium: 0.1, critical: 0.5}  #<
        """,
        "rules[0] (A).below",
        r"critical \(0.5\) must be below medium \(0.1\)",
    ),
    "equal_thresholds_above": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: {medium: 100, high: 100}  #<
        """,
        "rules[0] (A).above",
        r"^high \(100\) must be above medium \(100\)$",
    ),
    "equal_thresholds_below": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            below: {high: 0.3, critical: 0.3}  #<
        """,
        "rules[0] (A).below",
        r"^critical \(0.3\) must be below high \(0.3\)$",
    ),
    "unknown_severity": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above:
              urgent: 5  #<
        """,
        "rules[0] (A).above.urgent",
        r"unknown severity 'urgent'",
    ),
    "threshold_not_a_number": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above:
              high: lots  #<
        """,
        "rules[0] (A).above.high",
        r"must be a number, not 'lots'",
    ),
    "bad_for_duration": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            for: 5 minutes  #<
        """,
        "rules[0] (A).for",
        r"invalid duration '5 minutes'",
    ),
    "negative_keep_firing_for": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            keep_firing_for: -5  #<
        """,
        "rules[0] (A).keep_firing_for",
        r"non-negative",
    ),
    "bad_window": (
        """\
        rules:
          - alert: A
            expr:
              rate: {metric: c}
              window: soon  #<
            above: 1
        """,
        "rules[0] (A).expr.window",
        r"invalid duration 'soon'",
    ),
    "zero_window": (
        """\
        rules:
          - alert: A
            expr:
              rate: {metric: c}
              window: 0s  #<
            above: 1
        """,
        "rules[0] (A).expr.window",
        r"must be positive",
    ),
    "duplicate_name": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
          - alert: A  #<
            expr: {value: {metric: n}}
            above: 2
        """,
        "rules[1] (A).alert",
        r"duplicate alert name \(first at rule #1\)",
    ),
    "template_attribute_access": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            annotations:
              summary: "{value.__class__}"  #<
        """,
        "rules[0] (A).annotations.summary",
        r"attribute access",
    ),
    "template_unknown_name": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            annotations:
              summary: "hello {os}"  #<
        """,
        "rules[0] (A).annotations.summary",
        r"unknown template field 'os'",
    ),
    "both_above_and_below": (
        """\
        rules:
          - alert: A  #<
            expr: {value: {metric: m}}
            above: 1
            below: 0
        """,
        "rules[0] (A).above",
        r"exactly one of 'above' or 'below'",
    ),
    "missing_expr": (
        """\
        rules:
          - alert: A  #<
            above: 1
        """,
        "rules[0] (A).expr",
        r"required",
    ),
    "two_expr_kinds": (
        """\
        rules:
          - alert: A
            expr:
              value: {metric: m}  #<
              rate: {metric: m}
            above: 1
        """,
        "rules[0] (A).expr",
        r"exactly one of value, rate, ratio, absent, found 2",
    ),
    "rate_without_window": (
        """\
        rules:
          - alert: A
            expr:
              rate: {metric: c}  #<
            above: 1
        """,
        "rules[0] (A).expr.window",
        r"required for rate",
    ),
    "window_on_value": (
        """\
        rules:
          - alert: A
            expr:
              value: {metric: c}
              window: 5m  #<
            above: 1
        """,
        "rules[0] (A).expr.window",
        r"not used by value",
    ),
    "bad_reduce": (
        """\
        rules:
          - alert: A
            expr:
              value:
                metric: m
                reduce: median  #<
            above: 1
        """,
        "rules[0] (A).expr.value.reduce",
        r"must be one of last, sum, max, min, avg",
    ),
    "quantile_out_of_range": (
        """\
        rules:
          - alert: A
            expr:
              value:
                metric: h
                quantile: 99  #<
            above: 1
        """,
        "rules[0] (A).expr.value.quantile",
        r"between 0 and 1",
    ),
    "quantile_without_quantile_field": (
        """\
        rules:
          - alert: A
            expr:
              value:
                metric: h
                field: count
                quantile: 0.5  #<
            above: 1
        """,
        "rules[0] (A).expr.value.quantile",
        r"only with field: quantile",
    ),
    "bad_field": (
        """\
        rules:
          - alert: A
            expr:
              value:
                metric: h
                field: p99  #<
            above: 1
        """,
        "rules[0] (A).expr.value.field",
        r"value, count, sum or quantile",
    ),
    "missing_metric": (
        """\
        rules:
          - alert: A
            expr:
              rate:
                match: {a: b}  #<
              window: 1m
            above: 1
        """,
        "rules[0] (A).expr.rate.metric",
        r"required: the metric name",
    ),
    "ratio_unknown_field": (
        """\
        rules:
          - alert: A
            expr:
              ratio:
                numerator: {metric: a}
                denominator: {metric: b}
                minimum: 10  #<
              window: 1m
            below: 0.5
        """,
        "rules[0] (A).expr.ratio.minimum",
        r"unknown field",
    ),
    "ratio_missing_denominator": (
        """\
        rules:
          - alert: A
            expr:
              ratio:
                numerator: {metric: a}  #<
              window: 1m
            below: 0.5
        """,
        "rules[0] (A).expr.ratio.denominator.metric",
        r"required",
    ),
    "bad_no_data": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            no_data: ignore  #<
        """,
        "rules[0] (A).no_data",
        r"'keep' or 'resolve', not 'ignore'",
    ),
    "recovery_on_wrong_side": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: {medium: 100, high: 200}
            recovery: 150  #<
        """,
        "rules[0] (A).recovery",
        r"at or below the lowest threshold \(100\)",
    ),
    "recovery_on_wrong_side_below": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            below: {medium: 0.5}
            recovery: 0.4  #<
        """,
        "rules[0] (A).recovery",
        r"at or above the lowest threshold \(0.5\)",
    ),
    "recovery_not_a_number": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            recovery: [1]  #<
        """,
        "rules[0] (A).recovery",
        r"must be a number",
    ),
    "bad_alert_name": (
        """\
        rules:
          - alert: my alert  #<
            expr: {value: {metric: m}}
            above: 1
        """,
        "rules[0] (my alert).alert",
        r"letters, digits and underscores",
    ),
    "enabled_not_bool": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            enabled: sometimes  #<
        """,
        "rules[0] (A).enabled",
        r"true or false",
    ),
    "nested_label": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            labels:
              team: {name: x}  #<
        """,
        "rules[0] (A).labels.team",
        r"must be a string",
    ),
    "rules_not_a_list": (
        """\
        rules: {alert: A}  #<
        """,
        "rules",
        r"must be a list",
    ),
    "rule_not_a_mapping": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
          - just a string  #<
        """,
        "rules[1]",
        r"each rule must be a mapping",
    ),
    "labels_not_a_mapping": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            labels: [team]  #<
        """,
        "rules[0] (A).labels",
        r"mapping of names to strings",
    ),
    "empty_ladder": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: {}  #<
        """,
        "rules[0] (A).above",
        r"must map severities",
    ),
    "match_not_a_mapping": (
        """\
        rules:
          - alert: A
            expr:
              value:
                metric: m
                match: [a]  #<
            above: 1
        """,
        "rules[0] (A).expr.value.match",
        r"must map attribute names",
    ),
    "ratio_not_a_mapping": (
        """\
        rules:
          - alert: A
            expr:
              ratio: [a, b]  #<
              window: 1m
            below: 0.5
        """,
        "rules[0] (A).expr.ratio",
        r"must have numerator and denominator",
    ),
    "ratio_of_quantiles": (
        """\
        rules:
          - alert: A
            expr:
              ratio:
                numerator:
                  metric: h
                  quantile: 0.9  #<
                denominator: {metric: h, field: count}
              window: 1m
            below: 0.5
        """,
        "rules[0] (A).expr.ratio.numerator.quantile",
        r"a ratio reads numbers",
    ),
    "negative_min_denominator": (
        """\
        rules:
          - alert: A
            expr:
              ratio:
                numerator: {metric: a}
                denominator: {metric: b}
                min_denominator: -5  #<
              window: 1m
            below: 0.5
        """,
        "rules[0] (A).expr.ratio.min_denominator",
        r"non-negative",
    ),
    "by_not_names": (
        """\
        rules:
          - alert: A
            expr:
              value: {metric: m}
              by: {a: 1}  #<
            above: 1
        """,
        "rules[0] (A).expr.by",
        r"list of attribute names",
    ),
    # The cases below put the field on a line of its own, apart from the line of the
    # rule or mapping around it: the error names the field's line, not its parent's.
    "rules_not_a_list_after_route": (
        """\
        route: {receiver: log}
        rules: {alert: A}  #<
        """,
        "rules",
        r"must be a list",
    ),
    "duplicate_name_not_first": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
          - expr: {value: {metric: n}}
            alert: A  #<
            above: 2
        """,
        "rules[1] (A).alert",
        r"duplicate alert name",
    ),
    "bad_alert_name_not_first": (
        """\
        rules:
          - expr: {value: {metric: m}}
            alert: 1st  #<
            above: 1
        """,
        "rules[0] (1st).alert",
        r"letters, digits and underscores",
    ),
    "expr_not_a_mapping": (
        """\
        rules:
          - alert: A
            expr: cpu  #<
            above: 1
        """,
        "rules[0] (A).expr",
        r"required: a mapping",
    ),
    "value_not_a_mapping": (
        """\
        rules:
          - alert: A
            expr:
              by: [queue]
              value: depth  #<
            above: 1
        """,
        "rules[0] (A).expr.value.metric",
        r"required: the metric name",
    ),
    "absent_without_metric": (
        """\
        rules:
          - alert: A
            expr:
              by: [queue]
              absent:
                match: {queue: ingest}  #<
            above: 1
        """,
        "rules[0] (A).expr.absent.metric",
        r"required: the metric name",
    ),
    "window_on_absent": (
        """\
        rules:
          - alert: A
            expr:
              absent: {metric: m}
              window: 5m  #<
            above: 1
        """,
        "rules[0] (A).expr.window",
        r"not used by absent",
    ),
    "ratio_not_a_mapping_not_first": (
        """\
        rules:
          - alert: A
            expr:
              window: 1m
              ratio: [a, b]  #<
            below: 0.5
        """,
        "rules[0] (A).expr.ratio",
        r"must have numerator and denominator",
    ),
    "ratio_part_not_a_mapping": (
        """\
        rules:
          - alert: A
            expr:
              ratio:
                denominator: {metric: b}
                numerator: a  #<
              window: 1m
            below: 0.5
        """,
        "rules[0] (A).expr.ratio.numerator.metric",
        r"required: the metric name",
    ),
    "min_denominator_not_finite": (
        """\
        rules:
          - alert: A
            expr:
              ratio:
                numerator: {metric: a}
                denominator: {metric: b}
                min_denominator: .inf  #<
              window: 1m
            below: 0.5
        """,
        "rules[0] (A).expr.ratio.min_denominator",
        r"finite",
    ),
    "quantile_true": (
        """\
        rules:
          - alert: A
            expr:
              value:
                metric: h
                quantile: true  #<
            above: 1
        """,
        "rules[0] (A).expr.value.quantile",
        r"between 0 and 1",
    ),
    "quantile_above_one": (
        """\
        rules:
          - alert: A
            expr:
              value:
                metric: h
                quantile: 1.5  #<
            above: 1
        """,
        "rules[0] (A).expr.value.quantile",
        r"between 0 and 1",
    ),
    "bare_threshold_not_finite": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: .nan  #<
        """,
        "rules[0] (A).above",
        r"finite",
    ),
    "threshold_not_finite_not_first": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above:
              medium: 1
              high: .inf  #<
        """,
        "rules[0] (A).above.high",
        r"finite",
    ),
    "unknown_severity_not_first": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above:
              medium: 1
              urgent: 5  #<
        """,
        "rules[0] (A).above.urgent",
        r"unknown severity 'urgent'",
    ),
    "severity_given_twice": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above:
              high: 1
              HIGH: 2  #<
        """,
        "rules[0] (A).above.HIGH",
        r"given twice",
    ),
    "nested_label_not_first": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            labels:
              team: x
              owner: {name: y}  #<
        """,
        "rules[0] (A).labels.owner",
        r"must be a string",
    ),
    "annotations_not_a_mapping": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            annotations: [summary]  #<
        """,
        "rules[0] (A).annotations",
        r"mapping of names to strings",
    ),
    "nested_annotation_not_first": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            annotations:
              summary: x
              description: [y]  #<
        """,
        "rules[0] (A).annotations.description",
        r"must be a string",
    ),
    "rate_not_a_mapping": (
        """\
        rules:
          - alert: A
            expr:
              window: 1m
              rate: requests  #<
            above: 1
        """,
        "rules[0] (A).expr.rate.metric",
        r"required: the metric name",
    ),
    "absent_not_a_mapping": (
        """\
        rules:
          - alert: A
            expr:
              by: [queue]
              absent: heartbeat  #<
            above: 1
        """,
        "rules[0] (A).expr.absent.metric",
        r"required: the metric name",
    ),
    "template_error_not_first": (
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            annotations:
              summary: x
              description: "{nope}"  #<
        """,
        "rules[0] (A).annotations.description",
        r"unknown template field 'nope'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_every_error_names_source_line_and_field(tmp_path: Path, case: str) -> None:
    text, field, message = BAD_FILES[case]
    text = textwrap.dedent(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "#<" in row)
    path = write(tmp_path, text)

    loaded = load_rules_file(path)

    error = only(loaded.errors)
    assert error.source == str(path)
    assert error.line == line
    assert error.field == field
    assert re.search(message, error.message), error.message
    # the printed form carries all three for the user
    shown = str(error)
    assert shown.startswith(f"{path}:{line}:")
    if field:
        assert f" {field}:" in shown
    # and a rule with an error is never loaded half-understood (only the good one of two is)
    assert len(loaded.rules) == (
        1 if case in ("duplicate_name", "duplicate_name_not_first", "rule_not_a_mapping") else 0
    )


#: each message of BAD_FILES word for word: a user reads them, and they are all of the fix
FULL_MESSAGES = {
    "bad_alert_name": "required: a name of letters, digits and underscores",
    "bad_field": "must be value, count, sum or quantile",
    "bad_for_duration": "invalid duration '5 minutes' (expected e.g. 30s, 5m, 1h or seconds)",
    "bad_no_data": "must be 'keep' or 'resolve', not 'ignore'",
    "bad_reduce": "must be one of last, sum, max, min, avg",
    "bad_window": "invalid duration 'soon' (expected e.g. 30s, 5m, 1h or seconds)",
    "both_above_and_below": "exactly one of 'above' or 'below' is required",
    "by_not_names": "must be a list of attribute names",
    "duplicate_name": "duplicate alert name (first at rule #1)",
    "empty_ladder": "must map severities (low, medium, high, critical) to numbers",
    "enabled_not_bool": "must be true or false",
    "equal_thresholds_above": "high (100) must be above medium (100)",
    "equal_thresholds_below": "critical (0.3) must be below high (0.3)",
    "invalid_yaml": "not valid YAML/JSON: expected ',' or '}', but got '<scalar>'",
    "labels_not_a_mapping": "must be a mapping of names to strings",
    "match_not_a_mapping": "must map attribute names to a value or a list of values",
    "missing_expr": "required: a mapping with exactly one of value, rate, ratio, absent",
    "missing_metric": "required: the metric name",
    "negative_keep_firing_for": "invalid duration -5: must be a finite, non-negative number of seconds",
    "negative_min_denominator": "must be non-negative",
    "nested_label": "must be a string",
    "non_monotonic_above": "high (100) must be above medium (500)",
    "non_monotonic_below": "critical (0.5) must be below medium (0.1)",
    "quantile_out_of_range": "must be a number between 0 and 1",
    "quantile_without_quantile_field": "only with field: quantile",
    "rate_without_window": "required for rate",
    "ratio_missing_denominator": "required: the metric name",
    "ratio_not_a_mapping": "must have numerator and denominator",
    "ratio_of_quantiles": "a ratio reads numbers (field value, count or sum), not a quantile",
    "ratio_unknown_field": "unknown field",
    "recovery_not_a_number": "must be a number, not [1]",
    "recovery_on_wrong_side": "must be at or below the lowest threshold (100)",
    "recovery_on_wrong_side_below": "must be at or above the lowest threshold (0.5)",
    "rule_not_a_mapping": "each rule must be a mapping",
    "rules_not_a_list": "must be a list",
    "template_attribute_access": "attribute access '.__class__' is not allowed in templates",
    "template_unknown_name": (
        "unknown template field 'os' "
        "(allowed: alert, expr, for, labels, last_firing_value, severity, state, threshold, value, window)"
    ),
    "threshold_not_a_number": "must be a number, not 'lots'",
    "two_expr_kinds": "needs exactly one of value, rate, ratio, absent, found 2",
    "unknown_expr_field": "unknown field (expected value, by, window)",
    "unknown_rule_field": (
        "unknown field (expected one of above, alert, annotations, below, enabled, expr, for, "
        "keep_firing_for, labels, no_data, recovery)"
    ),
    "unknown_selector_field": "unknown field (expected field, match, metric, quantile, reduce)",
    "unknown_severity": "unknown severity 'urgent' (expected one of low, medium, high, critical)",
    "window_on_value": "not used by value",
    "zero_window": "must be positive",
    "rules_not_a_list_after_route": "must be a list",
    "duplicate_name_not_first": "duplicate alert name (first at rule #1)",
    "bad_alert_name_not_first": "required: a name of letters, digits and underscores",
    "expr_not_a_mapping": "required: a mapping with exactly one of value, rate, ratio, absent",
    "value_not_a_mapping": "required: the metric name",
    "rate_not_a_mapping": "required: the metric name",
    "absent_not_a_mapping": "required: the metric name",
    "absent_without_metric": "required: the metric name",
    "window_on_absent": "not used by absent",
    "ratio_not_a_mapping_not_first": "must have numerator and denominator",
    "ratio_part_not_a_mapping": "required: the metric name",
    "min_denominator_not_finite": "must be a finite number",
    "quantile_true": "must be a number between 0 and 1",
    "quantile_above_one": "must be a number between 0 and 1",
    "bare_threshold_not_finite": "must be a finite number",
    "threshold_not_finite_not_first": "must be a finite number",
    "unknown_severity_not_first": "unknown severity 'urgent' (expected one of low, medium, high, critical)",
    "severity_given_twice": "high is given twice",
    "nested_label_not_first": "must be a string",
    "annotations_not_a_mapping": "must be a mapping of names to strings",
    "nested_annotation_not_first": "must be a string",
    "template_error_not_first": (
        "unknown template field 'nope' "
        "(allowed: alert, expr, for, labels, last_firing_value, severity, state, threshold, value, window)"
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_every_error_message_in_full(tmp_path: Path, case: str) -> None:
    assert sorted(FULL_MESSAGES) == sorted(BAD_FILES)
    error = only(load_rules_file(write(tmp_path, textwrap.dedent(BAD_FILES[case][0]))).errors)
    assert error.message == FULL_MESSAGES[case]


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- alert: A\n")
    error = only(load_rules_file(path).errors)
    assert error.source == str(path)
    assert "top level must be a mapping" in error.message


def test_all_errors_are_collected_and_valid_rules_still_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        rules:
          - alert: Good
            expr: {value: {metric: m}}
            above: 1
          - alert: BadFor
            expr: {value: {metric: m}}
            above: 1
            for: never
          - alert: BadLadder
            expr: {value: {metric: m}}
            above: {high: 1, medium: 2}
          - alert: BadEverything
            expr: {value: {metric: m, reduce: p50}}
            above: 1
            no_data: maybe
            for: later
        """,
    )
    loaded = load_rules_file(path)
    assert [r.alert for r in loaded.rules] == ["Good"]
    fields = sorted(e.field or "" for e in loaded.errors)
    assert fields == [
        "rules[1] (BadFor).for",
        "rules[2] (BadLadder).above",
        "rules[3] (BadEverything).expr.value.reduce",
        "rules[3] (BadEverything).for",
        "rules[3] (BadEverything).no_data",
    ]
    assert {e.line for e in loaded.errors} == {8, 11, 13, 15, 16}


def test_a_rule_with_an_unknown_field_is_not_loaded(tmp_path: Path) -> None:
    # A typo such as keep_firng_for must not leave a rule running without the
    # setting the user meant: it is reported and the rule is left out, as the
    # reader's start-up message ("the affected rules are not loaded") says.
    path = write(
        tmp_path,
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            keep_firng_for: 5m
        """,
    )
    loaded = load_rules_file(path)
    assert loaded.rules == ()
    assert len(loaded.errors) == 1


# --- load_rule_set --------------------------------------------------------------


def _simple(name: str, metric: str, threshold: float) -> str:
    return f"  - alert: {name}\n    expr: {{value: {{metric: {metric}}}}}\n    above: {threshold}\n"


def test_rule_set_later_file_replaces_and_disables_earlier_rules(tmp_path: Path) -> None:
    first = write(tmp_path, "rules:\n" + _simple("A", "m1", 1) + _simple("B", "m1", 2), "a.yaml")
    second = write(
        tmp_path,
        "rules:\n"
        + _simple("A", "m2", 5)
        + "  - alert: B\n    enabled: false\n    expr: {value: {metric: x}}\n    above: 1\n"
        + _simple("C", "m3", 3)
        + "route: {receiver: log}\n",
        "b.yaml",
    )
    rule_set = load_rule_set([str(first), str(second)], {}, include_defaults=False)
    assert rule_set.errors == ()
    by_name = {r.alert: r for r in rule_set.rules}
    assert sorted(by_name) == ["A", "C"]
    assert by_name["A"].thresholds == ((Severity.HIGH, 5.0),)
    assert isinstance(by_name["A"].expr, ValueExpr)
    assert by_name["A"].expr.selector.metric == "m2"
    assert dict(rule_set.sources) == {str(second): 2}
    assert rule_set.extra == {"route": {"receiver": "log"}}


def test_a_misspelt_top_level_key_is_an_error_not_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "rules: []\ninhibit_rule:\n  - source_matchers: ['a=\"b\"']\n", "r.yaml")
    (error,) = load_rules_file(path).errors
    expected = "unknown top-level key (expected rules, route, inhibit_rules, receivers)"
    assert str(error) == f"{path}:2: inhibit_rule: {expected}"


def test_rule_set_collects_file_and_override_errors_and_never_raises(tmp_path: Path) -> None:
    good = write(tmp_path, "rules:\n" + _simple("A", "m", 1), "good.yaml")
    bad = write(tmp_path, "rules: [", "bad.yaml")
    rule_set = load_rule_set(
        [str(good), str(bad), str(tmp_path / "missing.yaml")],
        {"OTEL_PYTHON_ALERTING_RULE_A_ABOVE": "high:x", "OTEL_PYTHON_ALERTING_RULE_NOPE_FOR": "1s"},
        include_defaults=False,
    )
    assert [r.alert for r in rule_set.rules] == ["A"]
    sources = sorted(e.source for e in rule_set.errors)
    assert sources == sorted(
        [
            str(bad),
            str(tmp_path / "missing.yaml"),
            "OTEL_PYTHON_ALERTING_RULE_A_ABOVE",
            "OTEL_PYTHON_ALERTING_RULE_NOPE_FOR",
        ]
    )


# --- environment overrides -------------------------------------------------------


def _rules() -> list[Rule]:
    loaded = parse_rules(
        {
            "rules": [
                {
                    "alert": "CacheHitRateLow",
                    "expr": {
                        "ratio": {
                            "numerator": {"metric": "hits"},
                            "denominator": {"metric": "requests"},
                            "min_denominator": 100,
                        },
                        "window": "5m",
                    },
                    "below": {"medium": 0.5, "high": 0.3, "critical": 0.1},
                },
                {
                    "alert": "queue_backlog",
                    "expr": {"value": {"metric": "depth"}},
                    "above": {"medium": 100, "high": 500},
                    "recovery": 80,
                },
                {"alert": "ErrorRate", "expr": {"rate": {"metric": "errors"}, "window": "1m"}, "above": 5},
            ]
        },
        "rules.yaml",
    )
    assert loaded.errors == ()
    return list(loaded.rules)


def _override(variable: str, value: str) -> tuple[dict[str, Rule], list[RuleError]]:
    # variables of other names, sorted before and after the prefix, are left alone
    rules, errors = apply_overrides(_rules(), {variable: value, "ALERT_UNRELATED": "x", "UNRELATED": "x"})
    return {r.alert: r for r in rules}, errors


@pytest.mark.parametrize(
    ("alert", "key"),
    [
        ("CacheHitRateLow", "CACHEHITRATELOW"),
        ("queue_backlog", "QUEUE_BACKLOG"),
        ("Err2", "ERR2"),
        ("disk.free-space", "DISK_FREE_SPACE"),  # a rule built in code, not checked as a file's name
    ],
)
def test_override_key(alert: str, key: str) -> None:
    assert override_key(alert) == key


def test_override_below_ladder() -> None:
    rules, errors = _override("OTEL_PYTHON_ALERTING_RULE_CACHEHITRATELOW_BELOW", "medium:0.6,high:0.4,critical:0.2")
    assert errors == []
    assert rules["CacheHitRateLow"].thresholds == (
        (Severity.MEDIUM, 0.6),
        (Severity.HIGH, 0.4),
        (Severity.CRITICAL, 0.2),
    )
    assert rules["CacheHitRateLow"].direction == "below"
    # other rules untouched
    assert rules["queue_backlog"].thresholds == ((Severity.MEDIUM, 100.0), (Severity.HIGH, 500.0))


def test_override_above_ladder_replaces_all_levels() -> None:
    rules, errors = _override("OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_ABOVE", " high:900 , critical:2000 ")
    assert errors == []
    assert rules["queue_backlog"].thresholds == ((Severity.HIGH, 900.0), (Severity.CRITICAL, 2000.0))


@pytest.mark.parametrize(
    ("variable", "value", "check"),
    [
        ("OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_FOR", "2m", lambda r: r["queue_backlog"].for_ == 120.0),
        (
            "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_KEEP_FIRING_FOR",
            "45s",
            lambda r: r["queue_backlog"].keep_firing_for == 45.0 and r["queue_backlog"].for_ == 0.0,
        ),
        ("OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_RECOVERY", "60", lambda r: r["queue_backlog"].recovery == 60.0),
        ("OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_RECOVERY", "none", lambda r: r["queue_backlog"].recovery is None),
        (
            "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_NO_DATA",
            "resolve",
            lambda r: r["queue_backlog"].no_data == "resolve",
        ),
        ("OTEL_PYTHON_ALERTING_RULE_ERRORRATE_WINDOW", "10m", lambda r: r["ErrorRate"].expr.window == 600.0),
        (
            "OTEL_PYTHON_ALERTING_RULE_CACHEHITRATELOW_WINDOW",
            "1h",
            lambda r: r["CacheHitRateLow"].expr.window == 3600.0,
        ),
        (
            "OTEL_PYTHON_ALERTING_RULE_CACHEHITRATELOW_MIN_DENOMINATOR",
            "20",
            lambda r: r["CacheHitRateLow"].expr.min_denominator == 20.0,
        ),
        ("OTEL_PYTHON_ALERTING_RULE_ERRORRATE_ENABLED", "false", lambda r: "ErrorRate" not in r and len(r) == 2),
        ("OTEL_PYTHON_ALERTING_RULE_ERRORRATE_ENABLED", "off", lambda r: "ErrorRate" not in r),
        ("OTEL_PYTHON_ALERTING_RULE_ERRORRATE_ENABLED", "true", lambda r: "ErrorRate" in r and len(r) == 3),
        ("OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_RECOVERY", "", lambda r: r["queue_backlog"].recovery is None),
        ("OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_RECOVERY", " None ", lambda r: r["queue_backlog"].recovery is None),
        ("OTEL_PYTHON_ALERTING_RULE_ERRORRATE_WINDOW", "1", lambda r: r["ErrorRate"].expr.window == 1.0),
        ("OTEL_PYTHON_ALERTING_RULE_ERRORRATE_WINDOW", "0.5", lambda r: r["ErrorRate"].expr.window == 0.5),
        (
            "OTEL_PYTHON_ALERTING_RULE_CACHEHITRATELOW_MIN_DENOMINATOR",
            "0",
            lambda r: r["CacheHitRateLow"].expr.min_denominator == 0.0,
        ),
        (
            "OTEL_PYTHON_ALERTING_RULE_CACHEHITRATELOW_MIN_DENOMINATOR",
            "0.5",
            lambda r: r["CacheHitRateLow"].expr.min_denominator == 0.5,
        ),
        (
            "OTEL_PYTHON_ALERTING_RULE_CACHEHITRATELOW_ABOVE",
            "medium:1",
            lambda r: (
                r["CacheHitRateLow"].direction == "above"
                and r["CacheHitRateLow"].thresholds == ((Severity.MEDIUM, 1.0),)
            ),
        ),
        # an above rule turned into a below one (its recovery, 80, is above the lowest level)
        (
            "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_BELOW",
            "medium:10,high:5",
            lambda r: (
                r["queue_backlog"].direction == "below"
                and r["queue_backlog"].thresholds == ((Severity.MEDIUM, 10.0), (Severity.HIGH, 5.0))
            ),
        ),
    ],
)
def test_override_each_field(variable: str, value: str, check: object) -> None:
    rules, errors = _override(variable, value)
    assert errors == []
    assert check(rules)  # type: ignore[operator]


_NAMES = "(names: CACHEHITRATELOW, ERRORRATE, QUEUE_BACKLOG)"
_SUFFIXES = "KEEP_FIRING_FOR, MIN_DENOMINATOR, ENABLED, ABOVE, BELOW, FOR, RECOVERY, WINDOW, NO_DATA"
_HINT = "(expected e.g. 30s, 5m, 1h or seconds)"
_PREFIX = "OTEL_PYTHON_ALERTING_RULE_"

#: (variable without its prefix, value, the error's message word for word: the refused
#: value follows it, unless the message already shows it)
OVERRIDE_ERRORS = [
    ("NOSUCHRULE_FOR", "1m", f"no loaded rule is named 'NOSUCHRULE' {_NAMES}"),
    ("QUEUE_BACKLOG_TRESHOLD", "1", f"unknown field (expected a suffix of {_SUFFIXES})"),
    (
        "QUEUE_BACKLOG_ABOVE",
        "high:500,critical:100",
        "critical (100) must be above high (500) (value 'high:500,critical:100')",
    ),
    ("QUEUE_BACKLOG_ABOVE", "500", "expected severity:number pairs, e.g. medium:0.6,high:0.4 (value '500')"),
    ("QUEUE_BACKLOG_ABOVE", "high:lots", "'lots' is not a number (value 'high:lots')"),
    ("QUEUE_BACKLOG_ABOVE", "high:1:2", "'1:2' is not a number (value 'high:1:2')"),
    (
        "QUEUE_BACKLOG_ABOVE",
        "urgent:5",
        "unknown severity 'urgent' (expected one of low, medium, high, critical) (value 'urgent:5')",
    ),
    ("QUEUE_BACKLOG_ABOVE", "high:nan", "must be a finite number (value 'high:nan')"),
    ("QUEUE_BACKLOG_ABOVE", "high:1,high:2", "high is given twice (value 'high:1,high:2')"),
    ("QUEUE_BACKLOG_ABOVE", "high:1,HIGH:2", "high is given twice (value 'high:1,HIGH:2')"),
    ("QUEUE_BACKLOG_FOR", "forever", f"invalid duration 'forever' {_HINT}"),
    ("QUEUE_BACKLOG_KEEP_FIRING_FOR", "-1s", f"invalid duration '-1s' {_HINT}"),
    ("QUEUE_BACKLOG_RECOVERY", "high", "'high' is not a number (value 'high')"),
    (
        "QUEUE_BACKLOG_RECOVERY",
        "150",
        f"must be at or below the lowest threshold (100) (values {_PREFIX}QUEUE_BACKLOG_RECOVERY='150')",
    ),
    ("QUEUE_BACKLOG_RECOVERY", "-inf", "must be a finite number (value '-inf')"),
    ("QUEUE_BACKLOG_NO_DATA", "drop", "must be 'keep' or 'resolve', not 'drop' (value 'drop')"),
    ("QUEUE_BACKLOG_ENABLED", "maybe", "must be true or false (value 'maybe')"),
    ("QUEUE_BACKLOG_WINDOW", "5m", "only rate and ratio rules have a window (value '5m')"),
    ("ERRORRATE_WINDOW", "0", "must be positive (value '0')"),
    ("ERRORRATE_WINDOW", "soon", f"invalid duration 'soon' {_HINT}"),
    ("ERRORRATE_MIN_DENOMINATOR", "5", "only ratio rules have min_denominator (value '5')"),
    ("CACHEHITRATELOW_MIN_DENOMINATOR", "many", "'many' is not a number (value 'many')"),
    ("CACHEHITRATELOW_MIN_DENOMINATOR", "nan", "must be a finite number (value 'nan')"),
    ("CACHEHITRATELOW_MIN_DENOMINATOR", "-1", "must be non-negative (value '-1')"),
]


@pytest.mark.parametrize(("name", "value", "message"), OVERRIDE_ERRORS)
def test_override_errors_name_the_variable_and_keep_the_rule(name: str, value: str, message: str) -> None:
    variable = _PREFIX + name
    rules, errors = _override(variable, value)
    error = only(errors)
    assert error.source == variable
    assert str(error) == f"{variable}: {message}"
    # the rule stays as the file defined it
    original = {r.alert: r for r in _rules()}
    assert rules == original


@pytest.mark.parametrize(
    ("value", "enabled"),
    [
        *[(v, False) for v in ("false", "0", "no", "off", "FALSE", " Off ")],
        *[(v, True) for v in ("true", "1", "yes", "on", "TRUE", " Yes ")],
    ],
)
def test_override_enabled_spellings(value: str, enabled: bool) -> None:
    rules, errors = _override("OTEL_PYTHON_ALERTING_RULE_ERRORRATE_ENABLED", value)
    assert errors == []
    assert ("ErrorRate" in rules) is enabled
    assert len(rules) == (3 if enabled else 2)


def test_an_override_when_no_rule_is_loaded() -> None:
    rules, errors = apply_overrides([], {"OTEL_PYTHON_ALERTING_RULE_A_FOR": "1m"})
    assert rules == []
    assert [str(e) for e in errors] == ["OTEL_PYTHON_ALERTING_RULE_A_FOR: no loaded rule is named 'A' (names: none)"]


def test_a_bad_override_leaves_the_next_variables_applied() -> None:
    rules, errors = apply_overrides(
        _rules(),
        {
            "OTEL_PYTHON_ALERTING_RULE_ERRORRATE_FOR": "soon",
            "OTEL_PYTHON_ALERTING_RULE_ERRORRATE_KEEP_FIRING_FOR": "-1",
            "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_FOR": "1m",
            "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_NO_DATA": "resolve",
        },
    )
    assert [e.source for e in errors] == [
        "OTEL_PYTHON_ALERTING_RULE_ERRORRATE_FOR",
        "OTEL_PYTHON_ALERTING_RULE_ERRORRATE_KEEP_FIRING_FOR",
    ]
    backlog = next(r for r in rules if r.alert == "queue_backlog")
    assert (backlog.for_, backlog.no_data) == (60.0, "resolve")


def test_a_direction_change_clashing_with_file_recovery_is_reverted_with_its_direction() -> None:
    # queue_backlog: above {medium: 100, high: 500}, recovery 80; below 100, 80 is on the wrong side
    rules, errors = apply_overrides(_rules(), {"OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_BELOW": "medium:100,high:90"})
    assert [str(e) for e in errors] == [
        "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_BELOW: must be at or above the lowest threshold (100) "
        "(values OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_BELOW='medium:100,high:90')"
    ]
    backlog = next(r for r in rules if r.alert == "queue_backlog")
    assert (backlog.direction, backlog.thresholds, backlog.recovery) == (
        "above",
        ((Severity.MEDIUM, 100.0), (Severity.HIGH, 500.0)),
        80.0,
    )


def test_ladder_and_recovery_overrides_that_clash_are_named_together() -> None:
    rules, errors = apply_overrides(
        _rules(),
        {
            "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_ABOVE": "medium:50",
            "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_RECOVERY": "60",
        },
    )
    assert [str(e) for e in errors] == [
        "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_ABOVE and OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_RECOVERY: "
        "must be at or below the lowest threshold (50) (values OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_ABOVE="
        "'medium:50', OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_RECOVERY='60')"
    ]
    backlog = next(r for r in rules if r.alert == "queue_backlog")
    assert (backlog.thresholds, backlog.recovery) == (((Severity.MEDIUM, 100.0), (Severity.HIGH, 500.0)), 80.0)


def test_unknown_rule_error_lists_the_loaded_names() -> None:
    _, errors = _override("OTEL_PYTHON_ALERTING_RULE_QUEUEBACKLOG_FOR", "1m")
    assert "CACHEHITRATELOW, ERRORRATE, QUEUE_BACKLOG" in only(errors).message


def test_several_overrides_of_one_rule_combine() -> None:
    rules, errors = apply_overrides(
        _rules(),
        {
            "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_ABOVE": "medium:50",
            "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_RECOVERY": "40",
            "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_FOR": "10s",
        },
    )
    assert errors == []
    backlog = next(r for r in rules if r.alert == "queue_backlog")
    assert (backlog.thresholds, backlog.recovery, backlog.for_) == (((Severity.MEDIUM, 50.0),), 40.0, 10.0)


def test_overrides_are_checked_together_whatever_the_variable_order() -> None:
    # ABOVE sorts before RECOVERY: lowering both at once must not fail on the
    # intermediate state (medium 50 with the file's recovery 80).
    rules, errors = apply_overrides(
        _rules(),
        {
            "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_RECOVERY": "40",
            "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_ABOVE": "medium:50,high:60",
        },
    )
    assert errors == []
    backlog = next(r for r in rules if r.alert == "queue_backlog")
    assert backlog.recovery == 40.0
    assert backlog.thresholds[0] == (Severity.MEDIUM, 50.0)


def test_ladder_override_clashing_with_file_recovery_is_reported_and_reverted() -> None:
    rules, errors = apply_overrides(
        _rules(),
        {
            "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_ABOVE": "medium:50",
            "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_FOR": "10s",
        },
    )
    error = only(errors)
    assert error.source == "OTEL_PYTHON_ALERTING_RULE_QUEUE_BACKLOG_ABOVE"
    assert "at or below the lowest threshold (50)" in error.message
    assert "'medium:50'" in error.message
    backlog = next(r for r in rules if r.alert == "queue_backlog")
    # thresholds stay as the file has them (consistent with its recovery); FOR still applies
    assert backlog.thresholds == ((Severity.MEDIUM, 100.0), (Severity.HIGH, 500.0))
    assert backlog.recovery == 80.0
    assert backlog.for_ == 10.0


def test_keep_firing_for_override_is_not_taken_for_a_for_override() -> None:
    rules, errors = apply_overrides(_rules(), {"OTEL_PYTHON_ALERTING_RULE_ERRORRATE_KEEP_FIRING_FOR": "1m"})
    assert errors == []
    error_rate = next(r for r in rules if r.alert == "ErrorRate")
    assert (error_rate.for_, error_rate.keep_firing_for) == (0.0, 60.0)


def test_rule_set_file_rule_replaces_a_built_in_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import otel_alerting.rules as rules_package

    built_in = [
        Rule("A", ValueExpr(Selector("m")), "above", ((Severity.HIGH, 1.0),)),
        Rule("B", ValueExpr(Selector("m")), "above", ((Severity.HIGH, 1.0),)),
    ]
    monkeypatch.setattr(rules_package, "default_rules", lambda: list(built_in))
    path = write(tmp_path, "rules:\n" + _simple("A", "mine", 9))

    rule_set = load_rule_set([str(path)], {"OTEL_PYTHON_ALERTING_RULE_B_ABOVE": "critical:3"})
    assert rule_set.errors == ()
    by_name = {r.alert: r for r in rule_set.rules}
    assert by_name["A"].thresholds == ((Severity.HIGH, 9.0),)
    assert by_name["B"].thresholds == ((Severity.CRITICAL, 3.0),)  # overrides reach built-in rules too
    assert dict(rule_set.sources) == {"built-in": 1, str(path): 1}

    without = load_rule_set([str(path)], {}, include_defaults=False)
    assert [r.alert for r in without.rules] == ["A"]


def test_a_bare_enabled_false_disables_a_rule_defined_elsewhere(tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text(
        "rules:\n  - alert: Keep\n    expr: {value: {metric: m}}\n    above: {high: 1}\n"
        "  - alert: Drop\n    expr: {value: {metric: m}}\n    above: {high: 1}\n"
    )
    second = tmp_path / "b.yaml"
    second.write_text("rules:\n  - {alert: Drop, enabled: false}\n")
    rule_set = load_rule_set([str(first), str(second)], {}, include_defaults=False)
    assert rule_set.errors == ()
    assert [r.alert for r in rule_set.rules] == ["Keep"]


def test_an_override_name_shared_by_two_rules_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "rules:\n  - alert: QueueBacklog\n    expr: {value: {metric: m}}\n    above: {high: 1}\n"
        "  - alert: QUEUEBACKLOG\n    expr: {value: {metric: m}}\n    above: {high: 1}\n"
    )
    rule_set = load_rule_set(
        [str(path)], {"OTEL_PYTHON_ALERTING_RULE_QUEUEBACKLOG_ABOVE": "high:5"}, include_defaults=False
    )
    assert [str(e) for e in rule_set.errors] == [
        "OTEL_PYTHON_ALERTING_RULE_QUEUEBACKLOG_ABOVE: ambiguous: rules QUEUEBACKLOG and QueueBacklog share this "
        "override name; rename one"
    ]
    assert all(r.thresholds[0][1] == 1 for r in rule_set.rules)
