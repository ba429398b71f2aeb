from __future__ import annotations

import os

import pytest

from otel_alerting.channels import ConsoleChannel, LogChannel, build_channels
from otel_alerting.config import Settings, load_settings

P = "OTEL_PYTHON_ALERTING_"


def test_defaults_with_an_empty_environment() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.errors == ()
    assert settings.enabled is True
    assert settings.interval_ms == 1000.0
    assert settings.mode == "reader"
    assert settings.channels == ("log", "console")
    assert settings.cooldown_s == 60.0


def test_load_settings_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(P + "INTERVAL", "250")
    assert load_settings().interval_ms == 250.0


@pytest.mark.parametrize(
    ("variable", "value", "attribute", "expected"),
    [
        ("ENABLED", "false", "enabled", False),
        ("ENABLED", " No ", "enabled", False),
        ("ENABLED", "1", "enabled", True),
        ("STRICT", "true", "strict", True),
        ("STRICT", "ON", "strict", True),
        ("INTERVAL", "500", "interval_ms", 500.0),
        ("INTERVAL", "2.5e3", "interval_ms", 2500.0),
        ("MODE", "EXPORT", "mode", "export"),
        ("EXPORTERS", "otlp, console ,", "exporters", ("otlp", "console")),
        ("RULES", f"a.yaml{os.pathsep}b.yaml", "rules_paths", ("a.yaml", "b.yaml")),
        ("DEFAULT_RULES", "off", "default_rules", False),
        ("COOLDOWN", "5m", "cooldown_s", 300.0),
        ("COOLDOWN", "0", "cooldown_s", 0.0),
        ("HISTORY_SIZE", "50", "history_size", 50),
        ("CARDINALITY_LIMIT", "20000", "cardinality_limit", 20000),
        ("CHANNELS", "log", "channels", ("log",)),
        ("CHANNELS", "console,log", "channels", ("console", "log")),
        ("CHANNELS", "none", "channels", ()),
        ("CONSOLE_COLOR", "Always", "console_color", "always"),
        ("QUEUE_SIZE", "10", "queue_size", 10),
        ("INTERVAL", "   ", "interval_ms", 1000.0),
    ],
)
def test_each_setting_is_read(variable: str, value: str, attribute: str, expected: object) -> None:
    settings = load_settings({P + variable: value})
    assert settings.errors == ()
    assert getattr(settings, attribute) == expected


@pytest.mark.parametrize(
    ("variable", "value", "attribute"),
    [
        ("ENABLED", "maybe", "enabled"),
        ("STRICT", "yes please", "strict"),
        ("INTERVAL", "fast", "interval_ms"),
        ("INTERVAL", "5", "interval_ms"),
        ("INTERVAL", "-100", "interval_ms"),
        ("INTERVAL", "inf", "interval_ms"),
        ("INTERVAL", "nan", "interval_ms"),
        ("MODE", "sidecar", "mode"),
        ("DEFAULT_RULES", "2", "default_rules"),
        ("COOLDOWN", "a while", "cooldown_s"),
        ("COOLDOWN", "-5s", "cooldown_s"),
        ("COOLDOWN", "inf", "cooldown_s"),
        ("HISTORY_SIZE", "10.5", "history_size"),
        ("HISTORY_SIZE", "0", "history_size"),
        ("HISTORY_SIZE", "lots", "history_size"),
        ("CARDINALITY_LIMIT", "-1", "cardinality_limit"),
        ("CONSOLE_COLOR", "rainbow", "console_color"),
        ("QUEUE_SIZE", "0", "queue_size"),
    ],
)
def test_bad_value_is_named_and_falls_back_to_the_default(variable: str, value: str, attribute: str) -> None:
    settings = load_settings({P + variable: value})
    assert len(settings.errors) == 1
    error = settings.errors[0]
    assert error.variable == P + variable
    assert repr(value.strip()) in error.message
    assert str(error).startswith(f"{P}{variable}: ")
    assert getattr(settings, attribute) == getattr(Settings(), attribute)


def test_unknown_channel_is_named_and_the_known_ones_kept() -> None:
    settings = load_settings({P + "CHANNELS": "log,pager,console,smoke"})
    assert settings.channels == ("log", "console")
    (error,) = settings.errors
    assert error.variable == P + "CHANNELS"
    assert "pager, smoke" in error.message


def test_several_errors_are_all_reported_and_good_values_kept() -> None:
    settings = load_settings(
        {P + "INTERVAL": "x", P + "MODE": "y", P + "QUEUE_SIZE": "7", P + "COOLDOWN": "z", "UNRELATED": "w"}
    )
    assert sorted(e.variable for e in settings.errors) == [P + "COOLDOWN", P + "INTERVAL", P + "MODE"]
    assert settings.queue_size == 7
    assert (settings.interval_ms, settings.mode, settings.cooldown_s) == (1000.0, "reader", 60.0)


def test_describe_lists_every_variable_with_its_effective_value() -> None:
    described = load_settings({P + "COOLDOWN": "90", P + "CHANNELS": "log"}).describe()
    assert described[P + "COOLDOWN"] == "90s"
    assert described[P + "CHANNELS"] == "log"
    assert described[P + "RULES"] == "(none)"
    assert all(name.startswith(P) for name in described)


@pytest.mark.parametrize(
    ("channels", "types"),
    [(("log", "console"), [LogChannel, ConsoleChannel]), (("console",), [ConsoleChannel]), ((), [])],
)
def test_build_channels_follows_settings(channels: tuple[str, ...], types: list[type]) -> None:
    built, errors = build_channels(Settings(channels=channels, channels_set=True), {})
    assert errors == []
    assert [type(c) for c in built] == types
    assert [c.name for c in built] == list(channels)


def test_a_channel_starts_when_its_variables_are_set_and_names_missing_pieces() -> None:
    env = {
        "OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/secret-token",
        "ALERT_EMAIL_ENABLED": "true",
    }
    built, errors = build_channels(load_settings(env), env)
    assert [c.name for c in built] == ["log", "console", "slack"]
    assert all("secret-token" not in c.describe() for c in built)
    assert {e.variable for e in errors} >= {"OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST", "OTEL_PYTHON_ALERTING_EMAIL_TO"}


def test_a_listed_channel_without_configuration_is_an_error() -> None:
    env = {"OTEL_PYTHON_ALERTING_CHANNELS": "log,pagerduty"}
    built, errors = build_channels(load_settings(env), env)
    assert [c.name for c in built] == ["log"]
    assert [str(e) for e in errors] == ["OTEL_PYTHON_ALERTING_CHANNELS: channel pagerduty is listed but not configured"]


def test_unconfigured_channels_are_not_even_imported() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from otel_alerting.channels import build_channels; from otel_alerting.config import load_settings;"
        "build_channels(load_settings({}), {});"
        "print(sorted(m for m in sys.modules"
        " if m in ('httpx', 'aiosmtplib') or m.startswith('otel_alerting.channels.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "['otel_alerting.channels.console', 'otel_alerting.channels.log']"
