"""Secrets canary: every secret-bearing variable holds one canary value, the whole
plugin runs under opentelemetry-instrument with every delivery failing (receivers that
answer 500, an SMTP server that refuses the password, probes and a state store that
cannot be reached), logging at DEBUG, and the canary must appear in no output: standard
output and error, ``otel-alerting check`` and ``status``, ``/health``, the status page,
the Alertmanager API, the OTel log records, and the bodies the receivers got (the
secret belongs in a URL path or a header, never in a body; PagerDuty's routing key is
the one secret that belongs in its body)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme

from otel_alerting.testing import OtlpReceiver

from ..channels.fake_smtp_service import SmtpServer, server_tls_context
from ..support.http import HttpReceiver, Reply
from ..support.ports import free_port
from ..support.waiting import wait_until
from .instrumented import APPS, BIN, ROOT, instrumented_env

CANARY = "cAnArY7s3cr3tZq"
RULES = """
rules:
  - alert: CanaryLevel
    expr:
      value: {metric: app.level, reduce: max}
    above: {critical: 900}
    annotations:
      summary: "level {value:.0f}"
"""


def _alertmanager(base: str, auth: str) -> dict[str, str]:
    """The Alertmanager's credentials, one way at a time (the loader refuses two)."""
    if auth == "userinfo":
        return {"OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS": base.replace("http://", f"http://admin:{CANARY}@")}
    if auth == "bearer":
        return {
            "OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS": base,
            "OTEL_PYTHON_ALERTING_ALERTMANAGER_BEARER_TOKEN": CANARY,
        }
    return {
        "OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS": base,
        "OTEL_PYTHON_ALERTING_ALERTMANAGER_USERNAME": "admin",
        "OTEL_PYTHON_ALERTING_ALERTMANAGER_PASSWORD": CANARY,
    }


def _secret_env(
    http: HttpReceiver, smtp_port: int, ca_file: Path, refused: int, http_port: int, auth: str
) -> dict[str, str]:
    base = http.url
    return {
        **_alertmanager(base, auth),
        # email: AUTH with the canary password, refused by the server
        "OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST": "127.0.0.1",
        "OTEL_PYTHON_ALERTING_EMAIL_SMTP_PORT": str(smtp_port),
        "OTEL_PYTHON_ALERTING_EMAIL_TO": "oncall@example.com",
        "OTEL_PYTHON_ALERTING_EMAIL_USERNAME": "alerts@example.com",
        "OTEL_PYTHON_ALERTING_EMAIL_PASSWORD": CANARY,
        "OTEL_PYTHON_ALERTING_EMAIL_CA_FILE": str(ca_file),
        "OTEL_PYTHON_ALERTING_EMAIL_TIMEOUT": "2s",
        # the HTTP channels, every one answered 500
        "OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL": f"{base}/services/T0/B0/{CANARY}",
        "OTEL_PYTHON_ALERTING_MATTERMOST_WEBHOOK_URL": f"{base}/hooks/{CANARY}",
        "OTEL_PYTHON_ALERTING_WEBHOOK_URL": f"{base}/webhook/{CANARY}?token={CANARY}",
        "OTEL_PYTHON_ALERTING_WEBHOOK_HEADERS": f"Authorization=Bearer {CANARY},X-Api-Key={CANARY}",
        "OTEL_PYTHON_ALERTING_WEBHOOK_SIGNING_KEY": CANARY,
        "OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY": (CANARY * 3)[:32],
        "OTEL_PYTHON_ALERTING_PAGERDUTY_URL": f"{base}/v2/enqueue",
        "OTEL_PYTHON_ALERTING_HEARTBEAT_URL": f"{base}/ping/{CANARY}",
        "OTEL_PYTHON_ALERTING_HEARTBEAT_INTERVAL": "1s",
        # the HTTP surface, its write token, and probes that cannot reach their peer
        "OTEL_PYTHON_ALERTING_HTTP_PORT": str(http_port),
        "OTEL_PYTHON_ALERTING_HTTP_TOKEN": CANARY,
        "OTEL_PYTHON_ALERTING_REDIS_URL": f"redis://:{CANARY}@127.0.0.1:{refused}/0",
        "OTEL_PYTHON_ALERTING_EMBEDDINGS_URL": f"{base}/embed?key={CANARY}",
        "OTEL_PYTHON_ALERTING_EMBEDDINGS_HEADERS": f"Authorization=Bearer {CANARY}",
        "OTEL_PYTHON_ALERTING_CHROMA_URL": base.replace("http://", f"http://admin:{CANARY}@") + f"/?token={CANARY}",
        "OTEL_PYTHON_ALERTING_PROBE_INTERVAL": "1s",
        # the SDK's own exporter header: the plugin's reports must not show it either
        "OTEL_EXPORTER_OTLP_HEADERS": f"x-canary={CANARY}",
        # a state store named by a URL with a password, which cannot be opened
        "OTEL_PYTHON_ALERTING_STATE": f"redis://admin:{CANARY}@127.0.0.1:{refused}/0",
        # every record of the stdlib logging also as an OTel log record, to the receiver
        "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED": "true",
        "OTEL_PYTHON_ALERTING_DELIVERY_DEADLINE": "30s",
    }


