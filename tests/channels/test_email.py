"""The email channel against a real SMTP server (aiosmtpd) with STARTTLS or implicit TLS,
AUTH and a trustme certificate authority."""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import trustme

from otel_alerting.channels.email import EmailChannel, EmailConfig, build_message, load_email_config
from otel_alerting.rules.model import Severity
from otel_alerting.secrets import Secret

from ..support.ports import free_port
from .channel_builders import batch, firing, resolved, run
from .fake_smtp_service import SmtpServer, server_tls_context

USER = "alerts@example.com"
PASSWORD = "pw-S3cr3t-3mail-7f3c9a"
RECIPIENTS = ("oncall@example.com", "Team Lead <lead@example.com>")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    return server_tls_context(ca.issue_cert("127.0.0.1", "localhost"))


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def starttls_server(server_ctx: ssl.SSLContext) -> Iterator[SmtpServer]:
    with SmtpServer(free_port(), starttls=server_ctx, users={USER: PASSWORD}) as server:
        yield server


def config(port: int, ca_file: str | None, **changes: object) -> EmailConfig:
    base = EmailConfig(
        host="127.0.0.1",
        port=port,
        sender=f"Alerts <{USER}>",
        recipients=RECIPIENTS,
        username=USER,
        password=Secret(PASSWORD),
        tls="starttls",
        ca_file=ca_file,
        timeout=3.0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def parts(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


# --- delivery -------------------------------------------------------------------------


def test_starttls_and_auth_deliver_a_plain_and_an_html_part(starttls_server: SmtpServer, ca_file: str) -> None:
    channel = EmailChannel(config(starttls_server.port, ca_file))
    n = firing(annotations={"summary": "Queue <b>ingest</b> holds 612 & more"})

    result = run(channel.send(batch(n)))

    assert result.ok, result.error
    (mail,) = starttls_server.received
    assert mail.auth_login == USER
    assert mail.mail_from == USER
    assert mail.rcpt_tos == ["oncall@example.com", "lead@example.com"]
    message = mail.message
    assert message["Subject"] == "[FIRING:HIGH] QueueBacklog (queue=ingest)"
    assert message["From"].addresses[0].addr_spec == USER
    assert [a.addr_spec for a in message["To"].addresses] == ["oncall@example.com", "lead@example.com"]
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    plain, html = parts(message)
    assert "FIRING · HIGH · QueueBacklog" in plain
    assert "Queue <b>ingest</b> holds 612 & more" in plain
    assert (
        "Value: 612" in plain and "Threshold: 500" in plain and "Labels: alertname=QueueBacklog, queue=ingest" in plain
    )
    assert "Queue &lt;b&gt;ingest&lt;/b&gt; holds 612 &amp; more" in html
    assert "<b>ingest</b>" not in html
    assert "#E8590C" in html  # HIGH's colour


def test_implicit_tls_delivers(server_ctx: ssl.SSLContext, ca_file: str) -> None:
    with SmtpServer(free_port(), implicit_tls=server_ctx, users={USER: PASSWORD}) as server:
        result = run(EmailChannel(config(server.port, ca_file, tls="tls")).send(batch(resolved())))
    assert result.ok, result.error
    (mail,) = server.received
    assert mail.auth_login == USER
    assert mail.message["Subject"] == "[RESOLVED:HIGH] QueueBacklog (queue=ingest)"
    plain, _ = parts(mail.message)
    assert "Value at resolve: 42" in plain and "Fired for: 1m35s" in plain


def test_a_label_holding_a_header_adds_no_header(starttls_server: SmtpServer, ca_file: str) -> None:
    labels = {"alertname": "QueueBacklog", "queue": "ingest\r\nBcc: x@evil.example\r\nX-Injected: 1"}
    n = firing(labels=labels, annotations={"summary": "s\r\nBcc: y@evil.example"})

    result = run(
        EmailChannel(config(starttls_server.port, ca_file)).send(batch(n, group_labels={"queue": labels["queue"]}))
    )

    assert result.ok, result.error
    (mail,) = starttls_server.received
    message = mail.message
    assert message.get_all("Bcc") is None and message.get_all("X-Injected") is None
    assert mail.rcpt_tos == ["oncall@example.com", "lead@example.com"]
    subject = message["Subject"]
    assert "\r" not in subject and "\n" not in subject
    # Over 78 characters, the header is folded (RFC 5322); the parser keeps the folding space.
    assert subject.strip() == "[FIRING:HIGH] QueueBacklog (queue=ingest Bcc: x@evil.example X-Injected: 1)"
    head = mail.raw.split(b"\r\n\r\n", 1)[0]
    assert not any(line.lower().startswith((b"bcc:", b"x-injected:")) for line in head.split(b"\r\n"))


# --- errors ---------------------------------------------------------------------------


def test_a_wrong_password_is_not_retryable_and_not_shown(starttls_server: SmtpServer, ca_file: str) -> None:
    wrong = "wr0ng-pa55word-e1d2c3"
    result = run(EmailChannel(config(starttls_server.port, ca_file, password=Secret(wrong))).send(batch(firing())))
    assert not result.ok and not result.retryable
    assert result.error is not None
    assert "authentication refused" in result.error and "535" in result.error
    assert wrong not in result.error and PASSWORD not in result.error
    assert starttls_server.received == []


def test_server_down_is_retryable_then_delivers_once_back(server_ctx: ssl.SSLContext, ca_file: str) -> None:
    port = free_port()
    channel = EmailChannel(config(port, ca_file))
    down = run(channel.send(batch(firing())))
    assert not down.ok and down.retryable
    assert down.error is not None and "cannot reach 127.0.0.1:" in down.error

    with SmtpServer(port, starttls=server_ctx, users={USER: PASSWORD}) as server:
        back = run(channel.send(batch(firing())))
    assert back.ok, back.error
    assert len(server.received) == 1


def test_an_untrusted_certificate_is_not_retryable(starttls_server: SmtpServer, ca_file: str) -> None:
    result = run(EmailChannel(config(starttls_server.port, None)).send(batch(firing())))
    assert not result.ok and not result.retryable
    assert result.error is not None and "not trusted" in result.error
    assert starttls_server.received == []

    unverified = run(EmailChannel(config(starttls_server.port, None, verify=False)).send(batch(firing())))
    assert unverified.ok, unverified.error


def test_starttls_required_but_not_offered_is_not_retryable(ca_file: str) -> None:
    with SmtpServer(free_port()) as server:
        channel = EmailChannel(config(server.port, ca_file, username=None, password=None))
        result = run(channel.send(batch(firing())))
    assert not result.ok and not result.retryable
    assert result.error is not None and "STARTTLS" in result.error
    assert server.received == []


# --- the message ----------------------------------------------------------------------


def test_subjects_state_severity_alert_and_state() -> None:
    cfg = config(25, None)
    one = build_message(batch(firing(Severity.CRITICAL)), cfg)
    assert one["Subject"] == "[FIRING:CRITICAL] QueueBacklog (queue=ingest)"
    two = batch(
        firing(Severity.MEDIUM, labels={"alertname": "QueueBacklog", "queue": "ingest", "shard": "1"}),
        firing(Severity.HIGH, labels={"alertname": "QueueBacklog", "queue": "ingest", "shard": "2"}),
        resolved(Severity.CRITICAL, labels={"alertname": "QueueBacklog", "queue": "ingest", "shard": "3"}),
        group_labels={"queue": "ingest"},
    )
    assert build_message(two, cfg)["Subject"] == "[FIRING:2 RESOLVED:1] HIGH QueueBacklog (queue=ingest)"
    plain, html = parts(build_message(two, cfg))
    # firing first, most severe first; then resolved
    assert plain.index("shard=2") < plain.index("shard=1") < plain.index("shard=3")
    assert html.count("border-left:6px solid") == 3 and "#2EB67D" in html


def test_a_repeat_says_so() -> None:
    plain, html = parts(build_message(batch(firing(), repeat=True), config(25, None)))
    assert "Still firing: this is a reminder." in plain and "Still firing" in html


# --- configuration --------------------------------------------------------------------


def test_not_configured_without_host_or_recipients() -> None:
    assert load_email_config({}) == (None, [])
    assert load_email_config({"OTEL_PYTHON_ALERTING_EMAIL_TLS": "tls"}) == (None, [])


def test_the_otel_names() -> None:
    cfg, errors = load_email_config(
        {
            "OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST": "smtp.example.com",
            "OTEL_PYTHON_ALERTING_EMAIL_USERNAME": USER,
            "OTEL_PYTHON_ALERTING_EMAIL_PASSWORD": PASSWORD,
            "OTEL_PYTHON_ALERTING_EMAIL_TO": 'oncall@example.com, "Lead, Team" <lead@example.com>',
            "OTEL_PYTHON_ALERTING_EMAIL_TIMEOUT": "2500ms",
        }
    )
    assert errors == []
    assert cfg is not None
    assert (cfg.host, cfg.port, cfg.tls, cfg.verify, cfg.timeout) == ("smtp.example.com", 587, "starttls", True, 2.5)
    assert cfg.sender == USER  # the user name, an address
    assert cfg.recipients == ("oncall@example.com", '"Lead, Team" <lead@example.com>')
    assert cfg.password == Secret(PASSWORD)
    assert PASSWORD not in repr(cfg) and PASSWORD not in cfg.describe()


def test_the_seed_systems_aliases() -> None:
    cfg, errors = load_email_config(
        {
            "ALERT_EMAIL_ENABLED": "true",
            "ALERT_SMTP_HOST": "mail.example.com",
            "ALERT_SMTP_PORT": "2525",
            "ALERT_SMTP_USER": "svc",
            "ALERT_SMTP_PASSWORD": PASSWORD,
            "ALERT_FROM_EMAIL": "alerts@example.com",
            "ALERT_TO_EMAILS": "a@example.com,b@example.com",
        }
    )
    assert errors == []
    assert cfg is not None
    assert (cfg.host, cfg.port, cfg.username, cfg.sender) == ("mail.example.com", 2525, "svc", "alerts@example.com")
    assert cfg.recipients == ("a@example.com", "b@example.com")


@pytest.mark.parametrize(("tls", "port"), [("starttls", 587), ("tls", 465), ("none", 25), ("TLS", 465)])
def test_default_port_follows_tls(tls: str, port: int) -> None:
    cfg, errors = load_email_config(
        {
            "ALERT_SMTP_HOST": "h",
            "ALERT_TO_EMAILS": "a@example.com",
            "ALERT_FROM_EMAIL": "f@example.com",
            "OTEL_PYTHON_ALERTING_EMAIL_TLS": tls,
        }
    )
    assert errors == [] and cfg is not None and cfg.port == port


def errors_of(environ: dict[str, str]) -> dict[str, str]:
    cfg, errors = load_email_config(environ)
    assert cfg is None, "an incomplete or invalid configuration must not start the channel"
    return {e.variable: e.message for e in errors}


def test_enabled_without_a_host_is_an_error() -> None:
    errors = errors_of({"ALERT_EMAIL_ENABLED": "true"})
    assert set(errors) == {
        "OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST",
        "OTEL_PYTHON_ALERTING_EMAIL_TO",
        "OTEL_PYTHON_ALERTING_EMAIL_FROM",
    }
    assert "ALERT_EMAIL_ENABLED" in errors["OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST"]


def test_a_host_without_recipients_is_an_error() -> None:
    errors = errors_of({"ALERT_SMTP_HOST": "smtp.example.com", "ALERT_FROM_EMAIL": "f@example.com"})
    assert list(errors) == ["OTEL_PYTHON_ALERTING_EMAIL_TO"]
    assert "required" in errors["OTEL_PYTHON_ALERTING_EMAIL_TO"]


def test_disabled_wins_over_everything() -> None:
    assert load_email_config({"ALERT_EMAIL_ENABLED": "false", "ALERT_SMTP_HOST": "h"}) == (None, [])


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ALERT_SMTP_PORT", "smtp", "port number"),
        ("ALERT_SMTP_PORT", "70000", "port number"),
        ("OTEL_PYTHON_ALERTING_EMAIL_TLS", "ssl", "starttls or tls or none"),
        ("OTEL_PYTHON_ALERTING_EMAIL_VERIFY", "perhaps", "true or false"),
        ("OTEL_PYTHON_ALERTING_EMAIL_TIMEOUT", "0", "positive duration"),
        ("ALERT_TO_EMAILS", "oncall", "email addresses"),
        ("ALERT_FROM_EMAIL", "alerts@example.com\r\nBcc: x@evil.example", "an email address"),
        ("OTEL_PYTHON_ALERTING_EMAIL_CA_FILE", "/nonexistent/ca.pem", "cannot load"),
    ],
)
def test_bad_values_name_the_variable_and_the_value(variable: str, value: str, expected: str) -> None:
    environ = {"ALERT_SMTP_HOST": "h", "ALERT_TO_EMAILS": "a@example.com", "ALERT_FROM_EMAIL": "f@example.com"}
    errors = errors_of({**environ, variable: value})
    assert list(errors) == [variable]
    assert expected in errors[variable]
    if "cannot load" not in expected:
        assert repr(value) in errors[variable]


