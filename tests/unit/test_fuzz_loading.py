"""Fuzzing the rules loader and the environment parser (hypothesis): whatever they are
given, a clean load or located ``ConfigError`` values, never another exception.

The number of examples is kept small enough for the default run (about 20 s in all on
a loaded two-core machine); a deadline per example catches a slow path.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_alerting import environment_variables as ev
from otel_alerting.config import load_settings
from otel_alerting.configuration import load_configuration
from otel_alerting.errors import ConfigError
from otel_alerting.rules import load_rule_set, load_rules_file, parse_rules
from otel_alerting.rules.loader import RulesFile, load_yaml
from otel_alerting.rules.yaml_loader import DocumentProblems

FUZZ = settings(
    max_examples=120,
    deadline=timedelta(seconds=3),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- values a rules file may hold ------------------------------------------------------

numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([10**400, -(10**400), 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
)
durations = st.one_of(
    numbers,
    st.sampled_from(["30s", "5m", "1h30m", "-5s", "1e30", "inf", "nan", "366d", "1:30", "", "0", "9" * 400 + "s"]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20), durations)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
RULE_FIELDS = ["alert", "expr", "above", "below", "for", "keep_firing_for", "recovery", "labels", "annotations"]
RULE_FIELDS += ["no_data", "enabled", "unknown"]


@st.composite
def expressions(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["value", "rate", "ratio", "absent", "other"]))
    selector = draw(
        st.fixed_dictionaries(
            {"metric": st.one_of(st.just("m"), values)},
            optional={"match": values, "field": values, "quantile": numbers, "reduce": values},
        )
    )
    body: Any = {"numerator": selector, "denominator": selector} if kind == "ratio" else selector
    expr = {kind: draw(st.one_of(st.just(body), values))}
    if draw(st.booleans()):
        expr["window"] = draw(durations)
    if draw(st.booleans()):
        expr["by"] = draw(values)
    return expr


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": draw(st.one_of(st.just("A"), st.text(max_size=6), values))}
    rule["expr"] = draw(expressions())
    for name in draw(st.lists(st.sampled_from(RULE_FIELDS), max_size=6, unique=True)):
        if name in ("above", "below"):
            rule[name] = draw(st.one_of(numbers, st.dictionaries(st.sampled_from(["low", "high", "x"]), numbers)))
        elif name in ("for", "keep_firing_for"):
            rule[name] = draw(durations)
        else:
            rule[name] = draw(values)
    return rule


documents = st.fixed_dictionaries(
    {"rules": st.one_of(st.lists(rules(), max_size=4), values)},
    optional={
        "route": st.one_of(
            values,
            st.fixed_dictionaries(
                {},
                optional={
                    "group_wait": durations,
                    "group_interval": durations,
                    "repeat_interval": durations,
                    "receiver": st.one_of(st.sampled_from(["log", "console", "x"]), values),
                    "group_by": values,
                    "matchers": st.one_of(
                        st.lists(st.sampled_from(['a="b"', "a=~x(", "=", 'severity="high"'])), values
                    ),
                    "continue": values,
                    "routes": st.one_of(
                        values,
                        st.lists(
                            st.fixed_dictionaries(
                                {}, optional={"receiver": values, "group_wait": durations, "matchers": values}
                            ),
                            max_size=3,
                        ),
                    ),
                },
            ),
        ),
        "inhibit_rules": st.one_of(
            values,
            st.lists(
                st.fixed_dictionaries(
                    {}, optional={"source_matchers": values, "target_matchers": values, "equal": values}
                ),
                max_size=3,
            ),
        ),
        "receivers": st.one_of(
            values,
            st.lists(
                st.fixed_dictionaries(
                    {"name": st.one_of(st.text(max_size=5), values)},
                    optional={
                        "webhook_configs": values,
                        "slack_configs": values,
                        "email_configs": values,
                        "pagerduty_configs": values,
                    },
                ),
                max_size=3,
            ),
        ),
        "other": values,
    },
)


def dump(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


@st.composite
def damaged_texts(draw: st.DrawFn) -> str:
    """A valid document's text with a few characters deleted, doubled or replaced."""
    text = dump(draw(documents))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        how = draw(st.sampled_from(["delete", "double", "replace"]))
        if how == "delete":
            text = text[:at] + text[at + 1 :]
        elif how == "double":
            text = text[:at] + text[at : at + 8] + text[at:]
        else:
            text = text[:at] + draw(st.sampled_from(list(":-[]{}&*!|>'\"#%@`, \t\n?"))) + text[at + 1 :]
    return text


