"""The same workload through the plugin's in-process rules and through a real Prometheus
2.42 and Alertmanager running the exported rules: the same alerts fire with the same
severities on both sides, and both resolve (tests/e2e/prometheus_stack.py).

Everything runs at 1 s (the plugin's interval, Prometheus's scrape and evaluation,
Alertmanager's group_wait 0 s and group_interval 1 s), so the test takes seconds.
"""

from __future__ import annotations

from pathlib import Path

from ..support.waiting import wait_until
from .prometheus_stack import Settings, Stack, alerts_in, prometheus_stack

RULES = """\
rules:
  - alert: LevelHigh
    expr: {value: {metric: app.level}}
    above: {high: 10, critical: 20}
    annotations: {summary: "level {value:g}"}
"""
MATCHED = Settings("matched-1s", 1000, "1s", "1s", "0s", "1s")
#: Prometheus scrapes every second; a phase holds until both sides saw it, within this
TIMEOUT = 30


def _fired(stack: Stack, side: str) -> set[tuple[str, str]]:
    hook = stack.plugin_hook if side == "plugin" else stack.am_hook
    return {(status, severity) for status, severity, _ in alerts_in(hook.requests, "LevelHigh")}


def _wait_both(stack: Stack, wanted: tuple[str, str], what: str) -> None:
    for side in ("plugin", "prometheus"):
        _wait_side(stack, side, wanted, what)


def _wait_side(stack: Stack, side: str, wanted: tuple[str, str], what: str) -> None:
    wait_until(
        lambda: wanted in _fired(stack, side),
        f"{side}: {what}",
        TIMEOUT,
        seen=lambda: (_fired(stack, side), stack.logs()),
    )


def test_prometheus_fires_and_resolves_what_the_plugin_does(tmp_path: Path) -> None:
    with prometheus_stack(tmp_path, RULES, MATCHED) as stack:
        wait_until(
            lambda: stack.query('app_level{job="app"}'),
            "Prometheus to scrape app_level from OpenTelemetry's Prometheus reader",
            TIMEOUT,
            seen=stack.logs,
        )
        stack.set_level(15)  # past high
        _wait_both(stack, ("firing", "high"), "LevelHigh firing at high")
        stack.set_level(25)  # past critical: the ladder escalates
        _wait_both(stack, ("firing", "critical"), "LevelHigh firing at critical")
        stack.set_level(0)  # cleared
        _wait_both(stack, ("resolved", "critical"), "LevelHigh resolved")

        plugin, prometheus = _fired(stack, "plugin"), _fired(stack, "prometheus")
        firing = {severity for status, severity in plugin if status == "firing"}
        assert firing == {"high", "critical"}, plugin
        assert {severity for status, severity in prometheus if status == "firing"} == firing, (plugin, prometheus)
        # every severity that fired is resolved, on both sides
        wait_until(
            lambda: {s for st, s in _fired(stack, "prometheus") if st == "resolved"} >= firing,
            "Alertmanager to resolve every severity that fired",
            TIMEOUT,
            seen=lambda: _fired(stack, "prometheus"),
        )
        plugin_resolved = {s for st, s in _fired(stack, "plugin") if st == "resolved"}
        # the plugin's ladder is one alert: the escalation replaced high, the resolve ends critical
        assert plugin_resolved == {"critical"}, _fired(stack, "plugin")
        wait_until(
            lambda: stack.query('ALERTS{alertname="LevelHigh"}') == [],
            "Prometheus to hold no LevelHigh alert",
            TIMEOUT,
            seen=lambda: stack.query('ALERTS{alertname="LevelHigh"}'),
        )
