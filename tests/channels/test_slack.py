"""Slack and Mattermost webhooks against a local receiver that checks the payload as
each service documents it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_alerting.channels._http_delivery import retry_after_seconds as retry_after
from otel_alerting.channels.slack import (
    Service,
    SlackChannel,
    SlackConfig,
    load_mattermost_config,
    load_slack_config,
    mattermost_payload,
    slack_payload,
)
from otel_alerting.rules.model import Severity
from otel_alerting.secrets import Secret

from ..support.http import HttpReceiver as Receiver
from ..support.http import Reply
from .channel_builders import batch, firing, resolved, run
from .service_payload_rules import mattermost_problems, slack_problems
from .services import mattermost_service, slack_service

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW


@pytest.fixture
def slack() -> Iterator[Receiver]:
    with slack_service() as receiver:
        yield receiver


@pytest.fixture
def mattermost() -> Iterator[Receiver]:
    with mattermost_service() as receiver:
        yield receiver


@pytest.fixture(params=["slack", "mattermost"])
def service(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    with slack_service() if request.param == "slack" else mattermost_service() as receiver:
        receiver.name = request.param  # type: ignore[attr-defined]
        yield receiver


def channel_for(receiver: Receiver, timeout: float = 2.0, url: str | None = None) -> SlackChannel:
    kind: Service = getattr(receiver, "name", "slack")
    return SlackChannel(SlackConfig(Secret(url or receiver.service_url), kind, "#alerts", "otel-alerting", timeout))


def group() -> tuple:  # type: ignore[type-arg]
    return (
        firing(
            C,
            labels={"alertname": "QueueBacklog", "queue": "ingest", "shard": "1"},
            annotations={"summary": "Backlog <!channel> & <https://evil.example|click>"},
        ),
        firing(M, labels={"alertname": "QueueBacklog", "queue": "ingest", "shard": "2"}),
        resolved(H, labels={"alertname": "QueueBacklog", "queue": "ingest", "shard": "3"}),
    )


# --- payloads -------------------------------------------------------------------------


def test_slack_gets_block_kit_coloured_by_severity(slack: Receiver) -> None:
    result = run(channel_for(slack).send(batch(*group(), group_labels={"queue": "ingest"}, repeat=True)))

    assert result.ok, result.error
    assert slack.problems == []
    (body,) = slack.bodies
    title = "[FIRING:2 RESOLVED:1] CRITICAL QueueBacklog (queue=ingest)"
    assert body["text"] == title
    assert (body["channel"], body["username"]) == ("#alerts", "otel-alerting")
    assert body["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": title}}
    assert body["blocks"][1]["elements"][0]["text"] == "Still firing: this is a reminder. · Group: queue=ingest"
    assert [a["color"] for a in body["attachments"]] == ["#D00000", "#F2C744", "#2EB67D"]
    first = body["attachments"][0]["blocks"][0]
    assert first["text"]["text"].startswith("*FIRING · CRITICAL · QueueBacklog*\nBacklog &lt;!channel&gt; &amp; ")
    assert {"type": "mrkdwn", "text": "*Value*\n612"} in first["fields"]
    assert {"type": "mrkdwn", "text": "*Threshold*\n500"} in first["fields"]
    resolved_fields = body["attachments"][2]["blocks"][0]["fields"]
    assert {"type": "mrkdwn", "text": "*Fired for*\n1m35s"} in resolved_fields
    assert "<!channel>" not in json.dumps(body)


def test_slack_counts_what_does_not_fit(slack: Receiver) -> None:
    many = [firing(L, alert="Disk", labels={"alertname": "Disk", "disk": f"d{i:02}"}) for i in range(25)]
    result = run(channel_for(slack).send(batch(*many)))
    assert result.ok, result.error
    assert slack.problems == []
    (body,) = slack.bodies
    assert len(body["attachments"]) == 20
    assert body["attachments"][-1]["fallback"] == "…and 6 more alerts (6 firing, 0 resolved)"
    assert body["text"] == "[FIRING:25] LOW Disk"


def test_mattermost_gets_text_and_attachments_without_blocks(mattermost: Receiver) -> None:
    n = firing(H, annotations={"summary": "ping @channel and @here <!all>"})
    channel = SlackChannel(SlackConfig(Secret(mattermost.service_url), "mattermost", "town-square", None, 2.0))
    assert channel.name == "mattermost"

    result = run(channel.send(batch(n, resolved(H, labels={"alertname": "QueueBacklog", "queue": "other"}))))

    assert result.ok, result.error
    assert mattermost.problems == []
    (body,) = mattermost.bodies
    assert "blocks" not in body and "username" not in body
    assert body["channel"] == "town-square"
    assert body["text"].startswith("#### \\[FIRING:1 RESOLVED:1\\] HIGH QueueBacklog")
    first, second = body["attachments"]
    assert (first["color"], second["color"]) == ("#E8590C", "#2EB67D")
    assert first["title"] == "FIRING · HIGH · QueueBacklog"
    assert first["fallback"].startswith("[FIRING:HIGH] QueueBacklog queue=ingest value=612 threshold=500")
    assert {"title": "Value", "value": "612", "short": True} in first["fields"]
    # no mention can fire: each '@' is followed by a zero-width space, '<' is escaped
    assert "@channel" not in json.dumps(body, ensure_ascii=False) and "<!all>" not in first["text"]
    assert "@\u200bchannel" in first["text"]


def test_the_payloads_stay_valid_for_odd_labels() -> None:
    odd = firing(
        C,
        alert="A" * 300,
        labels={"alertname": "A" * 300, "x": "\r\n`*_[link](http://e)` | <b> &", "": ""},
        annotations={"summary": "s" * 5000, "description": "line1\nline2"},
    )
    assert slack_problems(slack_payload(batch(odd))) == []
    assert mattermost_problems(mattermost_payload(batch(odd))) == []
    assert len(slack_payload(batch(odd))["blocks"][0]["text"]["text"]) == 150


# --- delivery outcomes (retries, timeouts, 4xx and refusals: test_contract.py) --------


def test_an_unknown_hook_is_not_retried(slack: Receiver) -> None:
    result = run(channel_for(slack, url=f"http://127.0.0.1:{slack.port}/services/T/B/revoked").send(batch(firing())))
    assert not result.ok and not result.retryable and "no_service" in (result.error or "")


def test_a_redirect_is_not_followed(slack: Receiver) -> None:
    slack.script(Reply(302, "", {"Location": "http://127.0.0.1:1/elsewhere"}))
    result = run(channel_for(slack).send(batch(firing())))
    assert not result.ok and not result.retryable and "HTTP 302" in (result.error or "")
    assert len(slack.requests) == 1


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("120") == 120.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412460.0) == 20.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412500.0) == 0.0
    assert retry_after("soon") is None and retry_after(None) is None


def test_the_channels_own_requests_make_no_spans(slack: Receiver) -> None:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = HTTPXClientInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        result = run(channel_for(slack).send(batch(firing())))
    finally:
        instrumentor.uninstrument()
    assert result.ok, result.error
    assert exporter.get_finished_spans() == ()


# --- configuration --------------------------------------------------------------------

URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"


def test_slack_is_configured_by_its_url() -> None:
    assert load_slack_config({}) == (None, [])
    cfg, errors = load_slack_config(
        {
            "OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL": URL,
            "OTEL_PYTHON_ALERTING_SLACK_CHANNEL": "#alerts",
            "OTEL_PYTHON_ALERTING_SLACK_USERNAME": "bot",
            "OTEL_PYTHON_ALERTING_SLACK_TIMEOUT": "3s",
        }
    )
    assert errors == [] and cfg is not None
    assert (cfg.webhook_url.reveal(), cfg.service, cfg.channel, cfg.username, cfg.timeout) == (
        URL,
        "slack",
        "#alerts",
        "bot",
        3.0,
    )
    assert (
        "XXXX" not in repr(cfg) and cfg.describe() == "slack webhook https://hooks.slack.com/[secure], channel #alerts"
    )


def test_slack_reads_the_seed_systems_aliases() -> None:
    cfg, errors = load_slack_config(
        {"ALERT_SLACK_ENABLED": "true", "ALERT_SLACK_WEBHOOK_URL": URL, "ALERT_SLACK_CHANNEL": "#ops"}
    )
    assert errors == [] and cfg is not None and (cfg.webhook_url.reveal(), cfg.channel) == (URL, "#ops")
    assert load_slack_config({"ALERT_SLACK_ENABLED": "false", "ALERT_SLACK_WEBHOOK_URL": URL}) == (None, [])


def test_slack_enabled_without_a_url_is_an_error() -> None:
    cfg, errors = load_slack_config({"ALERT_SLACK_ENABLED": "true", "ALERT_SLACK_CHANNEL": "#ops"})
    assert cfg is None
    assert [(e.variable, e.message) for e in errors] == [
        (
            "OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL",
            "required: the incoming webhook URL (slack is enabled by ALERT_SLACK_ENABLED)",
        )
    ]


@pytest.mark.parametrize(
    "bad", ["hooks.slack.com/services/T/B/SECRETTOKEN", "ftp://h/SECRETTOKEN", "https:///SECRETTOKEN"]
)
def test_a_bad_url_is_named_but_not_shown(bad: str) -> None:
    cfg, errors = load_slack_config({"ALERT_SLACK_WEBHOOK_URL": bad})
    assert cfg is None
    assert [e.variable for e in errors] == ["ALERT_SLACK_WEBHOOK_URL"]
    assert "SECRETTOKEN" not in str(errors[0]) and "not shown" in errors[0].message


def test_bad_timeout_stops_the_channel() -> None:
    cfg, errors = load_slack_config({"ALERT_SLACK_WEBHOOK_URL": URL, "OTEL_PYTHON_ALERTING_SLACK_TIMEOUT": "soon"})
    assert cfg is None and [e.variable for e in errors] == ["OTEL_PYTHON_ALERTING_SLACK_TIMEOUT"]


def test_mattermost_is_its_own_channel() -> None:
    assert load_mattermost_config({"ALERT_SLACK_WEBHOOK_URL": URL}) == (None, [])
    url = "https://chat.example.com/hooks/xxx-generatedkey-xxx"
    cfg, errors = load_mattermost_config(
        {
            "OTEL_PYTHON_ALERTING_MATTERMOST_WEBHOOK_URL": url,
            "OTEL_PYTHON_ALERTING_MATTERMOST_CHANNEL": "town-square",
        }
    )
    assert errors == [] and cfg is not None
    assert (cfg.service, cfg.channel, cfg.timeout) == ("mattermost", "town-square", 5.0)
    assert SlackChannel(cfg).name == "mattermost"


@pytest.mark.parametrize(
    ("summary", "text"),
    [
        ("*bold* _it_ [link](http://e.example) <b>", "\\*bold\\* \\_it\\_ \\[link\\](http://e.example) \\<b\\>"),
        ("# heading", "\\# heading"),
        ("- item", "\\- item"),
        ("1. first", "1\\. first"),
        ("ping @here", "ping @\u200bhere"),
        ("2025-06-15 at 10.5%", "2025-06-15 at 10.5%"),
    ],
)
def test_mattermost_text_from_labels_carries_no_markup(summary: str, text: str) -> None:
    (attachment,) = mattermost_payload(batch(firing(annotations={"summary": summary})))["attachments"]
    assert attachment["text"] == text
