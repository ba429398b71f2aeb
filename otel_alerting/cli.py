"""The ``otel-alerting`` command. Thin: it reads what the library already computes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .channels import build_channels
from .config import load_settings
from .durations import format_duration
from .rules import load_rule_set
from .version import __version__

__all__ = ["main"]


def _check(args: argparse.Namespace) -> int:
    environ = dict(os.environ)
    if args.rules:
        environ["OTEL_PYTHON_ALERTING_RULES"] = os.pathsep.join(args.rules)
    settings = load_settings(environ)
    rule_set = load_rule_set(settings.rules_paths, environ, include_defaults=settings.default_rules)
    out = sys.stdout
    out.write("Effective configuration:\n")
    for name, value in settings.describe().items():
        out.write(f"  {name}={value}\n")
    out.write(f"\nRules ({len(rule_set.rules)}):\n")
    for rule in rule_set.rules:
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
    built, channel_errors = build_channels(settings, environ)
    channels = [channel.describe() for channel in built]
    out.write(f"\nChannels: {', '.join(channels) or 'none'}\n")
    problems = [str(e) for e in (*settings.errors, *rule_set.errors, *channel_errors)]
    if problems:
        sys.stderr.write(f"\n{len(problems)} problem(s):\n")
        for problem in problems:
            sys.stderr.write(f"  {problem}\n")
        return 1
    out.write("\nOK\n")
    return 0


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
    check.add_argument("--rules", action="append", help="a rules file (instead of OTEL_PYTHON_ALERTING_RULES)")
    args = parser.parse_args(argv)
    if args.command == "check":
        return _check(args)
    parser.print_help()
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
