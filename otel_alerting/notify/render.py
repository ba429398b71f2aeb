"""Text forms of a notification shared by channels."""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone

from ..durations import format_duration
from ..rules.model import Severity
from .model import Batch, Notification, Status

__all__ = [
    "ANNOTATION_LIMIT",
    "LABEL_LIMIT",
    "LOGFMT_LIMIT",
    "NAME_LIMIT",
    "SUMMARY_LIMIT",
    "batch_title",
    "bounded",
    "bounded_batch",
    "clip",
    "colour",
    "detail_rows",
    "fitted",
    "format_number",
    "format_timestamp",
    "iso_timestamp",
    "label_pairs",
    "logfmt",
    "one_line",
    "ordered",
    "summary_line",
    "truncate",
    "visible",
]

#: characters kept of one label value, of one annotation value, and of a label or
#: annotation name (or an alert name), in every channel; the rest is replaced by a marker
LABEL_LIMIT = 1024
ANNOTATION_LIMIT = 4096
NAME_LIMIT = 256
#: characters of a summary line (console, log body, OTel log body, PagerDuty before
#: its own 1024) and of a logfmt line (the log channel)
SUMMARY_LIMIT = 4096
LOGFMT_LIMIT = 16384


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in a marker that says how
    many were cut (``…[truncated 1047000 chars]``) when it had to be cut."""
    if len(text) <= limit:
        return text
    # The marker is sized for the longest count, so the result never exceeds the limit.
    keep = limit - len(f"…[truncated {len(text)} chars]")
    if keep < 0:  # no room for the marker
        return text[:limit]
    return f"{text[:keep]}…[truncated {len(text) - keep} chars]"


def _clipped(items: Mapping[str, str], limit: int) -> Mapping[str, str]:
    if all(len(k) <= NAME_LIMIT and len(v) <= limit for k, v in items.items()):
        return items
    return {clip(k, NAME_LIMIT): clip(v, limit) for k, v in items.items()}


def bounded(n: Notification) -> Notification:
    """``n`` with its names and values clipped (``LABEL_LIMIT``, ``ANNOTATION_LIMIT``,
    ``NAME_LIMIT``): what every channel renders, whatever size a metric attribute or a
    rendered template reached. The fingerprint is the one of the whole labels."""
    labels = _clipped(n.labels, LABEL_LIMIT)
    annotations = _clipped(n.annotations, ANNOTATION_LIMIT)
    alert = clip(n.alert, NAME_LIMIT)
    reason = clip(n.reason, ANNOTATION_LIMIT) if n.reason else n.reason
    expr = clip(n.expr, ANNOTATION_LIMIT)
    if labels is n.labels and annotations is n.annotations and (alert, reason, expr) == (n.alert, n.reason, n.expr):
        return n
    return dataclasses.replace(n, alert=alert, labels=labels, annotations=annotations, reason=reason, expr=expr)


def bounded_batch(batch: Batch) -> Batch:
    """``batch`` with each notification ``bounded`` and its group labels clipped."""
    notifications = tuple(bounded(n) for n in batch.notifications)
    group_labels = _clipped(batch.group_labels, LABEL_LIMIT)
    if group_labels is batch.group_labels and all(a is b for a, b in zip(notifications, batch.notifications)):
        return batch
    return dataclasses.replace(batch, notifications=notifications, group_labels=group_labels)


def fitted(render: Callable[[int], bytes], count: int, limit: int) -> tuple[bytes, int]:
    """The body ``render(shown)`` with the most alerts shown (``count`` at most, halved
    until it fits) whose size is within ``limit`` bytes, and ``shown``. One alert is
    always shown: its values are clipped, so its size is bounded anyway."""
    shown = count
    body = render(shown)
    while len(body) > limit and shown > 1:
        shown //= 2
        body = render(shown)
    return body, shown


# Control characters (C0, DEL, C1), the line and paragraph separators, and the
# bidirectional overrides: what can end a line, move the cursor, clear a terminal,
# set its title, or reorder what a reader sees.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x1b``,
    ``\\u2028``): one line that a terminal or a log viewer shows as it is, which no
    value can break, recolour or retitle."""
    return _CONTROLS.sub(_escape, text)