def test_a_password_without_a_user_names_both_and_shows_neither_value() -> None:
    errors = errors_of(
        {
            "ALERT_SMTP_HOST": "h",
            "ALERT_TO_EMAILS": "a@example.com",
            "ALERT_FROM_EMAIL": "f@example.com",
            "ALERT_SMTP_PASSWORD": PASSWORD,
        }
    )
    assert errors == {"OTEL_PYTHON_ALERTING_EMAIL_USERNAME": "required: ALERT_SMTP_PASSWORD is set"}
    assert all(PASSWORD not in m for m in errors.values())


def test_ca_file_is_loaded(ca_file: str) -> None:
    cfg, errors = load_email_config(
        {
            "ALERT_SMTP_HOST": "h",
            "ALERT_TO_EMAILS": "a@example.com",
            "ALERT_FROM_EMAIL": "f@example.com",
            "OTEL_PYTHON_ALERTING_EMAIL_CA_FILE": ca_file,
            "OTEL_PYTHON_ALERTING_EMAIL_VERIFY": "false",
        }
    )
    assert errors == [] and cfg is not None
    assert (cfg.ca_file, cfg.verify) == (ca_file, False)
    assert Path(ca_file).is_file()


def test_a_ca_file_gone_since_loading_fails_the_send_not_the_constructor(tmp_path: Path) -> None:
    channel = EmailChannel(config(25, str(tmp_path / "gone.pem")))
    result = run(channel.send(batch(firing())))
    assert not result.ok and not result.retryable and "cannot load" in (result.error or "")


def test_a_password_without_tls_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    EmailChannel(config(25, None, tls="none"))
    assert "sent unencrypted" in caplog.text and PASSWORD not in caplog.text


def test_implicit_tls_against_a_plain_port_is_not_retryable(starttls_server: SmtpServer, ca_file: str) -> None:
    result = run(EmailChannel(config(starttls_server.port, ca_file, tls="tls")).send(batch(firing())))
    assert not result.ok and not result.retryable
    assert result.error is not None and "TLS with 127.0.0.1" in result.error and "EMAIL_TLS" in result.error
