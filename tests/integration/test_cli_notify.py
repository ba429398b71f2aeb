"""``otel-alerting test-notify`` against real peers: a webhook receiver and an SMTP server
(aiosmtpd with STARTTLS and AUTH), as the installed console script."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from ..channels.fake_smtp_service import SmtpServer, server_tls_context
from ..support.http import HttpReceiver, Reply
from ..support.ports import free_port
from .test_cli import run

TOKEN = "hook-t0ken-5ecret-91"
USER, PASSWORD = "alerts@example.com", "smtp-pa55word-secret-3"


def test_webhook_receives_a_test_alert_and_the_command_says_delivered() -> None:
    with HttpReceiver() as receiver:
        done = run("test-notify", "--channel", "webhook", OTEL_PYTHON_ALERTING_WEBHOOK_URL=f"{receiver.url}/hook")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("webhook") and done.stdout.rstrip().endswith(": delivered")
        (request,) = receiver.wait_for(1)
    body = request.json()
    (alert,) = body["alerts"]
    assert alert["status"] == "firing"
    assert alert["labels"]["alertname"] == "OtelAlertingTestNotification"
    assert alert["labels"]["test"] == "true"
    assert alert["labels"]["severity"] == "high"
    assert "Test notification to channel webhook" in alert["annotations"]["summary"]


def test_severity_is_the_one_asked_for() -> None:
    with HttpReceiver() as receiver:
        done = run(
            "test-notify",
            "--channel",
            "webhook",
            "--severity",
            "critical",
            OTEL_PYTHON_ALERTING_WEBHOOK_URL=f"{receiver.url}/hook",
        )
        assert done.returncode == 0, done.stderr
        (request,) = receiver.wait_for(1)
    assert request.json()["alerts"][0]["labels"]["severity"] == "critical"


def test_a_refused_delivery_exits_1_with_the_channel_error_and_no_secret() -> None:
    with HttpReceiver(Reply(status=403, body="denied")) as receiver:
        url = f"{receiver.url}/hook?token={TOKEN}"
        done = run("test-notify", "--channel", "webhook", OTEL_PYTHON_ALERTING_WEBHOOK_URL=url)
        receiver.wait_for(1)
    assert done.returncode == 1
    assert "failed" in done.stderr and "403" in done.stderr
    assert TOKEN not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_a_channel_that_is_not_configured_exits_2_naming_those_that_are() -> None:
    done = run("test-notify", "--channel", "slack")
    assert done.returncode == 2
    assert "no channel 'slack' is configured" in done.stderr
    assert "log, console" in done.stderr


def test_a_bad_severity_is_a_usage_error() -> None:
    done = run("test-notify", "--channel", "log", "--severity", "urgent")
    assert done.returncode == 2
    assert "invalid choice: 'urgent'" in done.stderr


def test_log_channel_delivers_in_the_process() -> None:
    done = run("test-notify", "--channel", "log", "--severity", "low")
    assert done.returncode == 0, done.stderr
    assert "log: delivered" in done.stdout


# --- email, against a real SMTP server --------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def smtp(ca: trustme.CA) -> Iterator[SmtpServer]:
    context = server_tls_context(ca.issue_cert("127.0.0.1"))
    with SmtpServer(free_port(), starttls=context, users={USER: PASSWORD}) as server:
        yield server


def email_env(server: SmtpServer, ca: trustme.CA, tmp_path: Path, password: str) -> dict[str, str]:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return {
        "OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST": "127.0.0.1",
        "OTEL_PYTHON_ALERTING_EMAIL_SMTP_PORT": str(server.port),
        "OTEL_PYTHON_ALERTING_EMAIL_USERNAME": USER,
        "OTEL_PYTHON_ALERTING_EMAIL_PASSWORD": password,
        "OTEL_PYTHON_ALERTING_EMAIL_FROM": USER,
        "OTEL_PYTHON_ALERTING_EMAIL_TO": "oncall@example.com",
        "OTEL_PYTHON_ALERTING_EMAIL_CA_FILE": str(ca_file),
    }


def test_email_sends_one_test_mail(smtp: SmtpServer, ca: trustme.CA, tmp_path: Path) -> None:
    done = run("test-notify", "--channel", "email", **email_env(smtp, ca, tmp_path, PASSWORD))
    assert done.returncode == 0, done.stderr
    assert "email via 127.0.0.1" in done.stdout and done.stdout.rstrip().endswith(": delivered")
    (mail,) = smtp.received
    assert mail.rcpt_tos == ["oncall@example.com"]
    assert "OtelAlertingTestNotification" in str(mail.message["Subject"])


def test_email_with_a_wrong_password_fails_without_showing_it(smtp: SmtpServer, ca: trustme.CA, tmp_path: Path) -> None:
    wrong = "wr0ng-pa55word-secret-8"
    done = run("test-notify", "--channel", "email", **email_env(smtp, ca, tmp_path, wrong))
    assert done.returncode == 1
    assert "failed" in done.stderr
    assert wrong not in done.stdout + done.stderr and PASSWORD not in done.stdout + done.stderr
    assert smtp.received == []
    assert json.dumps(done.stderr)  # one readable line, no trace
    assert "Traceback" not in done.stderr