@st.composite
def hostile_texts(draw: st.DrawFn) -> str:
    depth = draw(st.integers(1, 20_000))
    kind = draw(st.sampled_from(["lists", "maps", "aliases", "anchors", "tags", "long"]))
    if kind == "lists":
        return "rules: " + "[" * depth + "]" * draw(st.integers(0, depth))
    if kind == "maps":
        return "rules: " + "{a: " * depth + "1" + "}" * draw(st.integers(0, depth))
    if kind == "aliases":
        levels = draw(st.integers(1, 12))
        lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
        return "\n".join(lines) + "\n"
    if kind == "anchors":
        return draw(st.sampled_from(["a: &x [*x]", "a: *nope", "a: &x 1\nb: &x 2", "<<: 1", "a: {<<: [1, 2]}"]))
    if kind == "tags":
        tag = draw(st.sampled_from(["!!int", "!!float", "!!bool", "!!binary", "!!timestamp", "!!set", "!!omap"]))
        return f"a: {tag} {draw(st.sampled_from(['x', '', '1', '[1]', '{a: 1}', '0x', '1:2:3', '2001-13-45']))}\n"
    return "a: " + draw(st.sampled_from(["9", "1.5", "x", "'q'"])) * depth + "\n"


def check_loaded(loaded: RulesFile) -> None:
    assert isinstance(loaded, RulesFile)
    for error in loaded.errors:
        assert isinstance(error, ConfigError)
        assert str(error)  # printable, whatever went in


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def load_text(workdir: Path, data: bytes) -> RulesFile:
    path = workdir / "rules.yaml"
    path.write_bytes(data)
    return load_rules_file(path)


# --- the rules loader ------------------------------------------------------------------


@FUZZ
@given(document=documents)
def test_any_document_loads_or_gives_located_errors(workdir: Path, document: Any) -> None:
    check_loaded(load_text(workdir, dump(document).encode()))
    check_loaded(parse_rules(document, "fuzz.yaml"))


@settings(FUZZ, max_examples=80)
@given(document=documents)
def test_any_document_gives_a_configuration(workdir: Path, document: Any) -> None:
    # the notification sections go on to the routing and the receivers
    path = workdir / "config.yaml"
    path.write_text(dump(document))
    environ = {ev.OTEL_PYTHON_ALERTING_RULES: str(path)}
    configuration = load_configuration(load_settings(environ), environ)
    assert all(isinstance(p, str) for p in configuration.problems)


@FUZZ
@given(text=damaged_texts())
def test_damaged_yaml_loads_or_gives_located_errors(workdir: Path, text: str) -> None:
    check_loaded(load_text(workdir, text.encode()))


@settings(FUZZ, max_examples=40)
@given(text=hostile_texts())
def test_hostile_yaml_is_bounded(workdir: Path, text: str) -> None:
    check_loaded(load_text(workdir, text.encode()))


@FUZZ
@given(data=st.binary(max_size=400), prefix=st.sampled_from([b"", b"rules:\n  - ", b"\xff\xfe", b"\xef\xbb\xbf"]))
def test_any_bytes_load_or_give_located_errors(workdir: Path, data: bytes, prefix: bytes) -> None:
    check_loaded(load_text(workdir, prefix + data))


