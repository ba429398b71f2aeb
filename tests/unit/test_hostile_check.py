"""``otel-alerting check`` (the installed console script) on hostile rules files and
settings: every problem listed with its place, exit status 1, no traceback, no hang."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).parent / "otel-alerting")


def check(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ALERT_"))}
    clean.update(env)
    try:
        return subprocess.run([CLI, "check", *args], env=clean, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"otel-alerting check did not finish within 60 s:\n{exc.stderr!r}") from None


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _deep(path: Path) -> None:
    path.write_text("rules: " + "[" * 100_000 + "]" * 100_000 + "\n")


def _utf16(path: Path) -> None:
    path.write_bytes("rules: []\n".encode("utf-16"))


def _duplicate(path: Path) -> None:
    path.write_text("rules:\n  - alert: A\n    expr: {value: {metric: m}}\n    above: 1\n    above: 2\n")


def _team_no(path: Path) -> None:
    path.write_text("rules:\n  - alert: A\n    expr: {value: {metric: m}}\n    above: 1\n    labels: {team: no}\n")


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "fifo": (_fifo, "rules.yaml: cannot read: not a regular file but a named pipe (FIFO)"),
    "deep": (_deep, "rules.yaml:1: nested deeper than the limit of 64 levels"),
    "utf16": (_utf16, "rules.yaml:1: not valid UTF-8: the file is UTF-16"),
    "duplicate": (_duplicate, "rules.yaml:5: duplicate key 'above' (first on line 4)"),
    "team_no": (_team_no, "rules.yaml:5: 'no' is a boolean in YAML 1.1 (false)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_reports_a_hostile_rules_file(tmp_path: Path, case: str) -> None:
    path = tmp_path / "rules.yaml"
    CASES[case][0](path)
    done = check("--rules", str(path))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "1 problem(s):" in done.stderr and CASES[case][1] in done.stderr, done.stderr
    assert "MemoryPressure" in done.stdout  # the built-in pack is still there


def test_check_reports_dev_zero_at_once() -> None:
    done = check("--rules", "/dev/zero")
    assert done.returncode == 1
    assert "/dev/zero: cannot read: not a regular file but a character device" in done.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OTEL_PYTHON_ALERTING_INTERVAL", "1e30", "invalid value '1e30': expected a number from 10 to 31536000000"),
        ("OTEL_PYTHON_ALERTING_COOLDOWN", "1e30", "invalid value '1e30': expected a duration of at most 365d"),
        ("OTEL_PYTHON_ALERTING_PROBE_INTERVAL", "400d", "invalid value '400d': expected a duration of at most 365d"),
        ("OTEL_PYTHON_ALERTING_GROUP_WAIT", "1e30", "longer than the maximum of 365d"),
    ],
)
def test_check_reports_a_duration_setting_out_of_bounds(variable: str, value: str, message: str) -> None:
    done = check(**{variable: value})
    assert done.returncode == 1, done.stdout
    assert "Traceback" not in done.stderr
    assert f"{variable}: " in done.stderr and message in done.stderr, done.stderr
