"""The one environment reader (``config.EnvReader``): each parser, each alias, and the
wording each channel keeps for its positive durations (timeouts, Alertmanager's resend
delay)."""

from __future__ import annotations

import ast
import inspect
import itertools
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

import otel_alerting
from otel_alerting import environment_variables as ev
from otel_alerting.channels.alertmanager import load_alertmanager_config
from otel_alerting.channels.email import load_email_config
from otel_alerting.channels.slack import load_slack_config
from otel_alerting.channels.webhook import load_webhook_config
from otel_alerting.config import ALIASES, ConfigError, EnvReader, parse_bool, plugin_enabled
from otel_alerting.rules import RuleError

VARIABLE = "OTEL_PYTHON_ALERTING_EXAMPLE_TIMEOUT"
SECRET = "s3cr3t-Token-value"


def read(value: str | None, call: Callable[[EnvReader], object]) -> tuple[object, list[ConfigError]]:
    env = EnvReader({} if value is None else {VARIABLE: value})
    return call(env), env.errors


# --- positive durations: the one rule -------------------------------------------------


def seconds(raw: str | None, example: str = "10s") -> tuple[object, list[ConfigError]]:
    return read(raw, lambda env: env.seconds(VARIABLE, 7.0, example))


@pytest.mark.parametrize(("raw", "value"), [("10s", 10.0), ("500ms", 0.5), ("2.5", 2.5), ("1m30s", 90.0)])
def test_a_positive_duration_is_read_in_seconds(raw: str, value: float) -> None:
    assert seconds(raw) == (value, [])


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_unset_or_blank_gives_the_default_and_no_error(raw: str | None) -> None:
    assert seconds(raw) == (7.0, [])


@pytest.mark.parametrize("raw", ["0", "0s", "-1s", "-1", "abc", "10 parsecs", "inf", "-inf", "nan", "1e400"])
def test_anything_else_gives_the_default_and_an_error_naming_variable_and_value(raw: str) -> None:
    assert seconds(raw) == (
        7.0,
        [ConfigError(VARIABLE, f"invalid value {raw!r}: expected a positive duration such as 10s")],
    )


def test_the_example_ends_the_error() -> None:
    errors = seconds("0", "1m")[1]
    assert [e.message for e in errors] == ["invalid value '0': expected a positive duration such as 1m"]


def test_the_default_example_names_every_form() -> None:
    env = EnvReader({"GOOD": "500ms", VARIABLE: "nan"})
    assert env.seconds("GOOD", 7.0) == 0.5
    assert env.seconds(VARIABLE, 7.0) == 7.0
    assert [e.message for e in env.errors] == [
        "invalid value 'nan': expected a positive duration such as 10s, 500ms or a number of seconds"
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


# --- booleans -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["true", "1", "yes", "on", " TRUE ", "On", "Yes"])
def test_true_spellings(text: str) -> None:
    assert parse_bool(text) is True
    assert read(text, lambda env: env.flag(VARIABLE)) == (True, [])
    assert read(text, lambda env: env.boolean(VARIABLE, False)) == (True, [])


@pytest.mark.parametrize("text", ["false", "0", "no", "off", " FALSE ", "Off", "No"])
def test_false_spellings(text: str) -> None:
    assert parse_bool(text) is False
    assert read(text, lambda env: env.flag(VARIABLE)) == (False, [])
    assert read(text, lambda env: env.boolean(VARIABLE, True)) == (False, [])


@pytest.mark.parametrize("text", ["maybe", "2", "yes please", "enabled", ""])
def test_other_text_is_no_boolean(text: str) -> None:
    assert parse_bool(text) is None


def test_an_invalid_flag_is_reported_and_gives_none_or_the_default() -> None:
    assert read(" Maybe ", lambda env: env.flag(VARIABLE)) == (
        None,
        [ConfigError(VARIABLE, "invalid value 'Maybe': expected true or false")],
    )
    assert read("maybe", lambda env: env.boolean(VARIABLE, True))[0] is True
    assert read(None, lambda env: env.flag(VARIABLE)) == (None, [])
    assert read(None, lambda env: env.boolean(VARIABLE, True)) == (True, [])


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [({}, True), ({ev.OTEL_PYTHON_ALERTING_ENABLED: "off"}, False), ({ev.OTEL_PYTHON_ALERTING_ENABLED: "x"}, True)],
)
def test_plugin_enabled_reads_the_same_booleans(environ: dict[str, str], enabled: bool) -> None:
    assert plugin_enabled(environ) is enabled


def test_plugin_enabled_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ev.OTEL_PYTHON_ALERTING_ENABLED, "false")
    assert plugin_enabled() is False


# --- numbers, durations, choices, lists, ports, URLs ---------------------------------------


