from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

from otel_alerting import environment_variables as ev
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


# --- channel types: declared once -----------------------------------------------------


def test_the_declaration_is_designs_severity_table() -> None:
    from otel_alerting.channel_types import CHANNEL_TYPES, KNOWN_CHANNELS

    hears = {
        severity: [t.name for t in CHANNEL_TYPES if t.hears(severity)]
        for severity in ("low", "medium", "high", "critical")
    }
    assert hears == {
        "low": ["log", "console", "alertmanager", "otel_logs"],
        "medium": ["log", "console", "slack", "mattermost", "alertmanager", "otel_logs"],
        "high": ["log", "console", "email", "slack", "mattermost", "webhook", "alertmanager", "otel_logs"],
        "critical": list(KNOWN_CHANNELS),
    }
    assert [t.name for t in CHANNEL_TYPES if t.immediate] == ["log", "console", "alertmanager", "otel_logs"]
    assert [t.name for t in CHANNEL_TYPES if t.sink] == ["alertmanager", "otel_logs"]
    assert KNOWN_CHANNELS == (
        "log",
        "console",
        "email",
        "slack",
        "mattermost",
        "webhook",
        "pagerduty",
        "alertmanager",
        "otel_logs",
    )


def test_the_default_routes_follow_the_declaration() -> None:
    from otel_alerting.notify.routing import default_route

    configured = ["log", "console", "email", "pagerduty", "alertmanager", "team-pager"]
    route, errors = default_route(configured, {})
    assert errors == []
    by_severity = {child.matchers[0].value: child.receivers for child in route.routes if not child.continue_} | {
        f"{child.matchers[0].value} now": child.receivers for child in route.routes if child.continue_
    }
    assert by_severity == {
        "critical": ("email", "pagerduty", "team-pager"),
        "critical now": ("log", "console", "alertmanager"),
        "high": ("email", "team-pager"),
        "high now": ("log", "console", "alertmanager"),
        "medium": ("team-pager",),
        "medium now": ("log", "console", "alertmanager"),
        "low": ("team-pager",),
        "low now": ("log", "console", "alertmanager"),
    }


def test_route_and_timer_variables_are_read_with_their_errors() -> None:
    from otel_alerting.notify.routing import default_route

    env = {P + "ROUTE_HIGH": "log,slack", P + "ROUTE_LOW": ",", P + "GROUP_WAIT": "soon", P + "REPEAT_INTERVAL": "1h"}
    route, errors = default_route(["log", "console"], env)
    assert [str(e) for e in errors] == [
        f"{P}GROUP_WAIT: invalid duration 'soon' (expected e.g. 30s, 5m, 1h or seconds)",
        f"{P}ROUTE_HIGH: channel(s) slack not configured (configured: log, console)",
    ]
    high = [r.receivers for r in route.routes if r.matchers[0].value == "high"]
    low = [r.receivers for r in route.routes if r.matchers[0].value == "low"]
    assert high == [("log",), ()] and low == [(), ()]
    assert {r.timers.repeat_interval for r in route.routes if r.matchers[0].value == "medium"} == {3600.0, 4 * 3600.0}


@pytest.mark.parametrize("name", ["log", "console"])
def test_send_resolved_is_read_per_channel(name: str) -> None:
    env = {P + "CHANNELS": "log,console", f"{P}{name.upper()}_SEND_RESOLVED": "no"}
    built, errors = build_channels(load_settings(env), env)
    assert errors == []
    assert {c.name: c.send_resolved for c in built} == {"log": name != "log", "console": name != "console"}


def test_a_bad_send_resolved_is_named() -> None:
    env = {P + "CONSOLE_SEND_RESOLVED": "sometimes"}
    built, errors = build_channels(load_settings(env), env)
    assert [c.send_resolved for c in built] == [True, True]
    assert [str(e) for e in errors] == [f"{P}CONSOLE_SEND_RESOLVED: invalid value 'sometimes': expected true or false"]


