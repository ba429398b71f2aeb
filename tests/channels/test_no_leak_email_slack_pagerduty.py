"""No secret leaks, for every channel of this suite (as Alertmanager's
``AssertNotifyLeaksNoSecret``): with the secret configured, drive each failure the
channel can meet, then look for the secret, or a telling part of it, in every log
record at DEBUG (httpx logs every request URL at INFO), in every
``DeliveryResult.error``, in the configuration's and the channel's ``repr`` and
``describe()``, and in the loader's errors for a bad value of the secret variable.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiosmtplib
import pytest
import trustme

from otel_alerting.channels.base import Channel, DeliveryResult
from otel_alerting.channels.email import EmailChannel, EmailConfig, load_email_config, smtp_failure
from otel_alerting.channels.pagerduty import PagerDutyChannel, PagerDutyConfig, load_pagerduty_config
from otel_alerting.channels.slack import SlackChannel, SlackConfig, load_mattermost_config, load_slack_config
from otel_alerting.secrets import Secret

from ..support.http import HttpReceiver as Receiver
from ..support.http import Reply
from ..support.ports import free_port
from .channel_builders import batch, firing, run
from .fake_smtp_service import SmtpServer, server_tls_context
from .services import mattermost_service, pagerduty_service, slack_service

PASSWORD = "Smtp-P4ssw0rd-leakcheck-31415"
SLACK_TOKEN = "sLackT0kenLeakCheck2718281828"
MATTERMOST_KEY = "mmHookKeyLeakCheck1414213562"
ROUTING_KEY = "PdR0utingKeyLeakCheck16180339887"
assert len(ROUTING_KEY) == 32


@dataclass
class Evidence:
    """Everything a secret must not appear in."""

    secrets: tuple[str, ...]
    texts: list[str] = field(default_factory=list)
    results: list[DeliveryResult] = field(default_factory=list)

    def channel(self, channel: Channel, config: object) -> None:
        self.texts += [repr(config), str(config), repr(channel), str(channel), channel.describe()]
        describe = getattr(config, "describe", None)
        if describe is not None:
            self.texts.append(describe())

    def send(self, channel: Channel) -> DeliveryResult:
        result = run(channel.send(batch(firing())))
        self.results.append(result)
        self.texts += [repr(result), result.error or ""]
        return result

    def loader(self, outcome: tuple[object, list[Any]]) -> None:
        config, errors = outcome
        self.texts += [repr(config), *(str(e) for e in errors), *(repr(e) for e in errors)]


def _email(tmp_path: Any) -> Evidence:
    ev = Evidence((PASSWORD,))
    ca = trustme.CA()
    ca_file = str(tmp_path / "ca.pem")
    ca.cert_pem.write_to_path(ca_file)
    context: ssl.SSLContext = server_tls_context(ca.issue_cert("127.0.0.1"))
    port = free_port()
    cfg = EmailConfig(
        "127.0.0.1",
        "alerts@example.com",
        ("oncall@example.com",),
        port,
        "alerts@example.com",
        Secret(PASSWORD),
        "starttls",
        True,
        ca_file,
        0.5,
    )
    channel = EmailChannel(cfg)
    ev.channel(channel, cfg)
    assert ev.send(channel).retryable  # server down
    with SmtpServer(port, starttls=context, users={"alerts@example.com": "another-password"}):
        assert not ev.send(channel).retryable  # the password is refused
    with SmtpServer(port, starttls=context, users={"alerts@example.com": PASSWORD}) as server:
        server.data_reply = f"554 5.7.1 rejected for {PASSWORD}"  # a server that echoes it
        assert not ev.send(channel).retryable
        server.data_reply = None
        assert ev.send(channel).ok
    # an exception whose text holds the password (a library quoting its input)
    for exc in (
        aiosmtplib.SMTPAuthenticationError(535, f"bad {PASSWORD}"),
        OSError(f"x {PASSWORD}"),
        ValueError(PASSWORD),
    ):
        ev.texts.append(smtp_failure(exc, "h:25", 1.0, [cfg.password]).error or "")
    ev.loader(
        load_email_config({"ALERT_SMTP_HOST": "h", "ALERT_TO_EMAILS": "a@example.com", "ALERT_SMTP_PASSWORD": PASSWORD})
    )
    ev.loader(
        load_email_config(
            {
                "ALERT_SMTP_HOST": "h",
                "ALERT_TO_EMAILS": "a@example.com",
                "ALERT_SMTP_USER": "a@example.com",
                "ALERT_SMTP_PASSWORD": PASSWORD,
            }
        )
    )
    return ev


def _webhook(service: Callable[[str], Receiver], kind: str, path: str, token: str) -> Evidence:
    ev = Evidence((token,))
    with service(path) as receiver:
        url = receiver.service_url
        cfg = SlackConfig(Secret(url), kind, None, None, 0.3)  # type: ignore[arg-type]
        channel = SlackChannel(cfg)
        ev.channel(channel, cfg)
        receiver.script(
            Reply(500, f"error at {path}"),  # a body that echoes the path and its token
            Reply(429, f"slow down {url}", {"Retry-After": "1"}),
            Reply(302, "", {"Location": url + "?again=1"}),
            Reply(200, "ok", delay=5),  # hangs: the channel's timeout fires
        )
        for _ in range(4):
            assert not ev.send(channel).ok
        assert ev.send(channel).ok
        with service("/elsewhere") as other:  # the hook is unknown there: 4xx
            wrong = SlackChannel(SlackConfig(Secret(f"http://127.0.0.1:{other.port}{path}"), kind, timeout=1.0))  # type: ignore[arg-type]
            assert not ev.send(wrong).retryable
        run(channel.close())
    refused = SlackChannel(SlackConfig(Secret(f"http://127.0.0.1:{free_port()}{path}"), kind, timeout=1.0))  # type: ignore[arg-type]
    assert ev.send(refused).retryable
    broken = SlackChannel(SlackConfig(Secret(f"http://127.0.0.1:99999{path}"), kind, timeout=1.0))  # type: ignore[arg-type]
    assert not ev.send(broken).ok  # httpx rejects the URL itself: its message quotes it
    loader = load_slack_config if kind == "slack" else load_mattermost_config
    variable = f"OTEL_PYTHON_ALERTING_{kind.upper()}_WEBHOOK_URL"
    ev.loader(loader({variable: f"htp:/broken{path}"}))
    ev.loader(loader({variable: f"http://127.0.0.1:99999{path}"}))
    return ev


def _slack(tmp_path: Any) -> Evidence:
    return _webhook(slack_service, "slack", f"/services/T0001/B0001/{SLACK_TOKEN}", SLACK_TOKEN)


def _mattermost(tmp_path: Any) -> Evidence:
    return _webhook(mattermost_service, "mattermost", f"/hooks/{MATTERMOST_KEY}", MATTERMOST_KEY)


def _pagerduty(tmp_path: Any) -> Evidence:
    ev = Evidence((ROUTING_KEY,))
    with pagerduty_service() as receiver:
        cfg = PagerDutyConfig(Secret(ROUTING_KEY), receiver.service_url, "svc", 0.3)
        channel = PagerDutyChannel(cfg)
        ev.channel(channel, cfg)
        echo = json.dumps({"status": "invalid event", "message": f"routing_key {ROUTING_KEY} unknown"})
        receiver.script(
            Reply(400, echo),
            Reply(500, echo),
            Reply(429, echo, {"Retry-After": "2"}),
            Reply(202, "{}", delay=5),
        )
        for _ in range(4):
            assert not ev.send(channel).ok
        assert ev.send(channel).ok
        run(channel.close())
    refused = PagerDutyChannel(
        PagerDutyConfig(Secret(ROUTING_KEY), f"http://127.0.0.1:{free_port()}/v2/enqueue", "s", 1.0)
    )
    assert ev.send(refused).retryable
    ev.loader(load_pagerduty_config({"OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY": ROUTING_KEY + "x"}))
    ev.loader(load_pagerduty_config({"OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY": ROUTING_KEY}))
    return ev


DRIVERS: dict[str, Callable[[Any], Evidence]] = {
    "email": _email,
    "slack": _slack,
    "mattermost": _mattermost,
    "pagerduty": _pagerduty,
}


def _record_texts(record: logging.LogRecord) -> list[str]:
    texts = [record.getMessage(), str(record.msg), repr(record.args), record.exc_text or ""]
    if record.exc_info and record.exc_info[1] is not None:
        texts.append(repr(record.exc_info[1]))
    return texts


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_no_secret_in_logs_results_reprs_or_errors(name: str, caplog: pytest.LogCaptureFixture, tmp_path: Any) -> None:
    caplog.set_level(logging.DEBUG)
    evidence = DRIVERS[name](tmp_path)

    assert len(evidence.results) >= 4, "the driver must exercise the failures"
    # aiosmtpd ("mail.log") is the test's server: it logs what it is sent and what it
    # answers, and this test makes it answer with the password.
    ours = [record for record in caplog.records if not record.name.startswith("mail.log")]
    logged = [text for record in ours for text in _record_texts(record)]
    assert any("HTTP Request" in t for t in logged) or name == "email", "httpx's request log was not captured"
    for secret in evidence.secrets:
        for text in [*evidence.texts, *logged]:
            assert secret not in text, f"{name}: the secret leaked into {text!r}"
            assert secret[:12] not in text, f"{name}: part of the secret leaked into {text!r}"
