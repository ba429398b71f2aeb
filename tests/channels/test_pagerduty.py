"""PagerDuty Events API v2 against a local receiver that checks each event as
PagerDuty documents it."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest

from otel_alerting.channels.pagerduty import (
    DEFAULT_URL,
    PagerDutyChannel,
    PagerDutyConfig,
    event,
    load_pagerduty_config,
)
from otel_alerting.notify.render import summary_line
from otel_alerting.rules.model import Severity
from otel_alerting.secrets import Secret

from ..support.http import HttpReceiver as Receiver
from ..support.http import Reply
from .channel_builders import batch, firing, resolved, run
from .service_payload_rules import pagerduty_problems
from .services import pagerduty_service

KEY = "R0utingKey0123456789abcdefABCDEF"  # 32 characters, as PagerDuty requires
assert len(KEY) == 32


@pytest.fixture
def pd() -> Iterator[Receiver]:
    with pagerduty_service() as receiver:
        yield receiver


def channel_for(receiver: Receiver, timeout: float = 2.0, key: str = KEY) -> PagerDutyChannel:
    return PagerDutyChannel(PagerDutyConfig(Secret(key), receiver.service_url, "checkout-api", timeout))


def dependency_alert(**kwargs: object) -> dict[str, object]:
    labels = {
        "alertname": "DependencyDown",
        "category": "dependency",
        "otel_alerting.dependency.name": "redis",
        "server.address": "cache-1",
    }
    return {"alert": "DependencyDown", "labels": labels, "fingerprint": "a6a9868aa5d4a03a", **kwargs}


def test_firing_triggers_and_resolved_resolves_by_fingerprint(pd: Receiver) -> None:
    up = firing(Severity.HIGH, annotations={"summary": "redis at cache-1 has been down for 312s"}, **dependency_alert())
    down = resolved(Severity.HIGH, **dependency_alert())

    result = run(channel_for(pd).send(batch(up, down)))

    assert result.ok, result.error
    assert pd.problems == []
    trigger, resolve = pd.bodies
    assert trigger == {
        "routing_key": KEY,
        "dedup_key": "a6a9868aa5d4a03a",
        "event_action": "trigger",
        "client": "otel-alerting",
        "payload": {
            "summary": summary_line(up),
            "source": "checkout-api",
            "severity": "error",
            "timestamp": "2025-06-15T15:06:40.000+00:00",
            "class": "DependencyDown",
            "component": "redis",
            "group": "dependency",
            "custom_details": {
                "labels": up.labels,
                "annotations": {"summary": "redis at cache-1 has been down for 312s"},
                "severity": "HIGH",
                "change": "fired",
                "value": 612.0,
                "threshold": 500.0,
                "started_at": "2025-06-15T15:06:40.000+00:00",
                "fingerprint": "a6a9868aa5d4a03a",
            },
        },
    }
    assert resolve == {"routing_key": KEY, "dedup_key": "a6a9868aa5d4a03a", "event_action": "resolve"}


@pytest.mark.parametrize(
    ("severity", "expected"),
    [(Severity.CRITICAL, "critical"), (Severity.HIGH, "error"), (Severity.MEDIUM, "warning"), (Severity.LOW, "info")],
)
def test_severities_map_to_pagerdutys(pd: Receiver, severity: Severity, expected: str) -> None:
    assert run(channel_for(pd).send(batch(firing(severity)))).ok
    assert pd.problems == [] and pd.bodies[0]["payload"]["severity"] == expected


def test_summary_is_cut_to_1024_and_numbers_stay_json(pd: Receiver) -> None:
    n = firing(annotations={"summary": "x" * 5000}, value=math.nan, threshold=math.inf)
    assert run(channel_for(pd).send(batch(n))).ok
    assert pd.problems == []
    payload = pd.bodies[0]["payload"]
    assert len(payload["summary"]) == 1024 and payload["summary"].endswith("…")
    assert (payload["custom_details"]["value"], payload["custom_details"]["threshold"]) == ("nan", "inf")


def test_400_is_not_retried(pd: Receiver) -> None:
    result = run(channel_for(pd, key="short-key").send(batch(firing())))
    assert not result.ok and not result.retryable
    assert result.error is not None and "HTTP 400" in result.error and "invalid event" in result.error


def test_one_rejected_event_does_not_stop_the_others(pd: Receiver) -> None:
    pd.script(Reply(400, json.dumps({"status": "invalid event", "message": "Event object is invalid"})))
    other = firing(labels={"alertname": "QueueBacklog", "queue": "other"}, fingerprint="0123456789abcdef")
    result = run(channel_for(pd).send(batch(firing(), other)))
    assert not result.ok and not result.retryable
    assert result.error is not None and result.error.endswith("(1 of 2 events rejected)")
    assert len(pd.requests) == 2


def test_500_then_202_and_a_retry_skips_accepted_events(pd: Receiver) -> None:
    first = firing(fingerprint="1111111111111111")
    second = resolved(labels={"alertname": "QueueBacklog", "queue": "other"}, fingerprint="2222222222222222")
    pd.script(Reply(202, json.dumps({"status": "success", "message": "Event processed"})), Reply(500, "oops"))
    channel = channel_for(pd)

    attempt = run(channel.send(batch(first, second)))
    assert not attempt.ok and attempt.retryable
    assert attempt.error is not None and attempt.error.endswith("(1 of 2 events accepted before)")

    retry = run(channel.send(batch(first, second)))
    assert retry.ok, retry.error
    assert [b["dedup_key"] for b in pd.bodies] == ["1111111111111111", "2222222222222222", "2222222222222222"]
    assert pd.problems == []


def test_the_event_shape_without_optional_labels() -> None:
    body = event(firing(), PagerDutyConfig(Secret(KEY), source="svc"))
    assert pagerduty_problems(body) == []
    assert "component" not in body["payload"] and "group" not in body["payload"]


# --- configuration --------------------------------------------------------------------


def test_configured_by_the_routing_key() -> None:
    assert load_pagerduty_config({}) == (None, [])
    cfg, errors = load_pagerduty_config(
        {"OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY": KEY, "OTEL_SERVICE_NAME": "checkout"}
    )
    assert errors == [] and cfg is not None
    assert (cfg.url, cfg.source, cfg.timeout) == (DEFAULT_URL, "checkout", 5.0)
    assert KEY not in repr(cfg) and KEY not in cfg.describe()
    assert cfg.describe() == "pagerduty https://events.pagerduty.com/v2/enqueue (source checkout)"


def test_all_variables() -> None:
    cfg, errors = load_pagerduty_config(
        {
            "OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY": KEY,
            "OTEL_PYTHON_ALERTING_PAGERDUTY_URL": "http://127.0.0.1:9/v2/enqueue",
            "OTEL_PYTHON_ALERTING_PAGERDUTY_SOURCE": "db-1",
            "OTEL_PYTHON_ALERTING_PAGERDUTY_TIMEOUT": "1.5",
        }
    )
    assert errors == [] and cfg is not None
    assert (cfg.url, cfg.source, cfg.timeout) == ("http://127.0.0.1:9/v2/enqueue", "db-1", 1.5)


def test_a_url_without_a_key_is_an_error() -> None:
    cfg, errors = load_pagerduty_config({"OTEL_PYTHON_ALERTING_PAGERDUTY_URL": "http://127.0.0.1:9/v2/enqueue"})
    assert cfg is None and [e.variable for e in errors] == ["OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY"]


def test_a_key_of_the_wrong_length_is_named_not_shown() -> None:
    bad = "k3y-that-is-too-short-9"
    cfg, errors = load_pagerduty_config({"OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY": bad})
    assert cfg is None and [e.variable for e in errors] == ["OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY"]
    assert bad not in str(errors[0]) and "32-character" in errors[0].message


def test_a_bad_url_or_timeout_stops_the_channel() -> None:
    cfg, errors = load_pagerduty_config(
        {
            "OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY": KEY,
            "OTEL_PYTHON_ALERTING_PAGERDUTY_URL": "events.pagerduty.com",
            "OTEL_PYTHON_ALERTING_PAGERDUTY_TIMEOUT": "-1",
        }
    )
    assert cfg is None
    assert [e.variable for e in errors] == [
        "OTEL_PYTHON_ALERTING_PAGERDUTY_URL",
        "OTEL_PYTHON_ALERTING_PAGERDUTY_TIMEOUT",
    ]
    assert "'events.pagerduty.com'" in errors[0].message