@FUZZ
@given(text=st.text(max_size=300))
def test_load_yaml_raises_nothing_but_document_problems(text: str) -> None:
    try:
        load_yaml(text)
    except DocumentProblems as exc:
        assert exc.problems and all(isinstance(message, str) for _, message in exc.problems)


# --- the environment parser -------------------------------------------------------------

VARIABLES = sorted(
    value for name, value in vars(ev).items() if name.isupper() and isinstance(value, str) and value.isupper()
)
OVERRIDES = [f"{ev.RULE_OVERRIDE_PREFIX}MEMORYPRESSURE_{field}" for field in ("ABOVE", "FOR", "ENABLED", "RECOVERY")]
env_values = st.one_of(
    st.text(max_size=30),
    durations.map(str),
    numbers.map(str),
    st.sampled_from(["true", "no", "1e30", "-1", "nan", "inf", "-inf", "1e-300", "http://x", "medium:1,high:0"]),
)
environments = st.dictionaries(st.sampled_from(VARIABLES + OVERRIDES), env_values, max_size=8)


@FUZZ
@given(environ=environments)
def test_any_environment_gives_settings_and_errors_naming_a_variable(environ: dict[str, str]) -> None:
    settings_ = load_settings(environ)
    for error in settings_.errors:
        assert isinstance(error, ConfigError) and error.variable.startswith(("OTEL_PYTHON_ALERTING_", "ALERT_"))
    # every duration setting within its bounds, whatever was given
    for name in ("cooldown_s", "delivery_deadline_s", "shutdown_timeout_s", "heartbeat_interval_s"):
        value = getattr(settings_, name)
        assert math.isfinite(value) and 0 <= value <= 365 * 86400, (name, value)
    assert 10 <= settings_.interval_ms <= 365 * 86400 * 1000


@settings(FUZZ, max_examples=60)
@given(environ=environments)
def test_any_environment_gives_a_configuration(environ: dict[str, str]) -> None:
    environ = {k: v for k, v in environ.items() if k != ev.OTEL_PYTHON_ALERTING_RULES}
    configuration = load_configuration(load_settings(environ), environ)
    assert all(isinstance(p, str) for p in configuration.problems)
    load_rule_set([], environ)


def test_the_fuzz_strategies_reach_the_variables() -> None:
    assert ev.OTEL_PYTHON_ALERTING_INTERVAL in VARIABLES and len(VARIABLES) > 50
    assert os.pathsep  # the rules path is left out above: it would read files named at random


def _read(loader_class: Any, text: str) -> tuple[str, Any]:
    from otel_alerting.rules.yaml_loader import _load

    try:
        return "document", _load(loader_class, text, syntax_errors=True)
    except DocumentProblems as exc:
        return "problems", exc.problems


@FUZZ
@given(text=st.one_of(damaged_texts(), documents.map(dump)))
def test_libyaml_and_pyyaml_parsers_read_alike(text: str) -> None:
    from otel_alerting.rules.yaml_loader import _loaders

    fast, pure = _loaders()
    assert fast is not None  # PyYAML's wheels carry libyaml: the fast path is what runs
    by_pure = _read(pure, text)
    by_fast = _read(fast, text)
    if by_fast[0] == by_pure[0] == "document":
        # known: a bare `!` tag on an empty value is '' to libyaml, None to PyYAML
        assert by_fast == by_pure or "!" in text
    elif by_pure[0] == "document":  # libyaml refused it: read again by PyYAML
        assert load_yaml(text) == by_pure[1]
    elif by_fast[0] == "problems":  # both refuse it: load_yaml quotes PyYAML's message
        with pytest.raises(DocumentProblems) as info:
            load_yaml(text)
        assert info.value.problems == by_pure[1]
    # else libyaml reads what PyYAML refuses (a tab inside a plain scalar, as the
    # YAML specification allows): the document is read
