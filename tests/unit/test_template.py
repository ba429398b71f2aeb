from __future__ import annotations

from typing import Any

import pytest

from otel_alerting.rules.template import ALLOWED_NAMES, TemplateError, render, validate

VALUES: dict[str, Any] = {
    "alert": "QueueBacklog",
    "value": 612.4,
    "threshold": 500.0,
    "severity": "HIGH",
    "state": "FIRING",
    "labels": {"queue": "ingest", "alertname": "QueueBacklog"},
    "for": "30s",
    "window": "5m",
    "expr": "max(app.queue.depth)",
    "last_firing_value": 700.0,
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Queue {labels[queue]} holds {value:.0f} items", "Queue ingest holds 612 items"),
        ("{alert} is {state} at {severity}", "QueueBacklog is FIRING at HIGH"),
        ("{value:.1f} >= {threshold:g}", "612.4 >= 500"),
        ("{expr} for {for} over {window}", "max(app.queue.depth) for 30s over 5m"),
        ("missing label: [{labels[nope]}]", "missing label: []"),
        ("{{literal braces}}", "{literal braces}"),
        ("{value!r}", "612.4"),
        ("no fields at all", "no fields at all"),
    ],
)
def test_render_fills_allowed_fields(template: str, expected: str) -> None:
    assert render(template, VALUES) == expected


def test_render_shows_none_as_na_even_with_a_numeric_format() -> None:
    assert render("value {value:.2f}", {**VALUES, "value": None}) == "value n/a"


@pytest.mark.parametrize(
    "template",
    [
        "{value.__class__}",
        "{value.__class__.__mro__}",
        "{labels.__class__}",
        "{labels[queue].__class__}",
        "{labels.get}",
        "{alert.upper}",
        "{value.real}",
    ],
)
def test_attribute_access_is_rejected(template: str) -> None:
    with pytest.raises(TemplateError, match="attribute access"):
        validate(template)
    # and rendering never reaches the attribute: the raw template comes back
    assert render(template, VALUES) == template


@pytest.mark.parametrize(
    "template",
    ["{os}", "{__builtins__}", "{0}", "{}", "{self}", "{rule}", "{labels_}"],
)
def test_unknown_top_level_names_are_rejected(template: str) -> None:
    with pytest.raises(TemplateError, match="unknown template field"):
        validate(template)
    assert render(template, VALUES) == template


@pytest.mark.parametrize(
    "template",
    ["{value[0]}", "{alert[0]}", "{labels[queue][0]}", "{severity:.2f}", "{value:zz}", "{labels[queue", "{value"],
)
def test_invalid_templates_fail_validation_and_render_raw(template: str) -> None:
    with pytest.raises(TemplateError):
        validate(template)
    assert render(template, VALUES) == template


def test_nested_format_spec_cannot_smuggle_attribute_access() -> None:
    template = "{value:{value.__class__}}"
    with pytest.raises(TemplateError):
        validate(template)
    assert render(template, VALUES) == template


def test_allowed_names_are_exactly_the_alerts_own_values() -> None:
    assert frozenset(VALUES) == ALLOWED_NAMES
    for name in ALLOWED_NAMES:
        validate("{" + name + "}")


def test_errors_say_what_is_wrong() -> None:
    allowed = "alert, expr, for, labels, last_firing_value, severity, state, threshold, value, window"
    with pytest.raises(TemplateError) as info:
        validate("{os}")
    assert str(info.value) == f"unknown template field 'os' (allowed: {allowed})"
    with pytest.raises(TemplateError) as info:
        validate("{alert[0]}")
    assert str(info.value) == "alert cannot be indexed"
    with pytest.raises(TemplateError) as info:
        validate("{severity:.2f}")
    assert str(info.value) == "bad format spec '.2f': Unknown format code 'f' for object of type 'str'"
    with pytest.raises(TemplateError) as info:
        validate("{value")
    assert str(info.value) == "invalid template '{value': expected '}' before end of string"


@pytest.mark.parametrize(
    "template", ["{value:d}", "{threshold:d}", "{last_firing_value:d}", "{value:,d}", "{value:x}", "{value:c}"]
)
def test_integer_only_format_specs_fail_validation(template: str) -> None:
    # values are floats: `{value:d}` could never render, so the rule is refused at load
    with pytest.raises(TemplateError, match="bad format spec"):
        validate(template)
    assert render(template, VALUES) == template
