"""``otel-alerting check`` shows each threshold as it was written: ``above`` is ``>=``,
``below`` is ``<``, and an imported ``> T`` or ``<= T`` (stored as the float after T) is
shown as ``> T`` or ``<= T``, not as ``>= T`` or ``< T``."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from otel_alerting import environment_variables as ev
from otel_alerting.cli_check import comparison, number, run_check
from otel_alerting.engine.results import crossing


@pytest.mark.parametrize(
    ("direction", "threshold", "shown"),
    [
        ("above", 0.05, ">= 0.05"),
        ("above", math.nextafter(0.05, math.inf), "> 0.05"),
        ("below", 0.3, "< 0.3"),
        ("below", math.nextafter(0.3, math.inf), "<= 0.3"),
        ("above", 0.0, ">= 0"),
        ("above", math.nextafter(0.0, math.inf), "> 0"),
        ("below", math.nextafter(0.0, math.inf), "<= 0"),
        ("above", math.nextafter(-1.0, math.inf), "> -1"),
        ("above", 1e6, ">= 1e+06"),
        ("above", math.nextafter(1e300, math.inf), "> 1e+300"),
        # %g would show 0.123457: every digit that matters is kept
        ("above", 0.1234567, ">= 0.1234567"),
        ("below", 0.1 + 0.2, "<= 0.3"),  # the float after 0.3: the same condition
        # the float after a number that is not short itself is shown as it is
        ("above", 10000 / 600, ">= 16.666666666666668"),
    ],
)
def test_the_comparison_reads_as_written(direction: str, threshold: float, shown: str) -> None:
    assert comparison(direction, threshold) == shown


@pytest.mark.parametrize("written", [0.05, 0.3, 1.0, 0.0, -2.5, 1e-9, 123456.789])
def test_what_is_shown_is_the_comparison_the_engine_makes(written: float) -> None:
    stored = math.nextafter(written, math.inf)
    probes = {("just below",): math.nextafter(written, -math.inf), ("at",): written, ("after",): stored}
    assert comparison("above", stored) == f"> {number(written)}"
    assert crossing(probes, stored, True) == [("after",)]  # > written
    assert comparison("below", stored) == f"<= {number(written)}"
    assert crossing(probes, stored, False) == [("just below",), ("at",)]  # <= written


PROMETHEUS = """\
groups:
- name: app
  rules:
  - alert: ErrorRatio
    expr: sum(rate(app_errors_total[5m])) / sum(rate(app_requests_total[5m])) > 0.05
    labels: {severity: warning}
  - alert: ErrorRatio
    expr: sum(rate(app_errors_total[5m])) / sum(rate(app_requests_total[5m])) >= 0.2
    labels: {severity: critical}
  - alert: FewWorkers
    expr: count(app_worker_busy) <= 1
    labels: {severity: error}
  - alert: Idle
    expr: sum(rate(app_requests_total[5m])) < 0.5
    labels: {severity: info}
"""
OURS = """\
rules:
  - alert: Depth
    expr: {value: {metric: app.depth}}
    above: {medium: 0.05, high: 0.1234567}
    recovery: 0.04
"""


def _check(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, **environ: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    assert run_check({ev.OTEL_PYTHON_ALERTING_DEFAULT_RULES: "false", **environ}, [str(path)]) == 0
    return capsys.readouterr().out


def test_check_shows_an_imported_greater_than_as_greater_than(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = "app.errors=counter,app.requests=counter,app.worker.busy=gauge"
    out = _check(tmp_path, capsys, "prom.yml", PROMETHEUS, **{ev.OTEL_PYTHON_ALERTING_PROMETHEUS_METRICS: metrics})
    assert "[MEDIUM > 0.05, CRITICAL >= 0.2]" in out, out
    assert "[HIGH <= 1]" in out, out
    assert "[LOW < 0.5]" in out, out


def test_check_shows_our_own_thresholds_as_at_or_above(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _check(tmp_path, capsys, "rules.yaml", OURS)
    assert "Depth: value(app.depth) [MEDIUM >= 0.05, HIGH >= 0.1234567] recovery 0.04" in out, out
