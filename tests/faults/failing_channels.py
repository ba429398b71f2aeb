"""Every channel failing at once while a service serves traffic and alerts flap: the
scenario that ``test_failing_channels.py`` runs shortened and
``benchmarks/bench_failing_channels.py`` runs for minutes.

The service (``apps/service_app.py`` under opentelemetry-instrument) flaps ``keys``
CRITICAL alerts (every configured channel, no grouping delay) while its workers serve
requests. Its channels are all real peers: a webhook receiver, Slack, PagerDuty and
Alertmanager (HTTP receivers answering as those services document) and an SMTP
server. ``fail()`` makes every peer refuse with a transient error (HTTP 503, SMTP 451);
``recover()`` makes them accept again.

``run_scenario`` goes: healthy, failing, recovered, then the alerts stop and the queues
drain. It returns the request latencies per phase (from the service's report), the
service's RSS sampled from outside, the plugin's delivery counters from ``/health``
and what each peer accepted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from otel_alerting.testing import OtlpReceiver

from ..channels.fake_smtp_service import SmtpServer
from ..channels.services import PAGERDUTY_PATH, SLACK_PATH, pagerduty_service, slack_service
from ..support.http import HttpReceiver, Received, Reply
from ..support.ports import free_port
from ..support.waiting import wait_until
from .service import Service

__all__ = ["REMOTE", "Peers", "Result", "peers", "run_scenario"]

RULES = """
rules:
  - alert: Flapping
    expr:
      value: {metric: app.flap, reduce: max}
      by: [key]
    above: {critical: 500}
    annotations:
      summary: "key {labels[key]} at {value:.0f}"
"""

#: the channels that talk to a peer (console and log write to the process's own streams)
REMOTE = ("webhook", "slack", "pagerduty", "alertmanager", "email")


def _refuse(request: Received) -> Reply:
    return Reply(503, '{"error": "unavailable"}', {"Content-Type": "application/json"})


@dataclass
class Peers:
    webhook: HttpReceiver
    slack: HttpReceiver
    pagerduty: HttpReceiver
    alertmanager: HttpReceiver
    smtp: SmtpServer

    @property
    def http(self) -> list[HttpReceiver]:
        return [self.webhook, self.slack, self.pagerduty, self.alertmanager]

    def env(self) -> dict[str, str]:
        return {
            "OTEL_PYTHON_ALERTING_WEBHOOK_URL": f"{self.webhook.url}/hook",
            "OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL": self.slack.url + SLACK_PATH,
            "OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY": "R0UTINGKEY0123456789abcdef012345",
            "OTEL_PYTHON_ALERTING_PAGERDUTY_URL": self.pagerduty.url + PAGERDUTY_PATH,
            "OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS": self.alertmanager.url,
            "OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST": "127.0.0.1",
            "OTEL_PYTHON_ALERTING_EMAIL_SMTP_PORT": str(self.smtp.port),
            "OTEL_PYTHON_ALERTING_EMAIL_TLS": "none",
            "OTEL_PYTHON_ALERTING_EMAIL_FROM": "alerts@example.test",
            "OTEL_PYTHON_ALERTING_EMAIL_TO": "oncall@example.test",
        }

    def fail(self) -> None:
        for peer in self.http:
            peer.respond = _refuse
        self.smtp.data_reply = "451 4.3.0 try again later"

    def recover(self) -> None:
        for peer in self.http:
            peer.respond = None
        self.smtp.data_reply = None


@contextmanager
def peers() -> Iterator[Peers]:
    with ExitStack() as stack:
        yield Peers(
            webhook=stack.enter_context(HttpReceiver()),
            slack=stack.enter_context(slack_service()),
            pagerduty=stack.enter_context(pagerduty_service()),
            alertmanager=stack.enter_context(HttpReceiver()),
            smtp=stack.enter_context(SmtpServer(free_port())),
        )


@dataclass
class Result:
    #: the service's report: latencies per phase, exceptions
    report: dict[str, Any]
    #: (seconds since the failing phase began, RSS in bytes) of the service
    rss: list[tuple[float, int]]
    #: the plugin's counters per channel when the peers recovered, and at the end
    counts_at_recovery: dict[str, dict[str, int]]
    counts: dict[str, dict[str, int]]
    #: wall-clock time of the recovery
    recovered_at: float
    #: webhook alerts accepted after the recovery that fired before it
    backlog_delivered: int
    failing_s: float
    stderr: str = field(repr=False, default="")


def _counts(service: Service) -> dict[str, dict[str, int]]:
    report = service.health()
    if report is None:
        return {}
    counts: dict[str, dict[str, int]] = report["alerts"]["notifications"]
    return counts


def _started(alert: dict[str, Any]) -> float:
    return datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00")).timestamp()


def run_scenario(
    tmp_path: Path,
    receiver: OtlpReceiver,
    *,
    healthy_s: float,
    failing_s: float,
    deadline_s: float | None,
    queue_size: int | None,
    keys: int = 10,
    drain_timeout: float = 60.0,
) -> Result:
    """``deadline_s`` and ``queue_size`` of None keep the plugin's defaults."""
    flap = tmp_path / "flap"
    flap.write_text("off")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    with peers() as peer:
        service = Service(
            tmp_path,
            receiver,
            peer.webhook,
            {
                **peer.env(),
                "OTEL_PYTHON_ALERTING_RULES": str(rules),
                "OTEL_PYTHON_ALERTING_DEFAULT_RULES": "false",
                "OTEL_PYTHON_ALERTING_COOLDOWN": "0s",
                "FLAP_KEYS": str(keys),
                "FLAP_FILE": str(flap),
                **({} if deadline_s is None else {"OTEL_PYTHON_ALERTING_DELIVERY_DEADLINE": f"{deadline_s:g}s"}),
                **({} if queue_size is None else {"OTEL_PYTHON_ALERTING_QUEUE_SIZE": str(queue_size)}),
            },
            webhook_for_all=False,  # CRITICAL's default route: every configured channel
        )
        service.start()
        try:
            wait_until(lambda: service.health() is not None, "the service's /health", 30)
            assert service.process is not None
            process = psutil.Process(service.process.pid)
            flap.write_text("on")
            service.phase("healthy")
            time.sleep(healthy_s)  # the phase's length: traffic measured with healthy channels

            service.phase("failing")
            peer.fail()
            began = time.monotonic()
            rss: list[tuple[float, int]] = []
            while time.monotonic() - began < failing_s:
                rss.append((time.monotonic() - began, process.memory_info().rss))
                time.sleep(0.25)  # the sampling period of the RSS
            rss.append((time.monotonic() - began, process.memory_info().rss))

            counts_at_recovery = _counts(service)
            recovered_at, recovered_mono = time.time(), time.monotonic()
            peer.recover()
            service.phase("recovered")
            time.sleep(healthy_s)  # the phase's length: traffic measured after the recovery
            flap.write_text("off")
            service.phase("draining")

            def settled() -> bool:
                before = _counts(service)
                time.sleep(1.0)  # a second without a new outcome: the queues are empty
                return bool(before) and before == _counts(service)

            wait_until(settled, "the delivery counters to settle", drain_timeout, seen=lambda: _counts(service))
            counts = _counts(service)
            report = service.stop()
        finally:
            service.kill()

    backlog = sum(
        1
        for request in peer.webhook.requests
        if request.at > recovered_mono
        for alert in request.json().get("alerts", [])
        if alert["status"] == "firing" and _started(alert) < recovered_at
    )
    return Result(report, rss, counts_at_recovery, counts, recovered_at, backlog, failing_s, service.stderr)
