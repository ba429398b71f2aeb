"""End to end: a hostile or broken rules file under opentelemetry-instrument costs that
file only. The built-in rules and the other files keep alerting; strict mode stops the
process with the located problem; nothing hangs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from otel_alerting.testing import OtlpReceiver

from .instrumented import instrumented_env, run_instrumented
from .test_instrument import LEVEL_APP, LEVEL_RULES, alert_lines


def _deep(path: Path) -> None:
    # 100,000 levels: a RecursionError once turned all alerting off
    path.write_text("rules: " + "[" * 100_000 + "]" * 100_000 + "\n")


def _not_utf8(path: Path) -> None:
    path.write_bytes(b"rules: []\n# \xff\n")


def _utf16(path: Path) -> None:
    path.write_bytes("rules: []\n".encode("utf-16"))


def _fifo(path: Path) -> None:
    os.mkfifo(path)  # no writer ever comes: opening it for reading used to block for good


def _duplicate_key(path: Path) -> None:
    path.write_text("rules:\n  - alert: Other\n    expr: {value: {metric: app.level}}\n    above: 1\n    above: 2\n")


BAD_FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    "deep": (_deep, "bad.yaml:1: nested deeper than the limit of 64 levels"),
    "not_utf8": (_not_utf8, "bad.yaml:2: not valid UTF-8: invalid start byte"),
    "utf16": (_utf16, "bad.yaml:1: not valid UTF-8: the file is UTF-16"),
    "fifo": (_fifo, "bad.yaml: cannot read: not a regular file but a named pipe (FIFO)"),
    "duplicate_key": (_duplicate_key, "bad.yaml:5: duplicate key 'above' (first on line 4)"),
}


def _env(receiver: OtlpReceiver, tmp_path: Path, case: str, **extra: str) -> dict[str, str]:
    good = tmp_path / "good.yaml"
    good.write_text(LEVEL_RULES)
    bad = tmp_path / "bad.yaml"
    BAD_FILES[case][0](bad)
    return instrumented_env(
        receiver,
        PHASES="0:0.3,700:2,0:1",
        OTEL_PYTHON_ALERTING_RULES=os.pathsep.join([str(good), str(bad)]),
        # a built-in rule made to fire at once: the process's own memory is above this
        OTEL_PYTHON_ALERTING_RULE_MEMORYPRESSURE_ABOVE="medium:0.000001",
        OTEL_PYTHON_ALERTING_RULE_MEMORYPRESSURE_FOR="0s",
        **extra,
    )


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_second_file_leaves_the_built_in_rules_and_the_good_file_alerting(
    receiver: OtlpReceiver, tmp_path: Path, case: str
) -> None:
    run = run_instrumented(LEVEL_APP, _env(receiver, tmp_path, case), timeout=90)
    assert run.returncode == 0, run.stderr
    assert "app: done" in run.stdout
    assert "failed to start" not in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert BAD_FILES[case][1] in run.stderr, run.stderr
    assert alert_lines(run.stderr, "FIRING", "LevelHigh"), run.stderr  # the good file
    assert alert_lines(run.stderr, "FIRING", "MemoryPressure"), run.stderr  # the built-in pack


@pytest.mark.parametrize("case", ["deep", "fifo"])
def test_strict_mode_stops_the_process_naming_the_bad_file(receiver: OtlpReceiver, tmp_path: Path, case: str) -> None:
    run = run_instrumented(LEVEL_APP, _env(receiver, tmp_path, case, OTEL_PYTHON_ALERTING_STRICT="true"), timeout=90)
    assert run.returncode == 1, run.stderr
    assert "app: done" not in run.stdout
    assert "invalid configuration (strict mode)" in run.stderr, run.stderr
    # the problems, not a traceback of the interpreter's start-up under them
    assert "Fatal Python error" not in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert BAD_FILES[case][1] in run.stderr, run.stderr
