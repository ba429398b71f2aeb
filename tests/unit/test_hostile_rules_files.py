"""Hostile and surprising rules files: each is a located error that costs that file only,
read in bounded time, never an exception out of the loader."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

from otel_alerting.config import load_settings
from otel_alerting.configuration import load_configuration
from otel_alerting.rules import load_rule_set, load_rules_file
from otel_alerting.rules.loader import load_yaml
from otel_alerting.rules.source_file import MAX_FILE_BYTES
from otel_alerting.rules.yaml_loader import MAX_DEPTH, DocumentProblems

GOOD = "rules:\n  - alert: Good\n    expr: {value: {metric: m}}\n    above: 1\n"


def errors_of(path: Path) -> list[str]:
    loaded = load_rules_file(path)
    assert loaded.rules == ()
    return [str(e) for e in loaded.errors]


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# --- what the file is ---------------------------------------------------------------


def test_a_fifo_is_refused_at_once_instead_of_blocking(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    os.mkfifo(path)
    started = time.monotonic()
    assert errors_of(path) == [f"{path}: cannot read: not a regular file but a named pipe (FIFO)"]
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("path", "kind"), [("/dev/zero", "a character device"), ("/dev/null", "a character device"), ("/", "a directory")]
)
def test_what_is_not_a_regular_file_is_refused(path: str, kind: str) -> None:
    assert errors_of(Path(path)) == [f"{path}: cannot read: not a regular file but {kind}"]


def test_a_file_over_the_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    with path.open("wb") as f:
        f.truncate(100_000_000)  # sparse: 100 MB of NULs
    started = time.monotonic()
    assert errors_of(path) == [f"{path}: cannot read: larger than the limit of 10 MB (10000000 bytes): 100000000 bytes"]
    assert time.monotonic() - started < 1


def test_a_file_at_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD + "#" * (MAX_FILE_BYTES - len(GOOD) - 1) + "\n")
    assert path.stat().st_size == MAX_FILE_BYTES
    assert [r.alert for r in load_rules_file(path).rules] == ["Good"]


# --- encodings ---------------------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "name"), [("utf-16", "UTF-16"), ("utf-16-be", None), ("utf-32", "UTF-32")])
def test_utf16_and_utf32_are_named(tmp_path: Path, encoding: str, name: str | None) -> None:
    path = tmp_path / "rules.yaml"
    data = GOOD.encode(encoding)
    path.write_bytes(data if name else b"\xfe\xff" + data)
    shown = name or "UTF-16"
    assert errors_of(path) == [
        f"{path}:1: not valid UTF-8: the file is {shown} (it starts with a byte order mark); save it as UTF-8"
    ]


def test_utf16_without_a_byte_order_mark_is_named_by_its_nul_characters(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(GOOD.encode("utf-16-le"))
    assert errors_of(path) == [f"{path}:1: a NUL character: is the file UTF-16? Save it as UTF-8"]


def test_one_ff_byte_is_an_error_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(GOOD.encode() + b"# \xff\n")
    assert errors_of(path) == [f"{path}:5: not valid UTF-8: invalid start byte"]


def test_a_utf8_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert [r.alert for r in load_rules_file(path).rules] == ["Good"]


# --- bounded: nesting, aliases -----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "rules: " + "[" * 100_000 + "]" * 100_000,
        "rules: " + "{a: " * 100_000 + "1" + "}" * 100_000,
        "rules:\n" + "".join(" " * i + "- \n" for i in range(100)),
    ],
    ids=["lists", "mappings", "block"],
)
def test_deep_nesting_is_a_located_error_found_quickly(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text + "\n")
    started = time.monotonic()
    (error,) = errors_of(path)
    assert error.startswith(f"{path}:") and error.endswith(f": nested deeper than the limit of {MAX_DEPTH} levels")
    assert time.monotonic() - started < 5


def test_nesting_up_to_the_limit_is_read() -> None:
    depth = MAX_DEPTH - 1
    assert load_yaml("[" * depth + "]" * depth) is not None


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_an_alias_bomb_stops_while_composing(tmp_path: Path) -> None:
    path = write(tmp_path, BILLION_LAUGHS)
    started = time.monotonic()
    assert errors_of(path) == [f"{path}:7: more than the limit of 1000000 values once its aliases are expanded"]
    assert time.monotonic() - started < 5


def test_aliases_and_merge_keys_within_the_limit_work(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 1
            labels: &common {team: core, env: prod}
          - alert: B
            expr: {value: {metric: m}}
            above: 1
            labels: {<<: *common, env: dev}
        """,
    )
    loaded = load_rules_file(path)
    assert loaded.errors == ()
    assert [dict(r.labels) for r in loaded.rules] == [{"team": "core", "env": "prod"}, {"team": "core", "env": "dev"}]


def test_a_recursive_alias_is_a_yaml_error(tmp_path: Path) -> None:
    (error,) = errors_of(write(tmp_path, "rules: &r [*r]\n"))
    assert "not valid YAML/JSON" in error


# --- YAML 1.1 surprises and duplicated keys -----------------------------------------