def test_the_system_reports_the_problems_of_the_channels_it_builds(caplog: pytest.LogCaptureFixture) -> None:
    from otel_alerting.rules import load_rule_set
    from otel_alerting.system import AlertingSystem

    env = {P + "WEBHOOK_ENABLED": "true", P + "CONSOLE_SEND_RESOLVED": "x"}
    with caplog.at_level("ERROR", logger="otel_alerting"):
        system = AlertingSystem(Settings(), load_rule_set([], {}, include_defaults=False), environ=env)
    system.shutdown(1.0)
    (record,) = [r for r in caplog.records if "configuration problem" in r.getMessage()]
    message = record.getMessage()
    assert message.startswith("otel-alerting: 2 configuration problem(s)")
    assert f"{P}WEBHOOK_URL: not set, but {P}WEBHOOK_ENABLED is" in message
    assert f"{P}CONSOLE_SEND_RESOLVED: invalid value 'x'" in message


def test_the_system_reports_the_problems_of_the_routing_it_builds(caplog: pytest.LogCaptureFixture) -> None:
    from otel_alerting.rules import load_rule_set
    from otel_alerting.system import AlertingSystem

    env = {P + "ROUTE_HIGH": "pagerduty", P + "GROUP_WAIT": "soon"}
    with caplog.at_level("ERROR", logger="otel_alerting"):
        system = AlertingSystem(
            Settings(), load_rule_set([], {}, include_defaults=False), channels=[LogChannel()], environ=env
        )
    system.shutdown(1.0)
    (record,) = [r for r in caplog.records if "configuration problem" in r.getMessage()]
    message = record.getMessage()
    assert message.startswith("otel-alerting: 2 configuration problem(s)")
    assert f"{P}ROUTE_HIGH: channel(s) pagerduty not configured (configured: log)" in message
    assert f"{P}GROUP_WAIT: " in message


# --- the one reader: names from environment_variables, reads through EnvReader --------------

_PACKAGE = Path(__file__).resolve().parents[2] / "otel_alerting"
#: the names of the variables the plugin reads (the constants of environment_variables)
_VARIABLES = {name for name, value in vars(ev).items() if name.isupper() and isinstance(value, str) and value == name}
_SPELLED = re.compile(r"\b(?:OTEL_PYTHON_ALERTING|ALERT)_[A-Z0-9_]+")


def _sources(*skipped: str) -> list[tuple[str, ast.Module]]:
    return [
        (str(path.relative_to(_PACKAGE)), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(_PACKAGE.rglob("*.py"))
        if path.name not in skipped
    ]


def _docstrings(tree: ast.Module) -> set[int]:
    """The string statements (docstrings, and the ``#:``-less notes beside constants)."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }


def test_no_string_spells_a_variable_name_that_environment_variables_holds() -> None:
    """A name spelled in a message or a help text outlives a rename of its constant."""
    spelled = []
    for module, tree in _sources("environment_variables.py"):
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docs
                and _SPELLED.search(node.value)
            ):
                spelled.append(f"{module}:{node.lineno}: {node.value[:60]!r}")
    assert spelled == []


def _a_variable(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr in _VARIABLES
    return isinstance(node, ast.Name) and node.id in _VARIABLES


def test_only_config_reads_the_plugins_variables_from_a_mapping() -> None:
    """``environ.get(ev.X)``, ``environ[ev.X]`` or ``os.getenv(ev.X)`` outside config.py would
    skip what ``EnvReader`` does once: the ``ALERT_*`` alias, blanks read as unset, the
    parse, the error naming the variable."""
    reads = []
    for module, tree in _sources("config.py", "environment_variables.py"):
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "getenv", "pop")
                and node.args
                and _a_variable(node.args[0])
            ) or (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _a_variable(node.slice)):
                reads.append(f"{module}:{node.lineno}")
    assert reads == []
