"""The exported absence rule on the plugin's own metrics, run by ``promtool test rules``:
it fires when the evaluations stop reaching Prometheus, not while they come."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from otel_alerting.rules.promql import ExportOptions
from otel_alerting.rules_export import WATCHDOG_ALERT, watchdog_group

COUNT = 'otel_alerting_evaluation_duration_seconds_count{job="api"}'


def test_the_group_reads_the_evaluation_count_with_the_selector() -> None:
    group = watchdog_group(ExportOptions(selector='job="api"'))
    (rule,) = group["rules"]
    assert group["name"] == "otel_alerting_watchdog"
    assert rule["alert"] == WATCHDOG_ALERT
    assert rule["expr"] == f"absent_over_time({COUNT}[5m])"
    assert rule["labels"]["severity"] == "high" and rule["annotations"]["summary"]


def test_promtool_fires_it_only_after_the_evaluations_stop(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: run ./scripts/bootstrap (apt prometheus)")
    done = subprocess.run(
        [sys.executable, "-m", "otel_alerting.cli", "rules", "export", "--format=prometheus", '--selector=job="api"'],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
    )
    assert done.returncode == 0, done.stderr
    (tmp_path / "rules.yml").write_text(done.stdout)
    exported = yaml.safe_load(done.stdout)
    assert [g["name"] for g in exported["groups"]] == ["otel_alerting", "otel_alerting_watchdog"]
    # an evaluation each minute for 10 minutes, then none
    (tmp_path / "test.yml").write_text(
        textwrap.dedent(
            f"""\
            rule_files: [rules.yml]
            evaluation_interval: 1m
            tests:
              - interval: 1m
                input_series:
                  - series: '{COUNT}'
                    values: '1+1x10'
                alert_rule_test:
                  - {{eval_time: 10m, alertname: {WATCHDOG_ALERT}, exp_alerts: []}}
                  - {{eval_time: 14m, alertname: {WATCHDOG_ALERT}, exp_alerts: []}}
                  - eval_time: 17m
                    alertname: {WATCHDOG_ALERT}
                    exp_alerts:
                      - exp_labels: {{severity: high, category: watchdog, job: api}}
                        exp_annotations:
                          summary: No otel-alerting evaluation reported for 5m
                          description: "{exported["groups"][1]["rules"][0]["annotations"]["description"]}"
            """
        )
    )
    result = subprocess.run([promtool, "test", "rules", "test.yml"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
