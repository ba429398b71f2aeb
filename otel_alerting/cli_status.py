"""``otel-alerting status`` and ``alerts``: a running service's health report, read over HTTP.

The report is the one ``/health`` serves (``otel_alerting.http.report``); this module
only fetches it and lays it out for a terminal. Exit codes follow the monitoring-plugin
convention: 0 ok, 1 degraded or failing, 2 the service cannot be reached (or did not
answer with a report).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import httpx

from .config import load_settings
from .http.report import OK

__all__ = [
    "EXIT_NOT_OK",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "Unreachable",
    "default_url",
    "exit_code",
    "fetch_report",
    "format_alerts",
    "format_report",
    "health_url",
    "write_json",
]

EXIT_OK, EXIT_NOT_OK, EXIT_UNREACHABLE = 0, 1, 2
#: seconds for the whole request: the report is built from memory, a slower answer is a problem
TIMEOUT_S = 3.0
_WILDCARDS = ("", "0.0.0.0", "::")

Report = dict[str, Any]


class Unreachable(Exception):
    """The service did not answer with a health report; the message names the URL."""


def default_url(environ: Mapping[str, str]) -> str | None:
    """The standalone server's base URL from ``OTEL_PYTHON_ALERTING_HTTP_HOST``/``PORT``
    (None when no port is set)."""
    settings = load_settings(environ)
    if settings.http_port is None:
        return None
    host = "127.0.0.1" if settings.http_host in _WILDCARDS else settings.http_host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.http_port}"


def health_url(base: str) -> str:
    base = base.rstrip("/")
    return base if base.endswith("/health") else f"{base}/health"


def fetch_report(url: str, timeout: float = TIMEOUT_S) -> Report:
    """GET ``url`` (a ``/health`` URL); the report whatever the HTTP status (a failing
    service may answer 503 with it)."""
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        raise Unreachable(f"cannot reach {url}: {_reason(exc)}") from None
    try:
        report = response.json()
    except ValueError:
        report = None
    if not isinstance(report, dict) or "status" not in report:
        raise Unreachable(f"{url} answered HTTP {response.status_code} without a health report")
    return report


def _reason(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {TIMEOUT_S:g}s"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unknown"
    return type(exc).__name__


def exit_code(report: Report) -> int:
    return EXIT_OK if report.get("status") == OK else EXIT_NOT_OK


# --- the layout ----------------------------------------------------------------------


@dataclass
class _Writer:
    """Indented lines on one stream."""

    out: TextIO

    def line(self, text: str = "", indent: int = 0) -> None:
        self.out.write("  " * indent + text + "\n")


def _labels(labels: Mapping[str, str]) -> str:
    # an empty value is an absent label, as in Prometheus
    shown = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if v and k != "alertname")
    return f"{{{shown}}}" if shown else ""


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _bytes(value: float) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # pragma: no cover - the loop always returns


def _unavailable(section: Mapping[str, Any]) -> str | None:
    if section.get("available", False):
        return None
    return f"not available ({section.get('reason', 'no reason given')})"


def _alert_line(alert: Mapping[str, Any]) -> str:
    return (
        f"{alert['severity']:<8} {alert['alert']}{_labels(alert.get('labels', {}))} value {_number(alert.get('value'))}"
        f" (threshold {_number(alert.get('threshold'))}) since {alert.get('since') or '-'}"
    )


def format_alerts(report: Report, out: TextIO) -> None:
    """The firing alerts, most severe first, one a line."""
    w = _Writer(out)
    alerts = report.get("alerts", {})
    missing = _unavailable(alerts)
    if missing:
        w.line(f"Alerts: {missing}")
        return
    firing = alerts.get("firing", [])
    if not firing:
        w.line(f"No alert is firing ({alerts.get('pending', 0)} pending).")
        return
    order = list(alerts.get("active", {}))  # most severe first, as the report lists them
    rank = {name: i for i, name in enumerate(order)}
    for alert in sorted(firing, key=lambda a: (rank.get(a["severity"], len(order)), a["alert"])):
        w.line(_alert_line(alert))


def _write_alerts(w: _Writer, report: Report) -> None:
    alerts = report.get("alerts", {})
    missing = _unavailable(alerts)
    if missing:
        w.line(f"Alerts: {missing}")
        return
    active = alerts.get("active", {})
    counts = ", ".join(f"{severity} {n}" for severity, n in active.items())
    w.line(f"Alerts: {sum(active.values())} firing ({counts}), {alerts.get('pending', 0)} pending")
    for alert in alerts.get("firing", []):
        w.line(_alert_line(alert), 1)
    totals = ("fired", "resolved", "escalated", "deescalated", "silenced", "inhibited")
    w.line("since start: " + ", ".join(f"{name} {alerts.get(name, 0)}" for name in totals), 1)


def _write_dependencies(w: _Writer, section: Mapping[str, Any]) -> None:
    missing = _unavailable(section)
    if missing:
        w.line(f"Dependencies: {missing}")
        return
    w.line(f"Dependencies: {'all up' if section.get('up') else 'DOWN'}")
    for d in section.get("items", []):
        where = f"{d.get('address')}:{d.get('port')}" if d.get("port") is not None else str(d.get("address") or "")
        state = "up" if d.get("up") else f"DOWN for {_number(d.get('downtime_s'))}s ({d.get('error_type') or 'error'})"
        latency = d.get("latency_s")
        latency_text = f", latency {latency * 1000:.1f} ms" if latency is not None else ""
        w.line(
            f"{d.get('name')} {where}: {state}{latency_text}, checked {_number(d.get('seconds_since_check'))}s ago", 1
        )


def _write_caches(w: _Writer, section: Mapping[str, Any]) -> None:
    missing = _unavailable(section)
    if missing:
        w.line(f"Caches: {missing}")
        return
    w.line(f"Caches (hit rate over the last {_number(section.get('window_s'))}s):")
    for c in section.get("items", []):
        rate = c.get("hit_rate")
        rate_text = "-" if rate is None else f"{rate:.1%}"
        w.line(f"{c.get('name')}: {rate_text} (hits {c.get('hits')}, misses {c.get('misses')})", 1)


def _write_memory(w: _Writer, section: Mapping[str, Any]) -> None:
    missing = _unavailable(section)
    if missing:
        w.line(f"Memory: {missing}")
        return
    w.line(
        f"Memory: {_bytes(section['usage_bytes'])} of {_bytes(section['limit_bytes'])} "
        f"({section['utilization']:.1%}, limit from {section.get('limit_source')}), "
        f"process RSS {_bytes(section.get('process_rss_bytes', 0))}"
    )


def _write_deliveries(w: _Writer, report: Report) -> None:
    notifications = report.get("alerts", {}).get("notifications")
    if not notifications:
        return
    w.line("Deliveries:")
    for channel, counts in notifications.items():
        w.line(f"{channel}: " + ", ".join(f"{outcome} {n}" for outcome, n in counts.items()), 1)


def _write_plugin(w: _Writer, section: Mapping[str, Any]) -> None:
    missing = _unavailable(section)
    if missing:
        w.line(f"Plugin: {missing}")
        return
    took = section.get("evaluation_duration_s")
    took_text = f" (took {took * 1000:.1f} ms)" if took is not None else ""
    w.line(
        f"Plugin: {section.get('rules')} rule(s), {section.get('evaluations')} evaluation(s), last "
        f"{_number(section.get('seconds_since_evaluation'))}s ago{took_text}"
    )
    for problem in [*section.get("rules_in_error", []), *section.get("configuration_problems", [])]:
        w.line(f"problem: {problem}", 1)


def format_report(report: Report, url: str, out: TextIO) -> None:
    """The whole report, one section a paragraph line."""
    w = _Writer(out)
    at = f" at {report['time']}" if report.get("time") else ""
    w.line(f"{url}: {str(report.get('status', '?')).upper()}{at}")
    for reason in report.get("reasons", []):
        w.line(reason, 1)
    _write_alerts(w, report)
    _write_dependencies(w, report.get("dependencies", {}))
    _write_caches(w, report.get("caches", {}))
    _write_memory(w, report.get("memory", {}))
    _write_deliveries(w, report)
    _write_plugin(w, report.get("plugin", {}))


def write_json(report: Report, out: TextIO) -> None:
    out.write(json.dumps(report, indent=2) + "\n")
