"""The ``otel-alerting`` command. Thin: it reads what the library already computes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import cli_status
from . import environment_variables as ev
from .cli_check import run_check
from .cli_environment import instrumented_environ
from .cli_notify import configured_channels, send_test
from .config import load_settings
from .configuration import load_configuration
from .rules.model import Severity
from .rules.prometheus_names import NameOptions
from .rules.promql import ExportOptions
from .rules_export import export_text, parse_by, parse_metric_declarations
from .version import __version__

__all__ = ["main"]


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
    return ExportOptions(names=names, selector=args.selector or "", by=parse_by(args.by or ""))


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
    export.add_argument(
        "--by",
        metavar="LABELS",
        help="Prometheus labels added to every aggregation and inhibition, for example job,instance: "
        "per-process rules then fire per process across a fleet",
    )
    export.add_argument("--no-unit-suffix", action="store_true", help="metric names without the unit suffix")
    export.add_argument("--no-total-suffix", action="store_true", help="counters without the _total suffix")
    export.add_argument("--ratio-suffix", action="store_true", help="gauges of unit 1 end in _ratio (the Collector)")
    export.add_argument(
        "--metric",
        action="append",
        metavar="NAME=KIND[:UNIT]",
        help="an instrument's kind (counter, gauge, histogram) and unit, for example app.latency=histogram:ms",
    )


def _status(args: argparse.Namespace) -> int:
    url = args.url or cli_status.default_url(os.environ)
    if url is None:
        sys.stderr.write(
            f"otel-alerting {args.command}: no service to ask: pass --url or set {ev.OTEL_PYTHON_ALERTING_HTTP_PORT}\n"
        )
        return cli_status.EXIT_UNREACHABLE
    health = cli_status.health_url(url)
    try:
        report = cli_status.fetch_report(health)
    except cli_status.Unreachable as exc:
        sys.stderr.write(f"otel-alerting {args.command}: {exc}\n")
        return cli_status.EXIT_UNREACHABLE
    if args.json:
        cli_status.write_json(report, sys.stdout)
    elif args.command == "alerts":
        cli_status.format_alerts(report, sys.stdout)
    else:
        cli_status.format_report(report, health, sys.stdout)
    return cli_status.exit_code(report)


def _test_notify(args: argparse.Namespace) -> int:
    environ, _ = instrumented_environ(os.environ)
    channels, _problems = configured_channels(environ)
    channel = channels.get(args.channel)
    if channel is None:
        names = ", ".join(channels) or "none"
        sys.stderr.write(
            f"otel-alerting test-notify: no channel {args.channel!r} is configured (configured: {names})\n"
        )
        return 2
    result = send_test(channel, Severity.parse(args.severity))
    if result.ok:
        sys.stdout.write(f"{channel.describe()}: delivered\n")
        return 0
    sys.stderr.write(f"{channel.describe()}: failed: {result.error}\n")
    return 1


def _add_status_parsers(commands: Any) -> None:
    for name, text in (
        ("status", "the running service's health report (GET URL/health)"),
        ("alerts", "the running service's firing alerts (from its health report)"),
    ):
        parser = commands.add_parser(
            name,
            help=text,
            description=f"{text[0].upper()}{text[1:]}. Exit 0 ok, 1 degraded or failing, 2 cannot reach.",
        )
        parser.add_argument(
            "--url",
            help=f"the service's base URL (default: from {ev.OTEL_PYTHON_ALERTING_HTTP_HOST} and "
            f"{ev.OTEL_PYTHON_ALERTING_HTTP_PORT})",
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _add_test_notify_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "test-notify",
        help="send one test notification through a configured channel",
        description="Build the channels from the environment as the plugin does and send one firing test alert "
        "through one of them. Exit 0 delivered, 1 failed, 2 no such channel configured.",
    )
    parser.add_argument("--channel", required=True, help="the channel's name, as `otel-alerting check` lists it")
    parser.add_argument(
        "--severity",
        choices=[s.name.lower() for s in Severity],
        default=Severity.HIGH.name.lower(),
        help="the test alert's severity (default: high)",
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
    _add_status_parsers(commands)
    _add_test_notify_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "check":
        return run_check(os.environ, args.rules or ())
    if args.command == "rules":
        return _export(args)
    if args.command in ("status", "alerts"):
        return _status(args)
    if args.command == "test-notify":
        return _test_notify(args)
    parser.print_help()
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
