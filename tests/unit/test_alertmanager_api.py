"""Alertmanager API v2 on the renderer: who may write, error answers, silences in
the system's store, and no secret in any answer."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from otel_alerting.config import load_settings
from otel_alerting.http.alertmanager_shapes import parse_time, timestamp
from otel_alerting.http.renderer import MAX_BODY, Renderer, Response
from otel_alerting.http.server import is_loopback
from otel_alerting.rules import load_rule_set
from otel_alerting.system import AlertingSystem

SECRETS = {
    "OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/s3cr3t-slack",
    "OTEL_PYTHON_ALERTING_WEBHOOK_URL": "http://127.0.0.1:9/hook?token=s3cr3t-hook",
}
JSON = {"content-type": "application/json"}


def make_system(token: str | None = None) -> AlertingSystem:
    env = dict(SECRETS)
    if token is not None:
        env["OTEL_PYTHON_ALERTING_HTTP_TOKEN"] = token
    return AlertingSystem(load_settings(env), load_rule_set([], env, include_defaults=True), environ=env)


@pytest.fixture
def system() -> Iterator[AlertingSystem]:
    made = make_system()
    yield made
    made.shutdown(1.0)


def silence_body(**extra: Any) -> bytes:
    now = time.time()
    body = {
        "matchers": [{"name": "alertname", "value": "X", "isRegex": False, "isEqual": True}],
        "startsAt": timestamp(now),
        "endsAt": timestamp(now + 3600),
        "createdBy": "me",
        "comment": "maintenance",
    }
    return json.dumps(body | extra).encode()


def loads(response: Response) -> Any:
    return json.loads(response.body)


def test_writes_need_allow_writes_without_a_token(system: AlertingSystem) -> None:
    refused = Renderer(lambda: system).handle("POST", "/api/v2/silences", JSON, silence_body())
    assert refused.status == 401 and "Bearer" in loads(refused)
    accepted = Renderer(lambda: system, allow_writes=True).handle("POST", "/api/v2/silences", JSON, silence_body())
    assert accepted.status == 200 and set(loads(accepted)) == {"silenceID"}


def test_with_a_token_writes_need_it_even_where_writes_are_allowed() -> None:
    system = make_system(token="t0ken")
    try:
        render = Renderer(lambda: system, allow_writes=True)
        wrong = render.handle("POST", "/api/v2/silences", JSON | {"authorization": "Bearer nope"}, silence_body())
        assert wrong.status == 401 and "t0ken" not in wrong.body.decode()
        right = render.handle("POST", "/api/v2/silences", JSON | {"authorization": "Bearer t0ken"}, silence_body())
        assert right.status == 200
        silence_id = loads(right)["silenceID"]
        assert render.handle("DELETE", f"/api/v2/silence/{silence_id}", {}).status == 401
        assert render.handle("DELETE", f"/api/v2/silence/{silence_id}", {"authorization": "Bearer t0ken"}).status == 200
        assert render.handle("GET", "/api/v2/silences", {}).status == 200  # reads need no token
    finally:
        system.shutdown(1.0)


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        (JSON, b"{not json", 400),
        (JSON, b"[]", 400),
        (JSON, silence_body(matchers=[]), 400),
        (JSON, silence_body(endsAt="yesterday"), 400),
        (JSON, silence_body(endsAt="2001-01-01T00:00:00Z"), 400),
        (JSON, silence_body(matchers=[{"name": "a", "value": "(", "isRegex": True}]), 400),
        (JSON, silence_body(id="no-such-silence"), 404),
        ({"content-type": "text/plain"}, silence_body(), 415),
        (JSON, b" " * (MAX_BODY + 1), 413),
    ],
)
def test_bad_silences_are_refused_with_json(
    system: AlertingSystem, headers: dict[str, str], body: bytes, status: int
) -> None:
    response = Renderer(lambda: system, allow_writes=True).handle("POST", "/api/v2/silences", headers, body)
    assert response.status == status
    assert dict(response.headers)["Content-Type"] == "application/json"
    json.loads(response.body)
    assert b"Traceback" not in response.body


def test_a_silence_is_in_the_systems_store_and_updates_in_place(system: AlertingSystem) -> None:
    render = Renderer(lambda: system, allow_writes=True)
    silence_id = loads(render.handle("POST", "/api/v2/silences", JSON, silence_body()))["silenceID"]
    assert system.silences.muting({"alertname": "X"}, time.time()) is not None
    updated = render.handle("POST", "/api/v2/silences", JSON, silence_body(id=silence_id, comment="longer"))
    assert loads(updated) == {"silenceID": silence_id}
    got = loads(render.handle("GET", f"/api/v2/silence/{silence_id}", {}))
    assert got["comment"] == "longer" and got["status"] == {"state": "active"}
    assert got["matchers"] == [{"name": "alertname", "value": "X", "isRegex": False, "isEqual": True}]
    assert [s["id"] for s in loads(render.handle("GET", "/api/v2/silences", {}, query="filter=alertname%3DX"))] == [
        silence_id
    ]
    assert loads(render.handle("GET", "/api/v2/silences", {}, query='filter=alertname%3D"Y"')) == []
    render.handle("DELETE", f"/api/v2/silence/{silence_id}", {})
    assert system.silences.muting({"alertname": "X"}, time.time()) is None
    renewed = loads(render.handle("POST", "/api/v2/silences", JSON, silence_body(id=silence_id)))["silenceID"]
    assert renewed != silence_id  # an expired silence is not revived: a new one is made


@pytest.mark.parametrize(
    ("method", "path", "query", "status"),
    [
        ("GET", "/api/v2/nope", "", 404),
        ("GET", "/api/v2/silence/unknown", "", 404),
        ("DELETE", "/api/v2/silence/unknown", "", 404),
        ("PUT", "/api/v2/silences", "", 405),
        ("POST", "/api/v2/alerts", "", 405),
        ("GET", "/api/v2/alerts", "active=maybe", 400),
        ("GET", "/api/v2/alerts", "filter=%3Dx", 400),
        ("GET", "/api/v2/alerts", "receiver=(", 400),
    ],
)
def test_errors_are_json_strings(system: AlertingSystem, method: str, path: str, query: str, status: int) -> None:
    response = Renderer(lambda: system, allow_writes=True).handle(method, path, {}, b"", query)
    assert response.status == status and isinstance(loads(response), str)


def test_no_system_is_503() -> None:
    response = Renderer(lambda: None).handle("GET", "/api/v2/alerts", {})
    assert response.status == 503


def test_reads_name_channels_and_hold_no_secret(system: AlertingSystem) -> None:
    render = Renderer(lambda: system)
    status = loads(render.handle("GET", "/api/v2/status", {}))
    assert status["cluster"]["status"] == "disabled" and "route:" in status["config"]["original"]
    receivers = loads(render.handle("GET", "/api/v2/receivers", {}))
    assert {"name": "webhook"} in receivers and {"name": "slack"} in receivers
    for path in ("/api/v2/status", "/api/v2/receivers", "/api/v2/alerts", "/api/v2/alerts/groups"):
        text = render.handle("GET", path, {}).body.decode()
        assert "s3cr3t" not in text and "hooks.slack.com" not in text, path


def test_times_round_trip_as_alertmanager_writes_them() -> None:
    assert timestamp(0.5) == "1970-01-01T00:00:00.500Z"
    assert parse_time("1970-01-01T00:00:01.123456789Z", "t") == pytest.approx(1.123456)
    assert parse_time("1970-01-01T01:00:00+01:00", "t") == 0.0
    with pytest.raises(ValueError, match="time zone"):
        parse_time("1970-01-01T00:00:00", "t")


@pytest.mark.parametrize(
    ("host", "loopback"), [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("::", False)]
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
