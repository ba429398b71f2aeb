"""Alerts in Alertmanager's shape, shared by the webhook and Alertmanager channels.

Label and annotation names become valid Prometheus label names (Alertmanager
rejects an alert whose names are not): each character outside ``[a-zA-Z0-9_]``
becomes ``_`` and a leading digit gets ``key_`` in front, as the OTel-to-Prometheus
translation does (``server.address`` -> ``server_address``). Two names that meet
keep both values, joined with ``;`` in the order of their original names. The
``severity`` label is always the alert's current level, in lower case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ..notify.model import Notification, Status, fingerprint

__all__ = [
    "ZERO_TIME",
    "alert_annotations",
    "alert_labels",
    "group_key",
    "label_name",
    "rfc3339",
    "sanitized",
    "webhook_alert",
]

#: Go's zero ``time.Time``: what Alertmanager sends as ``endsAt`` of a firing alert
ZERO_TIME = "0001-01-01T00:00:00Z"

_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def rfc3339(seconds: float) -> str:
    """Unix seconds as Go's ``RFC3339Nano`` in UTC (trailing zeros of the fraction dropped)."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def label_name(name: str) -> str:
    clean = _INVALID.sub("_", name)
    return f"key_{clean}" if not clean or clean[0].isdigit() else clean


def sanitized(items: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in sorted(items):
        value = items[name]
        if value == "":
            continue  # Alertmanager drops empty labels; an empty value means "no label"
        clean = label_name(name)
        out[clean] = f"{out[clean]};{value}" if clean in out else value
    return out


def alert_labels(n: Notification) -> dict[str, str]:
    """The identifying labels, ``alertname`` and ``severity`` included, sorted by name."""
    labels = sanitized({k: v for k, v in n.labels.items() if label_name(k) != "severity"})
    labels["alertname"] = labels.get("alertname") or n.alert
    labels["severity"] = n.severity.name.lower()
    return dict(sorted(labels.items()))


def alert_annotations(n: Notification) -> dict[str, str]:
    return sanitized(n.annotations)


def group_key(group_labels: Mapping[str, str], key: str = "") -> str:
    """``key`` when the router gave one, else Alertmanager's form ``{}:{a="b", c="d"}``."""
    if key:
        return key
    pairs = ", ".join(f"{name}={json.dumps(value, ensure_ascii=False)}" for name, value in sorted(group_labels.items()))
    return "{}:{" + pairs + "}"


def webhook_alert(n: Notification) -> dict[str, Any]:
    """One entry of ``alerts[]`` as Alertmanager's webhook (version 4) sends it."""
    resolved = n.status is Status.RESOLVED
    return {
        "status": "resolved" if resolved else "firing",
        "labels": alert_labels(n),
        "annotations": alert_annotations(n),
        "startsAt": rfc3339(n.starts_at),
        "endsAt": rfc3339(n.ends_at if n.ends_at is not None else n.at) if resolved else ZERO_TIME,
        "generatorURL": "",
        "fingerprint": n.fingerprint or fingerprint(n.labels),
    }
