"""The ``otel-alerting`` command. Thin: it reads what the library already computes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import environment_variables as ev
from .config import load_settings
from .configuration import load_configuration
from .durations import format_duration
from .instrumentation.probes.targets import load_probe_settings
from .notify.routing import Route
from .rules.prometheus_names import NameOptions
from .rules.promql import ExportOptions
from .rules_export import export_text, parse_metric_declarations
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


def _export(args: argparse.Namespace) -> int:
    environ = dict(os.environ)
    if args.rules:
        environ[ev.OTEL_PYTHON_ALERTING_RULES] = os.pathsep.join(args.rules)
    settings = load_settings(environ)
    config = load_configuration(settings, environ)
    if config.rule_set.errors:
        for error in config.rule_set.errors:
            sys.stderr.write(f"{error}\n")
        return 1
    try:
        options = _export_options(args)
    except ValueError as exc:
        sys.stderr.write(f"otel-alerting rules export: {exc}\n")
        return 2
    text, notes = export_text(config, args.format, options, f"rules export --format {args.format}")
    sys.stdout.write(text)
    for note in notes:
        sys.stderr.write(f"not translated: {note}\n")
    return 0


def _export_options(args: argparse.Namespace) -> ExportOptions:
    names = NameOptions(
        unit_suffix=not args.no_unit_suffix,
        total_suffix=not args.no_total_suffix,
        ratio_suffix=args.ratio_suffix,
        metrics=parse_metric_declarations(args.metric or ()),
    )
    return ExportOptions(names=names, selector=args.selector or "")


def _add_rules_parser(commands: Any) -> None:
    rules = commands.add_parser("rules", help="work with the effective rules")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    export = rules_commands.add_parser(
        "export",
        help="print the effective rules as a Prometheus rule file or an alertmanager.yml",
        description="Print the built-in pack, the rules files and the environment overrides as Prometheus "
        "alerting rules (one per severity level), or the routes and inhibitions as an alertmanager.yml. "
        "What cannot be translated is listed in the output's comments and on stderr.",
    )
    export.add_argument("--format", choices=("prometheus", "alertmanager"), required=True)
    export.add_argument("--rules", action="append", help=f"a rules file (instead of {ev.OTEL_PYTHON_ALERTING_RULES})")
    export.add_argument("--selector", help="matchers added to every selector, for example 'job=\"api\"'")
    export.add_argument("--no-unit-suffix", action="store_true", help="metric names without the unit suffix")
    export.add_argument("--no-total-suffix", action="store_true", help="counters without the _total suffix")
    export.add_argument("--ratio-suffix", action="store_true", help="gauges of unit 1 end in _ratio (the Collector)")
    export.add_argument(
        "--metric",
        action="append",
        metavar="NAME=KIND[:UNIT]",
        help="an instrument's kind (counter, gauge, histogram) and unit, for example app.latency=histogram:ms",
    )


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
    _add_rules_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "check":
        return _check(args)
    if args.command == "rules":
        return _export(args)
    parser.print_help()
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