@pytest.mark.parametrize(
    ("raw", "integer", "expected", "message"),
    [
        ("2.5e3", False, 2500.0, None),
        ("12", True, 12.0, None),
        ("fast", False, 5.0, "invalid value 'fast': expected a number"),
        ("1.5", True, 5.0, "invalid value '1.5': expected a whole number"),
        ("0", False, 5.0, "invalid value '0': expected a finite number of at least 1"),
        ("inf", False, 5.0, "invalid value 'inf': expected a finite number of at least 1"),
        ("nan", False, 5.0, "invalid value 'nan': expected a finite number of at least 1"),
    ],
)
def test_number(raw: str, integer: bool, expected: float, message: str | None) -> None:
    value, errors = read(raw, lambda env: env.number(VARIABLE, 5.0, 1, integer))
    assert value == expected
    assert [e.message for e in errors] == ([message] if message else [])


@pytest.mark.parametrize(("raw", "expected", "bad"), [("0", 0, False), ("25", 25, False), ("-1", 3, True)])
def test_count(raw: str, expected: int, bad: bool) -> None:
    value, errors = read(raw, lambda env: env.count(VARIABLE, 3))
    assert value == expected
    assert [e.message for e in errors] == ([f"invalid value {raw!r}: expected 0 or more"] if bad else [])


@pytest.mark.parametrize(
    ("raw", "positive", "expected", "message"),
    [
        ("5m", False, 300.0, None),
        ("0", False, 0.0, None),
        ("0", True, 9.0, "invalid value '0': expected a duration longer than zero"),
        ("a while", False, 9.0, "invalid value 'a while': expected a duration such as 30s, 5m or a number of seconds"),
    ],
)
def test_duration(raw: str, positive: bool, expected: float, message: str | None) -> None:
    value, errors = read(raw, lambda env: env.duration(VARIABLE, 9.0, positive))
    assert value == expected
    assert [e.message for e in errors] == ([message] if message else [])


def test_parsed_reports_the_parsers_own_message() -> None:
    def parse(text: str) -> int:
        raise ValueError(f"no good: {text!r}")

    assert read("x", lambda env: env.parsed(VARIABLE, parse)) == (None, [ConfigError(VARIABLE, "no good: 'x'")])
    assert read("12", lambda env: env.parsed(VARIABLE, int)) == (12, [])
    assert read(None, lambda env: env.parsed(VARIABLE, int)) == (None, [])


def test_choice_is_read_in_any_case() -> None:
    assert read("Always", lambda env: env.choice(VARIABLE, "auto", ("auto", "always"))) == ("always", [])
    assert read("rainbow", lambda env: env.choice(VARIABLE, "auto", ("auto", "always"))) == (
        "auto",
        [ConfigError(VARIABLE, "invalid value 'rainbow': expected auto or always")],
    )


def test_lists() -> None:
    assert read(" a, b ,,c ", lambda env: env.names(VARIABLE)) == (("a", "b", "c"), [])
    assert read(None, lambda env: env.names(VARIABLE, ("x",))) == (("x",), [])
    assert read(f"a.yaml{os.pathsep}{os.pathsep}b.yaml", lambda env: env.paths(VARIABLE)) == (("a.yaml", "b.yaml"), [])


@pytest.mark.parametrize(("raw", "port"), [("25", 25), ("65535", 65535), ("0", None), ("65536", None), ("2x", None)])
def test_port(raw: str, port: int | None) -> None:
    value, errors = read(raw, lambda env: env.port(VARIABLE))
    assert value == port
    expected = [] if port else [f"invalid value {raw!r}: expected a port number from 1 to 65535"]
    assert [e.message for e in errors] == expected


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ("https://hooks.example.com/x", True),
        ("http://127.0.0.1:8080/", True),
        ("ftp://example.com/", False),
        ("https:///path", False),
        ("http://host:99999/", False),
        ("http://host/a b", False),
    ],
)
def test_url(raw: str, ok: bool) -> None:
    value, errors = read(raw, lambda env: env.url(VARIABLE))
    assert value == (raw if ok else None)
    assert [e.message for e in errors] == (
        [] if ok else [f"invalid value {raw!r}: expected an http:// or https:// URL with a host"]
    )


def test_a_secret_is_never_in_an_error() -> None:
    url = f"https://hooks.example.com:99999/{SECRET}"
    value, errors = read(url, lambda env: env.url(VARIABLE, secret=True))
    assert value is None
    assert errors == [
        ConfigError(
            VARIABLE,
            "invalid value the value (not shown: it is a secret): expected an http:// or https:// URL with a host",
        )
    ]
    secret, _ = read(SECRET, lambda env: env.secret(VARIABLE))
    assert SECRET not in repr(secret) and SECRET not in str(secret)


