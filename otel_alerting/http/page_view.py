"""The status page's HTML: small functions from the alerting system and the health
report to strings, every piece of user data (labels, annotations, silence comments)
escaped. No asset is loaded from anywhere: the style is inline and the only script,
which reloads the page every few seconds unless a form is in use, is
allowed by its hash in the page's Content-Security-Policy.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import html
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..durations import format_duration
from ..engine.lifecycle import AlertState, TransitionKind
from ..notify.routing import routing_labels
from ..rules.template import render
from .page_style import STYLE

if TYPE_CHECKING:
    from ..engine.manager import AlertSnapshot
    from ..notify.silences import Silence
    from ..system import AlertingSystem

__all__ = ["REFRESH_S", "SECURITY_HEADERS", "WriteMode", "render_error", "render_page"]

#: seconds between two reloads of the page
REFRESH_S = 5
#: resolved alerts shown, the most recent first
RESOLVED_SHOWN = 20

_SCRIPT = (
    "setInterval(function(){var a=document.activeElement;"
    "var busy=!!(a&&a.form)||Array.prototype.some.call(document.querySelectorAll('input'),"
    "function(i){return i.value!==i.defaultValue});"
    f"if(!busy)location.reload()}},{REFRESH_S * 1000});"
)
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{_SCRIPT_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    # "no-referrer" would make the browser send "Origin: null" with the page's own forms
    ("Referrer-Policy", "same-origin"),
)


class WriteMode(enum.Enum):
    """What the page offers for silences: the form, the form with a token field, or
    a read-only list."""

    OPEN = "open"
    TOKEN = "token"
    READ_ONLY = "read-only"


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _document(title: str, body: str, *, refresh: bool) -> str:
    script = f"<script>{_SCRIPT}</script>" if refresh else ""
    fallback = f'<noscript><meta http-equiv="refresh" content="{REFRESH_S}"></noscript>' if refresh else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,">{fallback}<title>{e(title)}</title><style>{STYLE}</style>'
        f"</head><body>{body}{script}</body></html>"
    )


def render_error(message: str, back: str = "./") -> str:
    body = (
        f'<h1>otel-alerting</h1><p class="error">{e(message)}</p><p><a href="{e(back)}">Back to the status page</a></p>'
    )
    return _document("otel-alerting: error", body, refresh=False)


def render_page(system: AlertingSystem | None, report: Mapping[str, Any], now: float, mode: WriteMode) -> str:
    status = str(report.get("status", "?"))
    reasons = "".join(f"<li>{e(r)}</li>" for r in report.get("reasons", ()))
    head = (
        f'<header><h1>otel-alerting</h1><span class="status {e(status)}">{e(status)}</span>'
        f'<span class="muted">{e(report.get("time", ""))}, refreshed every {REFRESH_S}s</span></header>'
        + (f'<ul class="reasons">{reasons}</ul>' if reasons else "")
    )
    if system is None:
        alerts = f'<p class="muted">{e(report.get("alerts", {}).get("reason", "alerting is not running"))}</p>'
    else:
        alerts = _alert_sections(system, now, mode)
    body = head + alerts + _dependencies(report.get("dependencies", {})) + _caches(report.get("caches", {}))
    return _document(f"otel-alerting: {status}", body + _plugin(report.get("plugin", {})), refresh=True)


# --- alerts ------------------------------------------------------------------------


def _alert_sections(system: AlertingSystem, now: float, mode: WriteMode) -> str:
    active = system.manager.active()
    firing = [a for a in active if a.state is AlertState.FIRING]
    pending = [a for a in active if a.state is AlertState.PENDING]
    return (
        _section("Firing", len(firing), _firing_table(system, firing, now), "firing")
        + _section("Pending", len(pending), _pending_table(pending, now), "pending")
        + _section("Recently resolved", None, _resolved_table(system), "resolved")
        + _silences(system.silences.list(now), now, mode)
    )


def _section(title: str, count: int | None, content: str, ident: str) -> str:
    shown = f' <span class="count">{count}</span>' if count is not None else ""
    return f'<section id="{ident}"><h2>{e(title)}{shown}</h2>{content}</section>'


def _table(headings: Sequence[str], rows: Iterable[str], empty: str) -> str:
    body = "".join(rows)
    if not body:
        return f'<p class="muted">{e(empty)}</p>'
    head = "".join(f"<th>{e(h)}</th>" for h in headings)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _labels(labels: Mapping[str, str]) -> str:
    return "".join(f'<span class="label">{e(k)}="{e(v)}"</span>' for k, v in labels.items() if k != "alertname")


def _severity(name: str | None) -> str:
    shown = name or "-"
    return f'<span class="sev {e(shown.lower())}">{e(shown)}</span>'


def _number(value: float | None) -> str:
    return "-" if value is None else e(f"{value:.6g}")


def _ago(now: float, then: float | None) -> str:
    return "-" if then is None else e(format_duration(max(now - then, 0.0)))


def _firing_table(system: AlertingSystem, firing: Sequence[AlertSnapshot], now: float) -> str:
    summaries = _summaries(system)
    sources = system.pipeline.inhibitor.sources()
    rows = []
    for a in firing:
        labels = routing_labels(a.labels, a.severity) if a.severity is not None else dict(a.labels)
        silence = system.silences.muting(labels, now)
        inhibited = system.pipeline.inhibitor.muting(labels, sources) if silence is None else None
        if silence is not None:
            state = f'<span class="state silenced" title="{e(silence.id)}">silenced: {e(silence.comment)}</span>'
        elif inhibited is not None:
            state = f'<span class="state inhibited">{e(inhibited)}</span>'
        else:
            state = '<span class="state notifying">notifying</span>'
        rows.append(
            f'<tr class="alert" data-alert="{e(a.alert)}"><td>{_severity(a.severity.name if a.severity else None)}</td>'
            f'<td><strong>{e(a.alert)}</strong><div class="summary">{e(summaries(a))}</div></td>'
            f"<td>{_labels(a.labels)}</td><td>{_number(a.value)} / {_number(a.threshold)}</td>"
            f"<td>{_ago(now, a.fired_at)}</td><td>{state}</td></tr>"
        )
    return _table(("Severity", "Alert", "Labels", "Value / threshold", "Firing for", "State"), rows, "Nothing fires.")


def _summaries(system: AlertingSystem) -> Any:
    rules = {r.alert: r for r in system.manager.rules}

    def summary(a: AlertSnapshot) -> str:
        rule = rules.get(a.alert)
        template = rule.annotations.get("summary", "") if rule is not None else ""
        values = {
            "alert": a.alert,
            "value": a.value,
            "threshold": a.threshold,
            "severity": a.severity.name if a.severity else "",
            "state": a.state.value.upper(),
            "labels": a.labels,
            "for": format_duration(rule.for_) if rule is not None else "",
            "window": "",
            "expr": rule.expr.describe() if rule is not None else "",
            "last_firing_value": a.value,
        }
        return render(template, values) if template else ""

    return summary


def _pending_table(pending: Sequence[AlertSnapshot], now: float) -> str:
    rows = (
        f'<tr class="alert" data-alert="{e(a.alert)}"><td><strong>{e(a.alert)}</strong></td>'
        f"<td>{_labels(a.labels)}</td><td>{_number(a.value)} / {_number(a.threshold)}</td>"
        f"<td>{_ago(now, a.active_since)}</td></tr>"
        for a in pending
    )
    return _table(("Alert", "Labels", "Value / threshold", "Pending for"), rows, "Nothing is pending.")


def _resolved_table(system: AlertingSystem) -> str:
    resolved = [h for h in system.manager.history() if h.transition.kind is TransitionKind.RESOLVED]
    rows = []
    for h in reversed(resolved[-RESOLVED_SHOWN:]):
        t = h.transition
        severity = t.previous_severity.name if t.previous_severity is not None else None
        fired_for = "-" if t.fired_for is None else e(format_duration(t.fired_for))
        rows.append(
            f"<tr><td>{_severity(severity)}</td><td><strong>{e(h.alert)}</strong></td><td>{_labels(h.labels)}</td>"
            f"<td>{fired_for}</td><td>{e(_clock_time(t.at))}</td><td>{e(t.reason or '')}</td></tr>"
        )
    return _table(("Severity", "Alert", "Labels", "Fired for", "Resolved at", "Why"), rows, "Nothing resolved yet.")


def _clock_time(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


# --- silences ----------------------------------------------------------------------


def _silences(silences: Sequence[Silence], now: float, mode: WriteMode) -> str:
    rows = []
    for s in sorted(silences, key=lambda s: (s.state(now) == "expired", -s.ends_at)):
        state = s.state(now)
        left = s.ends_at - now
        ends = f"in {format_duration(left)}" if left > 0 else f"{format_duration(-left)} ago"
        action = ""
        if mode is not WriteMode.READ_ONLY and state != "expired":
            action = (
                f'<form method="post" action="silences/{e(s.id)}/expire" class="inline">{_token_field(mode)}'
                '<button type="submit">Expire</button></form>'
            )
        rows.append(
            f'<tr class="silence {e(state)}"><td>{" ".join(f"<code>{e(m)}</code>" for m in s.matchers)}</td>'
            f"<td>{e(state)}</td><td>{e(ends)}</td><td>{e(s.created_by)}</td><td>{e(s.comment)}</td><td>{action}</td></tr>"
        )
    table = _table(("Matchers", "State", "Ends", "By", "Comment", ""), rows, "No silence.")
    live = sum(1 for s in silences if s.state(now) != "expired")
    return _section("Silences", live, table + _silence_form(mode), "silences")


def _token_field(mode: WriteMode) -> str:
    if mode is not WriteMode.TOKEN:
        return ""
    # never filled in from the request: the token is not written into a page
    return '<input type="password" name="token" placeholder="token" autocomplete="off" required>'


def _silence_form(mode: WriteMode) -> str:
    if mode is WriteMode.READ_ONLY:
        return '<p class="muted">Silences are read-only here: writes are not allowed from this address.</p>'
    return (
        '<form id="new-silence" method="post" action="silences"><h3>New silence</h3>'
        '<label>Matchers <input type="text" name="matchers" required size="30"'
        " placeholder='alertname=\"CacheHitRateLow\"'></label>"
        '<label>Duration <input type="text" name="duration" required value="1h" size="6"></label>'
        '<label>Comment <input type="text" name="comment" required></label>'
        '<label>Author <input type="text" name="author" required size="12"></label>'
        f'{_token_field(mode)}<button type="submit">Create silence</button></form>'
    )


# --- the health report's other sections -------------------------------------------


def _unavailable(section: Mapping[str, Any]) -> str | None:
    if section.get("available"):
        return None
    return f'<p class="muted">{e(section.get("reason", "not available"))}</p>'


def _dependencies(section: Mapping[str, Any]) -> str:
    content = _unavailable(section)
    if content is None:
        rows = (
            f"<tr><td>{e(d['name'])}</td><td>{e(d['address'] or '')}{':' + e(d['port']) if d['port'] else ''}</td>"
            f'<td><span class="state {"up" if d["up"] else "down"}">{"up" if d["up"] else "down"}</span></td>'
            f"<td>{_seconds(d['latency_s'])}</td><td>{_seconds(d['seconds_since_check'])} ago</td>"
            f"<td>{_seconds(d['downtime_s']) if not d['up'] else ''}</td><td>{e(d['error_type'] or '')}</td></tr>"
            for d in section.get("items", ())
        )
        content = _table(("Name", "Address", "State", "Latency", "Checked", "Down for", "Error"), rows, "")
    return _section("Dependencies", None, content, "dependencies")


def _caches(section: Mapping[str, Any]) -> str:
    content = _unavailable(section)
    if content is None:
        rows = (
            f"<tr><td>{e(c['name'])}</td><td>{_rate(c['hit_rate'])}</td><td>{e(c['hits'])}</td>"
            f"<td>{e(c['misses'])}</td></tr>"
            for c in section.get("items", ())
        )
        window = format_duration(float(section.get("window_s", 0)))
        content = _table(("Cache", f"Hit rate ({window})", "Hits", "Misses"), rows, "")
    return _section("Caches", None, content, "caches")


def _plugin(section: Mapping[str, Any]) -> str:
    if not section.get("available"):
        return ""
    errors = "".join(f"<li>{e(name)}: {e(error)}</li>" for name, error in section.get("rules_in_error", {}).items())
    problems = "".join(f"<li>{e(p)}</li>" for p in section.get("configuration_problems", ()))
    failures = _failures(section.get("failures", {}))
    return (
        f"<footer>{e(section.get('rules', 0))} rules, channels {e(', '.join(section.get('channels', ())))}; "
        f"last evaluation {_seconds(section.get('seconds_since_evaluation'))} ago, took "
        f"{_seconds(section.get('evaluation_duration_s'))}"
        + (f'<ul class="problems">{errors}{problems}{failures}</ul>' if errors or problems or failures else "")
        + "</footer>"
    )


def _failures(steps: Mapping[str, Any]) -> str:
    """A line per step of the plugin's own work that has failed (``plugin.failures``)."""
    lines = []
    for step, f in steps.items():
        if not isinstance(f, Mapping):  # the section could not be read: {"available": false, ...}
            continue
        error = ": ".join(str(part) for part in (f.get("error_type"), f.get("message")) if part)
        state = "failing" if f.get("failing") else "works again"
        lines.append(
            f"<li>{e(step)}: {e(f.get('count', 0))} failure(s), {state}; last at "
            f"{e(f.get('last_failure') or '-')}: {e(error)}</li>"
        )
    return "".join(lines)


def _seconds(value: float | None) -> str:
    return "-" if value is None else e(format_duration(value))


def _rate(value: float | None) -> str:
    return "-" if value is None else e(f"{value:.1%}")
