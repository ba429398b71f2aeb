"""Alertmanager's webhook format (version 4), field by field: what the webhook channel
sends and what the real Alertmanager sends to its own webhook receivers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

__all__ = ["ZERO_TIME", "check_webhook_document", "parse_rfc3339"]

# --- Alertmanager's webhook format -------------------------------------------------------
# https://prometheus.io/docs/alerting/latest/configuration/#webhook_config (version 4);
# test_alertmanager.py checks the real binary's own requests against it too.

WEBHOOK_FIELDS = {
    "version",
    "groupKey",
    "truncatedAlerts",
    "status",
    "receiver",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "alerts",
}
ALERT_FIELDS = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
ZERO_TIME = "0001-01-01T00:00:00Z"
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def parse_rfc3339(text: str) -> float:
    """Unix seconds of an RFC 3339 time as Go writes it (up to nanoseconds, Z or offset)."""
    match = _RFC3339.match(text)
    assert match, f"not RFC 3339: {text!r}"
    whole, fraction, zone = match.groups()
    moment = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    return moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def _string_map(value: Any, what: str, label_names: bool = False) -> dict[str, str]:
    assert isinstance(value, dict), f"{what} is not an object"
    for key, item in value.items():
        assert isinstance(key, str) and isinstance(item, str), f"{what}: {key!r}={item!r} is not string to string"
        if label_names:
            assert _LABEL_NAME.match(key), f"{what}: {key!r} is not a valid label name"
    return value


def check_webhook_document(doc: Any) -> None:
    """Assert ``doc`` is an Alertmanager webhook notification, field by field."""
    assert isinstance(doc, dict)
    assert set(doc) == WEBHOOK_FIELDS, f"fields {sorted(doc)}"
    assert doc["version"] == "4"
    assert isinstance(doc["groupKey"], str) and doc["groupKey"]
    assert isinstance(doc["truncatedAlerts"], int) and doc["truncatedAlerts"] >= 0
    assert doc["status"] in ("firing", "resolved")
    assert isinstance(doc["receiver"], str) and doc["receiver"]
    _string_map(doc["groupLabels"], "groupLabels", label_names=True)
    common_labels = _string_map(doc["commonLabels"], "commonLabels", label_names=True)
    common_annotations = _string_map(doc["commonAnnotations"], "commonAnnotations")
    assert isinstance(doc["externalURL"], str)
    alerts = doc["alerts"]
    assert isinstance(alerts, list) and alerts
    for alert in alerts:
        assert isinstance(alert, dict) and set(alert) == ALERT_FIELDS, f"alert fields {sorted(alert)}"
        assert alert["status"] in ("firing", "resolved")
        labels = _string_map(alert["labels"], "labels", label_names=True)
        annotations = _string_map(alert["annotations"], "annotations")
        assert labels.get("alertname"), "an alert without alertname"
        assert common_labels.items() <= labels.items()
        assert common_annotations.items() <= annotations.items()
        starts = parse_rfc3339(alert["startsAt"])
        if alert["status"] == "firing":
            assert alert["endsAt"] == ZERO_TIME
        else:
            assert parse_rfc3339(alert["endsAt"]) >= starts
        assert isinstance(alert["generatorURL"], str)
        assert isinstance(alert["fingerprint"], str) and alert["fingerprint"]
    firing = any(alert["status"] == "firing" for alert in alerts)
    assert doc["status"] == ("firing" if firing else "resolved")
