"""The one rule for a channel's positive durations (timeouts, Alertmanager's resend
delay), and the wording each channel keeps for it."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from otel_alerting import environment_variables as ev
from otel_alerting.channels._env import EnvReader, positive_seconds
from otel_alerting.channels.alertmanager import load_alertmanager_config
from otel_alerting.channels.webhook import load_webhook_config
from otel_alerting.config import ConfigError

VARIABLE = "OTEL_PYTHON_ALERTING_EXAMPLE_TIMEOUT"


@pytest.mark.parametrize(("raw", "seconds"), [("10s", 10.0), ("500ms", 0.5), ("2.5", 2.5), ("1m30s", 90.0)])
def test_a_positive_duration_is_read_in_seconds(raw: str, seconds: float) -> None:
    assert positive_seconds(raw, VARIABLE, 7.0) == (seconds, [])


def test_unset_gives_the_default_and_no_error() -> None:
    assert positive_seconds(None, VARIABLE, 7.0) == (7.0, [])


@pytest.mark.parametrize("raw", ["0", "0s", "-1s", "-1", "abc", "10 parsecs", "inf", "-inf", "nan", "1e400"])
def test_anything_else_gives_the_default_and_an_error_naming_variable_and_value(raw: str) -> None:
    assert positive_seconds(raw, VARIABLE, 7.0) == (
        7.0,
        [ConfigError(VARIABLE, f"invalid value {raw!r}: expected a positive duration such as 10s")],
    )


def test_the_example_ends_the_error() -> None:
    errors = positive_seconds("0", VARIABLE, 7.0, "1m")[1]
    assert [e.message for e in errors] == ["invalid value '0': expected a positive duration such as 1m"]


def test_the_reader_applies_the_same_rule_and_reports_the_alias_it_read() -> None:
    env = EnvReader({"ALERT_EXAMPLE_TIMEOUT": "nan", "GOOD": "500ms"})
    assert env.seconds(VARIABLE, 7.0, alias="ALERT_EXAMPLE_TIMEOUT") == 7.0
    assert env.seconds("GOOD", 7.0) == 0.5
    assert env.seconds("UNSET", 7.0) == 7.0
    assert env.errors == [
        ConfigError(
            "ALERT_EXAMPLE_TIMEOUT",
            "invalid value 'nan': expected a positive duration such as 10s, 500ms or a number of seconds",
        )
    ]


# Each channel's wording, as it was before the rule was shared (users see these lines).
@pytest.mark.parametrize(
    ("load", "environ", "message"),
    [
        (
            load_webhook_config,
            {ev.OTEL_PYTHON_ALERTING_WEBHOOK_URL: "http://h/", ev.OTEL_PYTHON_ALERTING_WEBHOOK_TIMEOUT: "inf"},
            "invalid value 'inf': expected a positive duration such as 10s",
        ),
        (
            load_alertmanager_config,
            {ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS: "http://am", ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_TIMEOUT: "0"},
            "invalid value '0': expected a positive duration such as 10s",
        ),
        (
            load_alertmanager_config,
            {
                ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS: "http://am",
                ev.OTEL_PYTHON_ALERTING_ALERTMANAGER_RESEND: "-1s",
            },
            "invalid value '-1s': expected a positive duration such as 1m",
        ),
    ],
)
def test_each_channel_keeps_its_wording(
    load: Callable[[Mapping[str, str]], tuple[object, list[ConfigError]]], environ: dict[str, str], message: str
) -> None:
    config, errors = load(environ)
    assert config is None
    assert [e.message for e in errors] == [message]
