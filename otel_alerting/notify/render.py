"""Text forms of a notification shared by channels."""

from __future__ import annotations

from ..durations import format_duration
from .model import Notification, Status

__all__ = ["format_number", "logfmt", "summary_line"]


def format_number(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))  # 12345 stays 12345, not 1.234e+04
    return f"{value:.6g}"


def summary_line(n: Notification) -> str:
    """``[FIRING:HIGH] QueueBacklog queue=ingest value=612 threshold>=500: summary``"""
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
    return head + tail + (f": {summary}" if summary else "")


def _quote(text: str) -> str:
    if text and all(c.isalnum() or c in "._-:/@" for c in text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def logfmt(n: Notification) -> str:
    """One ``key=value`` line that log pipelines parse (logfmt)."""
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
    return " ".join(f"{_key(k)}={_quote(v)}" for k, v in pairs)


def _key(text: str) -> str:
    # Keys cannot be quoted in logfmt: a label name with a space, '=' or a quote
    # (possible in a rule's labels) would break the line for every parser.
    return "".join(c if c.isalnum() or c in "._-:/@" else "_" for c in text)