def format_number(value: float | None) -> str:
    if value is None:
        return "n/a"
    if not math.isfinite(value):
        return str(value)  # nan, inf, -inf (int() of them raises)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))  # 12345 stays 12345, not 1.234e+04
    return f"{value:.6g}"


def summary_line(n: Notification) -> str:
    """``[FIRING:HIGH] QueueBacklog queue=ingest value=612 threshold>=500: summary``,
    at most ``SUMMARY_LIMIT`` characters (control characters kept: see ``visible``)."""
    n = bounded(n)
    labels = " ".join(f"{k}={v}" for k, v in sorted(n.group_labels.items()))
    head = f"[{n.status.value}:{n.severity.name}] {n.alert}"
    if labels:
        head += f" {labels}"
    if n.status is Status.RESOLVED:
        tail = f" value={format_number(n.value)}"
        if n.last_firing_value is not None:
            tail += f" last_firing_value={format_number(n.last_firing_value)}"
        if n.fired_for is not None:
            tail += f" fired_for={format_duration(n.fired_for)}"
        if n.reason:
            tail += f" ({n.reason})"
    else:
        tail = f" value={format_number(n.value)} threshold={format_number(n.threshold)}"
        if n.previous_severity is not None:
            tail += f" ({n.change.value} from {n.previous_severity.name})"
    summary = n.annotations.get("summary")
    return clip(head + tail + (f": {summary}" if summary else ""), SUMMARY_LIMIT)


def _quote(text: str) -> str:
    if text and all(c.isalnum() or c in "._-:/@" for c in text):
        return text
    escaped = visible(text.replace("\\", "\\\\").replace('"', '\\"'))
    return f'"{escaped}"'


def logfmt(n: Notification) -> str:
    """One ``key=value`` line that log pipelines parse (logfmt): every control character
    escaped (``visible``), values clipped (``bounded``), at most ``LOGFMT_LIMIT``
    characters; pairs that do not fit are left out and counted in ``truncated_fields``."""
    n = bounded(n)
    pairs: list[tuple[str, str]] = [
        ("alert", n.alert),
        ("state", n.status.value),
        ("severity", n.severity.name),
        ("change", n.change.value),
        ("value", format_number(n.value)),
        ("threshold", format_number(n.threshold)),
    ]
    if n.previous_severity is not None:
        pairs.append(("previous_severity", n.previous_severity.name))
    if n.status is Status.RESOLVED and n.last_firing_value is not None:
        pairs.append(("last_firing_value", format_number(n.last_firing_value)))
    if n.fired_for is not None:
        pairs.append(("fired_for_s", f"{n.fired_for:.3f}"))
    if n.reason:
        pairs.append(("reason", n.reason))
    pairs.append(("fingerprint", n.fingerprint))
    pairs.extend((f"labels.{k}", v) for k, v in sorted(n.group_labels.items()))
    pairs.extend((f"annotations.{k}", v) for k, v in sorted(n.annotations.items()))
    rendered = [f"{_key(k)}={_quote(v)}" for k, v in pairs]
    size, kept = 0, 0
    for text in rendered:
        # room for the separator and a last ``truncated_fields=NNNN``
        if size + len(text) + 1 > LOGFMT_LIMIT - 32:
            break
        size += len(text) + 1
        kept += 1
    if kept == len(rendered):
        return " ".join(rendered)
    return " ".join([*rendered[:kept], f"truncated_fields={len(rendered) - kept}"])


def _key(text: str) -> str:
    # Keys cannot be quoted in logfmt: a label name with a space, '=' or a quote
    # (possible in a rule's labels) would break the line for every parser.
    return "".join(c if c.isalnum() or c in "._-:/@" else "_" for c in text)


# --- shared by the people-facing channels (email, Slack, Mattermost, PagerDuty) ------

