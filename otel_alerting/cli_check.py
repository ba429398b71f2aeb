"""``otel-alerting check``: the configuration the plugin will run, and every problem in it.

The environment is first completed as ``opentelemetry-instrument`` completes it (the
package's distro and configurator, see ``cli_environment``), so the channels, the mode
and the exporters shown are those the instrumented service gets.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from . import environment_variables as ev
from .cli_environment import instrumented_environ
from .config import load_settings
from .configuration import load_configuration
from .durations import format_duration
from .instrumentation.probes.targets import load_probe_settings
from .notify.routing import Route

__all__ = ["comparison", "number", "run_check"]


def run_check(environ: Mapping[str, str], rules_paths: Sequence[str] = ()) -> int:
    """Print the effective configuration; 1 when there is a problem (listed on stderr)."""
    given = dict(environ)
    if rules_paths:
        given[ev.OTEL_PYTHON_ALERTING_RULES] = os.pathsep.join(rules_paths)
    environ, applied = instrumented_environ(given)
    settings = load_settings(environ)
    config = load_configuration(settings, environ)
    probes = load_probe_settings(environ)
    out = sys.stdout
    _write_applied(out, applied)
    out.write("Effective configuration:\n")
    for name, value in settings.describe().items():
        out.write(f"  {name}={value}\n")
    rules = config.rule_set.rules
    out.write(f"\nRules ({len(rules)}):\n")
    for rule in rules:
        ladder = ", ".join(f"{sev.name} {comparison(rule.direction, thr)}" for sev, thr in rule.thresholds)
        out.write(f"  {rule.alert}: {rule.expr.describe()} [{ladder}]")
        if rule.for_:
            out.write(f" for {format_duration(rule.for_)}")
        if rule.keep_firing_for:
            out.write(f" keep_firing_for {format_duration(rule.keep_firing_for)}")
        if rule.recovery is not None:
            out.write(f" recovery {number(rule.recovery)}")
        out.write(f" ({rule.source})\n")
    out.write("\nChannels:\n")
    for channel in config.channels:
        out.write(f"  {channel.describe()}\n")
    out.write("\nRouting:\n")
    for line in _routes(config.notify.route):
        out.write(f"  {line}\n")
    out.write(f"  inhibition rules: {len(config.notify.inhibit_rules)}\n")
    out.write("\nDependency probes:")
    if probes.targets:
        out.write(f" every {format_duration(probes.interval_s)}, timeout {format_duration(probes.timeout_s)}\n")
        for target in probes.targets:
            out.write(f"  {target.name}: {target.display}\n")
    else:
        out.write(" none configured\n")
    problems = [*config.problems, *(str(e) for e in probes.errors)]
    if problems:
        sys.stderr.write(f"\n{len(problems)} problem(s):\n")
        for problem in problems:
            sys.stderr.write(f"  {problem}\n")
        return 1
    out.write("\nOK\n")
    return 0


def number(value: float) -> str:
    """``value`` in the fewest digits that read back as the same float (``0.05``, ``1e+06``)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def comparison(direction: str, threshold: float) -> str:
    """A level's condition as written: ``above`` is ``>=`` and ``below`` is ``<``
    (``engine.results.crossing``). A threshold that is one float past a number of at most
    15 significant digits, and is not such a number itself, is shown as that number with
    ``>`` or ``<=``: the same condition, as it was written (the Prometheus import stores
    ``> 0.05`` as ``>=`` the next float after 0.05)."""
    before = math.nextafter(threshold, -math.inf)
    if _written(before) and not _written(threshold):
        return f"{'>' if direction == 'above' else '<='} {number(before)}"
    return f"{'>=' if direction == 'above' else '<'} {number(threshold)}"


def _written(value: float) -> bool:
    # every decimal of at most 15 significant digits reads back as itself from a normal
    # float; a subnormal one (the float after 0) is no number anyone writes
    if value != 0 and abs(value) < sys.float_info.min:
        return False
    return float(f"{value:.15g}") == value


def _routes(route: Route, depth: int = 0) -> list[str]:
    """One line per route: its matchers, channels and timers (children indented)."""
    matchers = ", ".join(str(m) for m in route.matchers) or "every alert"
    timers = route.timers
    lines = []
    if route.receivers or not route.routes:
        lines.append(
            "  "
            * depth
            + f"{matchers} -> {', '.join(route.receivers) or 'nothing'} (group_by {', '.join(route.group_by)}; wait "
            f"{format_duration(timers.group_wait)}, interval {format_duration(timers.group_interval)}, repeat "
            f"{format_duration(timers.repeat_interval)}{'; continue' if route.continue_ else ''})"
        )
    for child in route.routes:
        lines.extend(_routes(child, depth + (1 if route.receivers else 0)))
    return lines


def _write_applied(out: TextIO, applied: Mapping[str, str]) -> None:
    if not applied:
        return
    out.write("Defaults applied as under opentelemetry-instrument (the otel-alerting distro and configurator):\n")
    for name, value in sorted(applied.items()):
        out.write(f"  {name}={value}\n")
    out.write("\n")
