"""Templates that would write without bound, and Prometheus's Go templates written
where ours are expected: refused at load, with the rule's file and line."""

from __future__ import annotations

import resource
import textwrap
from pathlib import Path
from typing import Any

import pytest

from otel_alerting.rules import load_rules_file
from otel_alerting.rules.template import MAX_RENDERED, MAX_SPEC_NUMBER, TemplateError, render, validate

VALUES: dict[str, Any] = {
    "alert": "QueueBacklog",
    "value": 612.4,
    "threshold": 500.0,
    "severity": "HIGH",
    "state": "FIRING",
    "labels": {"queue": "ingest"},
    "for": "30s",
    "window": "5m",
    "expr": "max(app.queue.depth)",
    "last_firing_value": 700.0,
}


@pytest.mark.parametrize(
    ("template", "part"),
    [
        ("{value:>300000000}", "width 300000000"),
        ("{value:0300000000}", "width 300000000"),
        ("{labels[queue]:x^300000000}", "width 300000000"),
        ("{alert:257}", "width 257"),
        ("{value:.300f}", "precision 300"),
        ("{value:,.1000000000000g}", "precision 1000000000000"),
        ("{expr:.257}", "precision 257"),
    ],
)
def test_a_width_or_precision_beyond_the_limit_is_refused(template: str, part: str) -> None:
    with pytest.raises(TemplateError, match=f"{part} is larger than {MAX_SPEC_NUMBER}"):
        validate(template)
    assert render(template, VALUES) == template


@pytest.mark.parametrize(
    ("template", "length"), [("{value:>256}", 256), ("{value:.256f}", 260), ("{labels[queue]:*^256}", 256)]
)
def test_widths_and_precisions_up_to_the_limit_render(template: str, length: int) -> None:
    validate(template)
    assert len(render(template, VALUES)) == length


def test_a_width_from_a_nested_field_is_checked_when_rendering() -> None:
    # valid with the sample values (threshold 1.0), unbounded with the real ones
    template = "{value:>{threshold}}"
    validate(template)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert render(template, {**VALUES, "threshold": 300_000_000}) == template
    assert render(template, {**VALUES, "threshold": 12}) == "       612.4"
    # no 300 MB string was made on the way (ru_maxrss is in KiB)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 100_000


@pytest.mark.parametrize(
    ("template", "hint"),
    [
        ("Queue {{ $labels.queue }} is full", "write {labels[queue]}"),
        ("Queue {{$labels.queue}} is full", "write {labels[queue]}"),
        ("Queue {{- .Labels.queue -}} is full", "write {labels[queue]}"),
        ("value {{ $value }}", "write {value}"),
        ("value {{ .Value }}", "write {value}"),
        ("{{ humanize $value }}", "single braces"),
        ('{{ printf "%.2f" $value }}', "single braces"),
        ("{{ if gt $value 1.0 }}high{{ end }}", "single braces"),
        ("done{{ end }}", "single braces"),
        ("{{ $externalLabels.env }}", "single braces"),
    ],
)
def test_go_template_syntax_is_refused_with_a_hint(template: str, hint: str) -> None:
    with pytest.raises(TemplateError, match="Go-template syntax") as info:
        validate(template)
    assert hint in str(info.value)


@pytest.mark.parametrize("template", ["{{literal braces}}", "{{ json }} {value}", "{{a-b}}", "set {{x}}"])
def test_doubled_braces_that_are_not_go_actions_stay_literal_text(template: str) -> None:
    validate(template)
    assert "{" in render(template, VALUES)


def test_the_loader_reports_each_template_problem_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            rules:
              - alert: A
                expr: {value: {metric: m}}
                above: 1
                annotations:
                  summary: "Queue {{ $labels.queue }} holds {{ $value }}"
              - alert: B
                expr: {value: {metric: m}}
                above: 1
                annotations:
                  description: "{value:>300000000}"
              - alert: C
                expr: {value: {metric: m}}
                above: 1
                annotations: {summary: "Queue {labels[queue]} holds {value:.0f}"}
            """
        ),
        encoding="utf-8",
    )
    loaded = load_rules_file(path)
    assert [r.alert for r in loaded.rules] == ["C"]
    errors = sorted(str(e) for e in loaded.errors)
    assert errors == [
        f"{path}:11: rules[1] (B).annotations.description: format spec '>300000000': width 300000000 "
        f"is larger than {MAX_SPEC_NUMBER}",
        f"{path}:6: rules[0] (A).annotations.summary: '{{{{ $labels.queue }}}}' is Go-template syntax, "
        "which is shown as it is here: write {labels[queue]}",
    ]


@pytest.mark.parametrize(
    "template",
    [
        "{value.__class__}",
        "{labels.__dict__}",
        "{labels.__class__.__init__.__globals__}",
        "{labels[queue].__class__}",
        "{value:{value.__class__}}",
        "{value:{labels.__dict__}}",
        "{0}",
        "{}",
        "{0.__class__}",
        "{os.environ}",
        "{__import__}",
        "{labels[__dict__].x}",
        "{value!r:{alert.upper}}",
    ],
)
def test_templates_cannot_reach_python_objects_or_the_environment(template: str) -> None:
    with pytest.raises(TemplateError):
        validate(template)
    assert render(template, VALUES) == template


def test_a_rendered_annotation_is_clipped_with_a_marker() -> None:
    huge = "q" * 1_048_576
    text = render("Queue {labels[queue]} is full", {**VALUES, "labels": {"queue": huge}})
    assert len(text) <= MAX_RENDERED and text.startswith("Queue qqq")
    assert text.endswith(f"…[truncated {len('Queue  is full') + len(huge) - text.index('…')} chars]")
    assert render("Queue {labels[queue]}", VALUES) == "Queue ingest"