# C0 and C1 controls and the Unicode line and paragraph separators: anything that
# could end a header line, a subject or a one-line summary.
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


_COLOURS = {
    Severity.LOW: "#439FE0",  # blue
    Severity.MEDIUM: "#F2C744",  # yellow
    Severity.HIGH: "#E8590C",  # orange
    Severity.CRITICAL: "#D00000",  # red
}
_RESOLVED_COLOUR = "#2EB67D"  # green


def colour(n: Notification) -> str:
    """``#RRGGBB`` of a notification: by severity while firing, green once resolved."""
    return _RESOLVED_COLOUR if n.status is Status.RESOLVED else _COLOURS[n.severity]


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``…`` when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` with every line break and control character replaced by a space."""
    flat = _BREAKS.sub(" ", text)
    return truncate(flat, limit) if limit is not None else flat


def format_timestamp(seconds: float) -> str:
    """``2025-06-15 15:06:40 UTC``"""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def iso_timestamp(seconds: float) -> str:
    """ISO 8601 with milliseconds and offset: ``2025-06-15T15:06:40.000+00:00``."""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")


def label_pairs(labels: Mapping[str, str], sep: str = ", ") -> str:
    """``queue=ingest, team=platform`` (sorted by name)."""
    return sep.join(f"{k}={v}" for k, v in sorted(labels.items()))


def ordered(batch: Batch) -> tuple[Notification, ...]:
    """Firing alerts first, the most severe first; then the resolved ones."""
    return tuple(
        sorted(
            batch.notifications,
            key=lambda n: (n.status is Status.RESOLVED, -n.severity, n.alert, sorted(n.labels.items())),
        )
    )


def batch_title(batch: Batch) -> str:
    """One line naming state, severity, alert and group: ``[FIRING:HIGH] QueueBacklog
    (queue=ingest)`` for one alert; ``[FIRING:2 RESOLVED:1] HIGH QueueBacklog
    (queue=ingest)`` for several (the severity is the highest among the firing ones,
    or among the resolved ones when none fires)."""
    notifications = batch.notifications
    if len(notifications) == 1:
        only = notifications[0]
        state = f"[{only.status.value}:{only.severity.name}]"
        labels = only.group_labels
    else:
        firing, resolved = batch.firing, batch.resolved
        counts = [f"FIRING:{len(firing)}"] if firing else []
        counts += [f"RESOLVED:{len(resolved)}"] if resolved else []
        state = f"[{' '.join(counts)}] {max(n.severity for n in (firing or resolved)).name}"
        labels = dict(batch.group_labels) or {k: v for k, v in batch.common_labels.items() if k != "alertname"}
    names = sorted({n.alert for n in notifications})
    alert = ", ".join(names[:3]) + (f" +{len(names) - 3} more" if len(names) > 3 else "")
    title = f"{state} {alert}"
    if labels:
        title += f" ({label_pairs(labels)})"
    return one_line(title)


def detail_rows(n: Notification) -> list[tuple[str, str]]:
    """The facts of one notification as (name, value) rows, at most eight."""
    severity = n.severity.name
    if n.previous_severity is not None:
        severity += f" ({n.change.value} from {n.previous_severity.name})"
    rows = [("State", n.status.value), ("Severity", severity)]
    if n.status is Status.RESOLVED:
        rows.append(("Value at resolve", format_number(n.value)))
        if n.last_firing_value is not None:
            rows.append(("Last firing value", format_number(n.last_firing_value)))
        if n.fired_for is not None:
            rows.append(("Fired for", format_duration(n.fired_for)))
        rows.append(("Resolved", format_timestamp(n.ends_at if n.ends_at is not None else n.at)))
        if n.reason:
            rows.append(("Reason", n.reason))
    else:
        rows.append(("Value", format_number(n.value)))
        rows.append(("Threshold", format_number(n.threshold)))
        rows.append(("Started", format_timestamp(n.starts_at)))
    if n.expr:
        rows.append(("Expression", n.expr))
    return rows