@pytest.mark.parametrize(
    ("load", "environ"),
    [
        (load_slack_config, {ev.ALERT_SLACK_WEBHOOK_URL: f"ftp://hooks.slack.com/services/{SECRET}"}),
        (load_webhook_config, {ev.ALERT_WEBHOOK_URL: f"gopher://user:{SECRET}@host/{SECRET}?token={SECRET}"}),
        (
            load_email_config,
            {ev.ALERT_SMTP_HOST: "smtp.example.com", ev.ALERT_SMTP_PASSWORD: SECRET, ev.ALERT_TO_EMAILS: "a@b.c"},
        ),
    ],
)
def test_channel_errors_name_the_alias_and_never_the_secret(
    load: Callable[[Mapping[str, str]], tuple[object, list[ConfigError]]], environ: dict[str, str]
) -> None:
    config, errors = load(environ)
    assert config is None and errors
    assert all(SECRET not in str(e) for e in errors)
    # the variable read is named (the missing user name's error names the password's alias)
    assert any(alias in str(e) for e in errors for alias in environ)


# --- aliases --------------------------------------------------------------------------


@pytest.mark.parametrize(("variable", "alias"), sorted(ALIASES.items()))
def test_each_alias_is_read_when_its_variable_is_unset(variable: str, alias: str) -> None:
    assert alias.startswith("ALERT_") and getattr(ev, alias) == alias
    env = EnvReader({alias: " from-alias "})
    assert env.lookup(variable) == ("from-alias", alias)
    assert env.source(variable) == alias
    assert env.given([variable]) == [alias]
    both = EnvReader({alias: "from-alias", variable: "own"})
    assert both.lookup(variable) == ("own", variable)
    blank = EnvReader({alias: "from-alias", variable: "  "})
    assert blank.lookup(variable) == ("from-alias", alias)
    assert EnvReader({}).lookup(variable) == (None, variable)


def test_an_error_names_the_alias_the_value_came_from() -> None:
    env = EnvReader({ev.ALERT_EMAIL_ENABLED: "sometimes", ev.ALERT_SMTP_PORT: "smtp"})
    assert env.flag(ev.OTEL_PYTHON_ALERTING_EMAIL_ENABLED) is None
    assert env.port(ev.OTEL_PYTHON_ALERTING_EMAIL_SMTP_PORT) is None
    assert [e.variable for e in env.errors] == [ev.ALERT_EMAIL_ENABLED, ev.ALERT_SMTP_PORT]
    assert str(env.errors[0]) == "ALERT_EMAIL_ENABLED: invalid value 'sometimes': expected true or false"


def test_the_alias_of_a_channel_is_named_in_its_errors() -> None:
    _, errors = load_webhook_config({ev.ALERT_WEBHOOK_ENABLED: "perhaps"})
    assert [str(e) for e in errors] == ["ALERT_WEBHOOK_ENABLED: invalid value 'perhaps': expected true or false"]


# --- one error type -------------------------------------------------------------------


def test_one_error_type_for_variables_and_files() -> None:
    assert RuleError is ConfigError
    assert str(ConfigError("OTEL_PYTHON_ALERTING_MODE", "bad")) == "OTEL_PYTHON_ALERTING_MODE: bad"
    assert str(ConfigError("rules.yaml", "bad", 3, "rules[0].for")) == "rules.yaml:3: rules[0].for: bad"
    assert str(ConfigError("rules.yaml", "bad", field="receivers")) == "rules.yaml: receivers: bad"
    assert str(ConfigError("rules.yaml", "bad", 7)) == "rules.yaml:7: bad"
    assert ConfigError("V", "m").variable == "V"


# --- the names themselves -------------------------------------------------------------


def _documented_constants() -> dict[str, str]:
    """Each constant of environment_variables and the docstring that follows it."""
    tree = ast.parse(inspect.getsource(ev))
    found: dict[str, str] = {}
    body = tree.body
    for statement, following in itertools.pairwise(body):
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
            doc = following.value.value if isinstance(following, ast.Expr) else None
            found[statement.targets[0].id] = doc if isinstance(doc, str) else ""
    return found


def test_every_name_is_a_documented_constant_holding_its_own_name() -> None:
    constants = _documented_constants()
    assert len(constants) > 100
    for name, doc in constants.items():
        assert doc.strip(), f"{name} has no docstring"
        if not name.endswith("_PREFIX"):
            assert getattr(ev, name) == name
            assert f".. envvar:: {name}" in doc
    # a name that opentelemetry-instrument would turn into a flag must be one of ours
    assert all(getattr(ev, n).startswith("OTEL_PYTHON_ALERTING_") for n in constants if n.startswith("OTEL_"))


def test_no_variable_name_is_built_from_pieces() -> None:
    root = Path(otel_alerting.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert 'f"OTEL_PYTHON_ALERTING_' not in text, path
        if path.name not in ("environment_variables.py", "config.py"):
            assert '"ALERT_' not in text, path