SURPRISES = {
    "duplicate_key": (
        "    above: 1\n    above: 2\n",
        "6: duplicate key 'above' (first on line 5): the second would silently replace the first",
    ),
    "label_no": (
        "    above: 1\n    labels: {team: no}\n",
        "6: 'no' is a boolean in YAML 1.1 (false) and text elsewhere: write false for the boolean, "
        "or quote it ('no') for text",
    ),
    "enabled_yes": (
        "    above: 1\n    enabled: yes\n",
        "6: 'yes' is a boolean in YAML 1.1 (true) and text elsewhere: write true for the boolean, "
        "or quote it ('yes') for text",
    ),
    "key_on": (
        "    above: 1\n    labels: {on: call}\n",
        "6: 'on' is a boolean in YAML 1.1 (true) and text elsewhere: write true for the boolean, "
        "or quote it ('on') for text",
    ),
    "for_off": ("    above: 1\n    for: off\n", "6: 'off' is a boolean in YAML 1.1 (false)"),
    "for_sexagesimal": (
        "    above: 1\n    for: 1:30\n",
        "6: '1:30' is the base-60 number 90 in YAML 1.1: write 90 (or a duration such as 1m30s), or quote it for text",
    ),
    "threshold_sexagesimal_float": ("    above: 1:30.5\n", "5: '1:30.5' is the base-60 number 90.5 in YAML 1.1"),
    "octal": (
        "    above: 0755\n",
        "5: '0755' is the octal number 493 in YAML 1.1: write it without the leading zero, or quote it for text",
    ),
    "binary": ("    above: 0b101\n", "5: '0b101' is a binary number in YAML 1.1 only: write 5"),
    "null_key": ("    above: 1\n    labels: {~: x}\n", "6: the key '~' is not text: quote it"),
}


@pytest.mark.parametrize("case", sorted(SURPRISES))
def test_each_yaml_11_surprise_is_an_error_on_its_line(tmp_path: Path, case: str) -> None:
    body, message = SURPRISES[case]
    path = write(tmp_path, "rules:\n  - alert: A\n    expr:\n      value: {metric: m}\n" + body)
    (error,) = errors_of(path)
    assert error.startswith(f"{path}:{message}"), error


def test_every_surprise_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rules:\n  - alert: A\n    expr: {value: {metric: m}}\n    above: 1\n    above: 2\n"
        "    for: 1:30\n    labels: {team: no, mode: 0755}\n",
    )
    assert [e.split(": ", 1)[0] for e in errors_of(path)] == [f"{path}:{n}" for n in (5, 6, 7, 7)]


