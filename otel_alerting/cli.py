"""The ``otel-alerting`` command. Thin: it reads what the library already computes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import environment_variables as ev
from .config import load_settings
from .configuration import load_configuration
from .durations import format_duration
from .instrumentation.probes.targets import load_probe_settings
from .notify.routing import Route
from .version import __version__

__all__ = ["main"]


def _check(args: argparse.Namespace) -> int:
    environ = dict(os.environ)
    if args.rules:
        environ[ev.OTEL_PYTHON_ALERTING_RULES] = os.pathsep.join(args.rules)
    settings = load_settings(environ)
    config = load_configuration(settings, environ)
    probes = load_probe_settings(environ)
    out = sys.stdout
    out.write("Effective configuration:\n")
    for name, value in settings.describe().items():
        out.write(f"  {name}={value}\n")
    rules = config.rule_set.rules
    out.write(f"\nRules ({len(rules)}):\n")
    for rule in rules:
        ladder = ", ".join(
            f"{sev.name}{' >=' if rule.direction == 'above' else ' <'} {thr:g}" for sev, thr in rule.thresholds
        )
        out.write(f"  {rule.alert}: {rule.expr.describe()} [{ladder}]")
        if rule.for_:
            out.write(f" for {format_duration(rule.for_)}")
        if rule.keep_firing_for:
            out.write(f" keep_firing_for {format_duration(rule.keep_firing_for)}")
        if rule.recovery is not None:
            out.write(f" recovery {rule.recovery:g}")
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="otel-alerting", description="In-process alerting for services run under opentelemetry-instrument."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command")
    check = commands.add_parser(
        "check",
        help="validate the environment and the rules, print the effective configuration",
        description="Validate OTEL_PYTHON_ALERTING_* and the rules files; exit 1 listing every problem.",
    )
    check.add_argument("--rules", action="append", help=f"a rules file (instead of {ev.OTEL_PYTHON_ALERTING_RULES})")
    args = parser.parse_args(argv)
    if args.command == "check":
        return _check(args)
    parser.print_help()
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