@contextmanager
def _smtp_refusing_the_password(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    port = free_port()
    context = server_tls_context(ca.issue_cert("127.0.0.1"))
    with SmtpServer(port, starttls=context, users={"alerts@example.com": "another-password"}):
        yield port, ca_file


def _get(url: str, token: str | None = None) -> str:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return f"{response.status}\n{response.headers}\n{response.read().decode(errors='replace')}"
    except urllib.error.HTTPError as error:
        return f"{error.code}\n{error.headers}\n{error.read().decode(errors='replace')}"


def _post(url: str, body: bytes, token: str) -> str:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return f"{response.status}\n{response.read().decode(errors='replace')}"
    except urllib.error.HTTPError as error:
        return f"{error.code}\n{error.read().decode(errors='replace')}"


def _cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(BIN / "otel-alerting"), *args], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    return f"{done.returncode}\n{done.stdout}\n{done.stderr}"


def _find(texts: dict[str, str]) -> list[str]:
    """Where the canary, or a telling part of it, shows."""
    found = []
    for where, text in texts.items():
        for part in (CANARY, CANARY[:8], CANARY[-8:]):
            if part in text:
                at = text.index(part)
                found.append(f"{where}: ...{text[max(at - 150, 0) : at + 60]!r}...")
                break
    return found


@pytest.mark.parametrize("auth", ["userinfo", "bearer", "basic"])
def test_no_secret_reaches_any_output(receiver: OtlpReceiver, tmp_path: Path, auth: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    stop = tmp_path / "stop"
    http_port, refused = free_port(), free_port()
    with (
        HttpReceiver(Reply(500, "internal error")) as peer,
        _smtp_refusing_the_password(tmp_path) as (smtp_port, ca_file),
    ):
        env = instrumented_env(
            receiver,
            OTEL_PYTHON_ALERTING_RULES=str(rules),
            STOP_FILE=str(stop),
            **_secret_env(peer, smtp_port, ca_file, refused, http_port, auth),
        )
        command = [str(BIN / "opentelemetry-instrument"), sys.executable, str(APPS / "canary_app.py")]
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        outputs: dict[str, str] = {}
        try:
            paths = (
                "/services/",
                "/hooks/",
                "/webhook/",
                "/v2/enqueue",
                "/api/v2/alerts",
                "/ping/",
                "/embed",
                "/api/v2/heartbeat",
            )

            def reached() -> list[str]:
                seen = {r.path for r in peer.requests}
                return [p for p in paths if not any(p in s for s in seen)]

            wait_until(lambda: not reached(), "every HTTP peer to be tried", 60, seen=reached)
            # retries of the failing deliveries, and their log lines
            wait_until(lambda: len(peer.requests) >= 2 * len(paths), "retries", 60, seen=lambda: len(peer.requests))
            base = f"http://127.0.0.1:{http_port}"
            for path in ("/health", "/", "/api/v2/alerts", "/api/v2/status", "/api/v2/silences", "/nope"):
                outputs[f"GET {path}"] = _get(base + path)
            outputs["GET / with the token"] = _get(base + "/", CANARY)
            silence = json.dumps(
                {
                    "matchers": [{"name": "alertname", "value": "x", "isRegex": False}],
                    "startsAt": "2020-01-01T00:00:00Z",
                    "endsAt": "2030-01-01T00:00:00Z",
                    "createdBy": CANARY,
                    "comment": "wrong token",
                }
            ).encode()
            outputs["POST a silence with a wrong token"] = _post(base + "/api/v2/silences", silence, "wrong")
            outputs["POST a broken silence with the token"] = _post(base + "/api/v2/silences", b"{", CANARY)
            outputs["otel-alerting check"] = _cli(["check"], env)
            outputs["otel-alerting status"] = _cli(["status", "--url", base], env)
        finally:
            stop.write_text("")
            stdout, stderr = process.communicate(timeout=60)
        outputs["stdout"], outputs["stderr"] = stdout, stderr
        # PagerDuty's routing key belongs in its event's body: that is its point
        bodies = [r for r in peer.requests if r.body and not r.path.startswith("/v2/enqueue")]
    for index, request in enumerate(bodies):
        outputs[f"body of request #{index} to {request.path[:20]}"] = request.body.decode(errors="replace")
    records = receiver.log_records()
    outputs["OTel log records"] = "\n".join(f"{r.body}\n{r.attributes}" for r in records)

    assert process.returncode == 0, stderr[-3000:]
    # the failing paths did run, so that what they would leak was written
    assert "HTTP 500" in stderr and "authentication refused" in stderr.lower(), stderr[-3000:]
    assert any(r.event_name == "otel_alerting.alert" for r in records), "no alert reached the OTel logs"
    assert len(records) > 20, "the stdlib records did not reach the OTel logs"
    assert "CanaryLevel" in outputs["GET /health"]
    leaks = _find(outputs)
    assert not leaks, "the canary leaked:\n" + "\n".join(leaks)