def test_what_yaml_12_reads_alike_is_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        rules:
          - alert: A
            expr: {value: {metric: m}}
            above: 0x10
            for: 90
            enabled: TRUE
            labels: {code: 500, version: 1.10, since: 2024-01-01, at: 2001-12-14t21:59:43.10-05:00, zero: 0}
            annotations: {summary: 'no'}
        """,
    )
    loaded = load_rules_file(path)
    assert loaded.errors == ()
    (rule,) = loaded.rules
    assert (rule.thresholds[0][1], rule.for_) == (16.0, 90.0)
    # numbers and dates keep the text written
    assert dict(rule.labels) == {
        "code": "500",
        "version": "1.10",
        "since": "2024-01-01",
        "at": "2001-12-14t21:59:43.10-05:00",
        "zero": "0",
    }
    assert rule.annotations["summary"] == "no"


@pytest.mark.parametrize("field", ["labels", "annotations"])
def test_a_boolean_label_or_annotation_says_to_quote_it(tmp_path: Path, field: str) -> None:
    path = write(
        tmp_path,
        f"rules:\n  - alert: A\n    expr: {{value: {{metric: m}}}}\n    above: 1\n    {field}:\n      page: true\n",
    )
    assert errors_of(path) == [
        f"{path}:6: rules[0] (A).{field}.page: must be a string, not the boolean true: quote it ('true')"
    ]


def test_the_notification_sections_are_read_by_the_same_loader(tmp_path: Path) -> None:
    path = write(tmp_path, "rules: []\nroute:\n  group_wait: 1:30\n  group_wait: 30s\n")
    assert [str(e) for e in load_rules_file(path).errors] == [
        f"{path}:3: '1:30' is the base-60 number 90 in YAML 1.1: write 90 (or a duration such as 1m30s), "
        "or quote it for text",
        f"{path}:4: duplicate key 'group_wait' (first on line 3): the second would silently replace the first",
    ]


@pytest.mark.parametrize(
    "text", ["a: !!int abc", "a: !!float x", "a: !!bool maybe", "a: !!int ''", "a: !!python/name:os.system"]
)
def test_an_explicit_tag_that_cannot_hold_its_value_is_a_yaml_error(text: str) -> None:
    with pytest.raises(DocumentProblems) as info:
        load_yaml(text)
    ((line, message),) = info.value.problems
    assert line == 1 and message.startswith("not valid YAML/JSON: ")


def test_a_number_too_long_to_convert_is_an_error() -> None:
    with pytest.raises(DocumentProblems, match="more than 4000 digits"):
        load_yaml("a: " + "9" * 5000)


# --- durations in rules files ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("    for: 1e30\n", "for"),
        ("    for: 400d\n", "for"),
        ("    keep_firing_for: 53w\n", "keep_firing_for"),
        ("    for: -5s\n", "for"),
        ("    for: .nan\n", "for"),
        ("    for: 1" + "0" * 400 + "\n", "for"),
    ],
)
def test_a_duration_out_of_range_is_a_located_error(tmp_path: Path, body: str, field: str) -> None:
    path = write(tmp_path, "rules:\n  - alert: A\n    expr: {value: {metric: m}}\n    above: 1\n" + body)
    (error,) = errors_of(path)
    assert error.startswith(f"{path}:5: rules[0] (A).{field}: invalid duration")


def test_a_window_longer_than_the_maximum_is_a_located_error(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  - alert: A\n    expr: {rate: {metric: m}, window: 366d}\n    above: 1\n")
    assert errors_of(path) == [
        f"{path}:3: rules[0] (A).expr.window: invalid duration '366d': longer than the maximum of 365d"
    ]


def test_a_group_wait_longer_than_the_maximum_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "rules: []\nroute:\n  group_wait: 400d\n")
    settings = load_settings({"OTEL_PYTHON_ALERTING_RULES": str(path)})
    problems = load_configuration(settings, {}).problems
    assert any("group_wait" in p and "365d" in p for p in problems), problems


# --- one bad file costs that file only -----------------------------------------------


@pytest.mark.parametrize("bad", ["deep", "fifo", "bomb", "utf16"])
def test_a_bad_file_leaves_the_built_in_rules_and_the_other_files(tmp_path: Path, bad: str) -> None:
    good = write(tmp_path, GOOD, "good.yaml")
    path = tmp_path / "bad.yaml"
    if bad == "deep":
        path.write_text("rules: " + "[" * 100_000 + "]" * 100_000)
    elif bad == "fifo":
        os.mkfifo(path)
    elif bad == "bomb":
        path.write_text(BILLION_LAUGHS)
    else:
        path.write_bytes(GOOD.encode("utf-16"))
    rule_set = load_rule_set([str(path), str(good)], {})
    assert {"Good", "MemoryPressure", "CacheHitRateLow"} <= {r.alert for r in rule_set.rules}
    (error,) = rule_set.errors
    assert error.source == str(path)


# --- the notification sections of a hostile file -------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("inhibit_rules:\n  - {source_matchers: true, target_matchers: ['a=\"b\"']}\n", "must be a list of matchers"),
        ("route:\n  receiver: log\n  matchers: 5\n", "must be a list of matchers"),
    ],
)
def test_a_section_of_the_wrong_shape_is_a_located_error(tmp_path: Path, text: str, message: str) -> None:
    # found by the fuzzing: a TypeError there turned all alerting off
    path = write(tmp_path, "rules: []\n" + text)
    environ = {"OTEL_PYTHON_ALERTING_RULES": str(path)}
    problems = load_configuration(load_settings(environ), environ).problems
    assert len(problems) == 1 and problems[0].startswith(f"{path}:") and message in problems[0], problems


def test_a_failure_in_the_notification_sections_costs_them_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import otel_alerting.configuration as configuration

    real = configuration.load_notify_config

    def failing(extra: object, *args: object, **kwargs: object) -> object:
        if extra:
            raise TypeError("a bug")
        return real(extra, *args, **kwargs)  # type: ignore[arg-type]

    def failing_receivers(*args: object) -> object:
        raise TypeError("another bug")

    monkeypatch.setattr(configuration, "load_notify_config", failing)
    monkeypatch.setattr(configuration, "build_receivers", failing_receivers)
    path = write(tmp_path, GOOD + "route: {receiver: log}\nreceivers: []\n")
    environ = {"OTEL_PYTHON_ALERTING_RULES": str(path)}
    loaded = load_configuration(load_settings(environ), environ)
    assert "Good" in {r.alert for r in loaded.rule_set.rules}
    assert loaded.problems == [
        f"{path}: receivers: cannot load (an error in otel-alerting, please report it: TypeError('another bug')); "
        "left out",
        f"{path}: route, inhibit_rules: cannot load (an error in otel-alerting, please report it: TypeError('a bug')); "
        "left out",
    ]
    monkeypatch.setattr(configuration, "load_notify_config", real)
    assert loaded.notify.route == load_configuration(load_settings({}), {}).notify.route  # the default route


def test_an_escape_past_the_last_code_point_is_a_located_error(tmp_path: Path) -> None:
    # found by the fuzzing: PyYAML's scanner raises ValueError, not a YAMLError, on it
    path = tmp_path / "escape.yaml"
    path.write_text('rules: []\nx: "\\U00110000"\n')
    loaded = load_rules_file(path)
    assert not loaded.rules
    assert [str(error) for error in loaded.errors] == [f"{path}: not valid YAML/JSON: chr() arg not in range(0x110000)"]
