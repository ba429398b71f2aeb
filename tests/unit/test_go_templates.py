"""The named format specs of our templates are written as Prometheus's own functions."""

from __future__ import annotations

import pytest

from otel_alerting.rules.go_templates import TemplateFacts, to_go_template

FACTS = TemplateFacts("A", "HIGH", 1_500_000.0, "30s", "5m", "x")


@pytest.mark.parametrize(
    ("template", "go"),
    [
        ("{value:humanize}", "{{ humanize $value }}"),
        ("{value:humanizePercentage}", "{{ humanizePercentage $value }}"),
        ("{value:go}", "{{ $value }}"),
        ("{last_firing_value:humanize}", "{{ humanize $value }}"),
        ("{last_firing_value:humanizePercentage}", "{{ humanizePercentage $value }}"),
        ("{last_firing_value:go}", "{{ $value }}"),
    ],
)
def test_named_value_specs_are_exact(template: str, go: str) -> None:
    assert to_go_template(template, FACTS) == (go, [])


def test_named_specs_on_a_fixed_field_are_applied_to_its_literal() -> None:
    text, notes = to_go_template("{threshold:humanize} {threshold:humanizePercentage} {threshold:go}", FACTS)
    assert (text, notes) == ("1.5M 1.5e+08% 1.5e+06", [])


def test_a_spec_without_a_go_form_is_still_reported() -> None:
    text, notes = to_go_template("{value:>10}", FACTS)
    assert text == "{{ $value }}"
    assert notes == ["format spec '>10' dropped"]
