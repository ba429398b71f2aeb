"""Every duration setting is bounded: NaN, infinities, negatives and values longer than
365 days are errors naming the variable and the limit, and the default is kept."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from otel_alerting.config import MAX_INTERVAL_MS, EnvReader, Settings, load_settings
from otel_alerting.configuration import load_configuration
from otel_alerting.durations import MAX_DURATION_S, parse_duration
from otel_alerting.instrumentation.probes.targets import load_probe_settings

P = "OTEL_PYTHON_ALERTING_"
#: every channel enabled and complete, so that each reads its own durations
FULL = {
    P + "CHANNELS": "log,console,email,slack,mattermost,webhook,pagerduty,alertmanager,otel_logs",
    P + "EMAIL_SMTP_HOST": "localhost",
    P + "EMAIL_FROM": "a@example.com",
    P + "EMAIL_TO": "b@example.com",
    P + "SLACK_WEBHOOK_URL": "http://127.0.0.1:1/slack",
    P + "MATTERMOST_WEBHOOK_URL": "http://127.0.0.1:1/mm",
    P + "WEBHOOK_URL": "http://127.0.0.1:1/hook",
    P + "PAGERDUTY_ROUTING_KEY": "k" * 32,
    P + "ALERTMANAGER_URLS": "http://127.0.0.1:1",
    P + "HEARTBEAT_URL": "http://127.0.0.1:1/ping",
    P + "REDIS_URL": "redis://127.0.0.1:1",
    P + "OTEL_LOGS": "true",
}


def load_everything(environ: Mapping[str, str]) -> list[str]:
    """The problems of everything the environment configures."""
    problems = load_configuration(load_settings(environ), environ).problems
    return problems + [str(e) for e in load_probe_settings(environ).errors]


@pytest.fixture(scope="module")
def duration_variables() -> list[str]:
    """Every variable read as a duration, found by watching the reader read them."""
    read: set[str] = set()
    originals: dict[str, Callable[..., Any]] = {
        name: getattr(EnvReader, name) for name in ("duration", "seconds", "parsed")
    }

    def watch(name: str) -> Callable[..., Any]:
        def wrapper(self: EnvReader, variable: str, *args: Any, **kwargs: Any) -> Any:
            if name != "parsed" or args[0] is parse_duration:
                read.add(variable)
            return originals[name](self, variable, *args, **kwargs)

        return wrapper

    with pytest.MonkeyPatch.context() as patch:
        for name in originals:
            patch.setattr(EnvReader, name, watch(name))
        assert load_everything(FULL) == []
    return sorted(read)


def test_the_watch_finds_the_duration_settings(duration_variables: list[str]) -> None:
    expected = {"COOLDOWN", "DELIVERY_DEADLINE", "SHUTDOWN_TIMEOUT", "HEARTBEAT_INTERVAL", "GROUP_WAIT"}
    expected |= {"PROBE_INTERVAL", "PROBE_TIMEOUT", "WEBHOOK_TIMEOUT", "EMAIL_TIMEOUT", "ALERTMANAGER_RESEND"}
    assert {P + name for name in expected} <= set(duration_variables), duration_variables


@pytest.mark.parametrize("value", ["1e30", "366d", "53w", "31536001", "inf", "nan", "-1", "-5s", "9" * 400])
def test_every_duration_setting_refuses_what_is_out_of_bounds(duration_variables: list[str], value: str) -> None:
    for variable in duration_variables:
        problems = load_everything({**FULL, variable: value})
        assert any(p.startswith(f"{variable}: ") for p in problems), (variable, value, problems)


def test_every_duration_setting_accepts_the_maximum(duration_variables: list[str]) -> None:
    for variable in duration_variables:
        assert load_everything({**FULL, variable: "365d"}) == [], variable


@pytest.mark.parametrize("value", ["1e30", "31536000001", "inf", "nan", "-1", "9" * 400])
def test_the_interval_is_bounded(value: str) -> None:
    settings = load_settings({P + "INTERVAL": value})
    (error,) = settings.errors
    assert str(error).startswith(f"{P}INTERVAL: invalid value ")
    assert settings.interval_ms == Settings.interval_ms


def test_the_interval_at_its_maximum_can_be_waited_for() -> None:
    import threading

    settings = load_settings({P + "INTERVAL": str(int(MAX_INTERVAL_MS))})
    assert settings.errors == () and settings.interval_ms == MAX_INTERVAL_MS == MAX_DURATION_S * 1000
    # what the timer thread waits: 1e30 ms ended in OverflowError there
    assert settings.interval_ms / 1000 < threading.TIMEOUT_MAX


def test_an_error_quotes_a_long_value_cut_short() -> None:
    settings = load_settings({P + "COOLDOWN": "x" * 1_000_000})
    (error,) = settings.errors
    assert len(str(error)) < 200 and "..." in str(error)


@pytest.mark.parametrize("value", ["1e308", "1e309", "-0", "0x10", "1_000", "\u0661", "1e-400"])
def test_odd_numbers_never_raise(value: str) -> None:
    for name in ("INTERVAL", "HISTORY_SIZE", "QUEUE_SIZE", "CARDINALITY_LIMIT", "COOLDOWN"):
        settings = load_settings({P + name: value})
        assert all(str(e).startswith(P + name) for e in settings.errors)


@pytest.mark.parametrize("field", ["FOR", "KEEP_FIRING_FOR"])
def test_a_duration_override_longer_than_the_maximum_is_an_error(field: str) -> None:
    from otel_alerting.rules import load_rule_set

    variable = f"{P}RULE_MEMORYPRESSURE_{field}"
    rule_set = load_rule_set([], {variable: "1e30"})
    assert [str(e) for e in rule_set.errors] == [
        f"{variable}: invalid duration '1e30': longer than the maximum of 365d"
    ]
    memory = next(r for r in rule_set.rules if r.alert == "MemoryPressure")
    assert (memory.for_, memory.keep_firing_for) == (30.0, 0.0)  # the pack's own, kept
