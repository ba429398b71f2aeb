"""Fault injection on the dependencies of a service under opentelemetry-instrument, with
the plugin's built-in ``DependencyDown`` rule (thresholds scaled down to seconds):

- a real redis-server SIGKILLed while the service serves traffic through it, then
  restarted on the same port;
- a real ChromaDB server (``chroma run``) stopped, then started again;
- the embeddings service (an HTTP server the test controls) answering 500, then
  hanging past the probe timeout.

A webhook receiver must get each alert at every configured level (MEDIUM, HIGH,
CRITICAL) and its RESOLVED after recovery; no exception of the plugin may reach the
service's request handler; and the service's requests, measured during the hang, stay
far below the probe timeout: a probe never blocks the application's threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_alerting.testing import OtlpReceiver

from ..instrumentation.servers import ChromaServer, RedisServer
from ..support.http import HttpReceiver, Received, Reply
from ..support.waiting import holds_for, wait_until
from .service import Service, webhook_alerts

PROBE_TIMEOUT_S = 1.0
LEVELS = ["medium", "high", "critical"]
DEPENDENCIES = ["redis", "chroma", "embeddings"]


class Embeddings(HttpReceiver):
    """An embeddings service whose ``mode`` the test sets: ``ok``, ``error`` (500) or
    ``hang`` (answers after 3 probe timeouts; cut short when the server stops)."""

    def __init__(self) -> None:
        super().__init__(respond=self._answer_for_mode)
        self.mode = "ok"

    def __enter__(self) -> Embeddings:
        self.start()
        return self

    def _answer_for_mode(self, request: Received) -> Reply:
        if self.mode == "error":
            return Reply(500, '{"error": "internal"}', {"Content-Type": "application/json"})
        if self.mode == "hang":
            return Reply(200, '{"status": "ok"}', {"Content-Type": "application/json"}, delay=3 * PROBE_TIMEOUT_S)
        return Reply(200, '{"status": "ok"}', {"Content-Type": "application/json"})


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


def _levels(hook: HttpReceiver, dependency: str, status: str) -> list[str]:
    return [
        a.severity
        for a in webhook_alerts(hook)
        if a.alertname == "DependencyDown" and a.status == status and a.label("dependency_name") == dependency
    ]


def _all_up(service: Service) -> bool:
    report = service.health()
    if report is None or not report["dependencies"].get("available"):
        return False
    items = report["dependencies"]["items"]
    return {i["name"] for i in items} == set(DEPENDENCIES) and all(i["up"] for i in items)


def test_outages_alert_at_every_level_resolve_and_never_reach_the_application(
    receiver: OtlpReceiver, tmp_path: Path
) -> None:
    with (
        RedisServer(tmp_path / "redis") as redis,
        ChromaServer(tmp_path / "chroma") as chroma,
        Embeddings() as embeddings,
        HttpReceiver() as hook,
    ):
        service = Service(
            tmp_path,
            receiver,
            hook,
            {
                "REDIS_URL": redis.url,
                "OTEL_PYTHON_ALERTING_CHROMA_URL": chroma.url,
                "OTEL_PYTHON_ALERTING_EMBEDDINGS_URL": f"{embeddings.url}/health",
                "OTEL_PYTHON_ALERTING_PROBE_INTERVAL": "200ms",
                "OTEL_PYTHON_ALERTING_PROBE_TIMEOUT": f"{PROBE_TIMEOUT_S:g}s",
                "OTEL_PYTHON_ALERTING_RULE_DEPENDENCYDOWN_ABOVE": "medium:1,high:2,critical:3",
                # the second outage of the embeddings service comes within the default 60 s
                "OTEL_PYTHON_ALERTING_COOLDOWN": "1s",
            },
        ).start()
        try:
            wait_until(lambda: _all_up(service), "the three dependencies up in /health", 30, seen=service.health)
            service.phase("healthy")
            # the baseline: a second of traffic with every dependency up
            holds_for(lambda: _all_up(service), "every dependency up", 1.0, seen=service.health)

            # 1. Redis SIGKILLed, ChromaDB stopped, the embeddings service answering 500
            service.phase("outage")
            redis.kill()
            chroma.stop()
            embeddings.mode = "error"
            for dependency in DEPENDENCIES:
                wait_until(
                    lambda d=dependency: "critical" in _levels(hook, d, "firing"),  # type: ignore[misc]
                    f"DependencyDown for {dependency} at CRITICAL on the webhook",
                    20,
                    seen=lambda: webhook_alerts(hook),
                )

            # 2. everything back: Redis restarted on its port, ChromaDB started again
            service.phase("recovery")
            redis.start()
            embeddings.mode = "ok"
            chroma.start()
            for dependency in DEPENDENCIES:
                wait_until(
                    lambda d=dependency: _levels(hook, d, "resolved"),  # type: ignore[misc]
                    f"DependencyDown for {dependency} RESOLVED on the webhook",
                    20,
                    seen=lambda: webhook_alerts(hook),
                )

            # 3. the embeddings service hangs past the probe timeout
            service.phase("hang")
            embeddings.mode = "hang"
            wait_until(
                lambda: _levels(hook, "embeddings", "firing").count("critical") == 2,
                "DependencyDown for the hung embeddings service at CRITICAL",
                20,
                seen=lambda: webhook_alerts(hook),
            )
            service.phase("after")
            embeddings.mode = "ok"
            wait_until(
                lambda: len(_levels(hook, "embeddings", "resolved")) == 2,
                "DependencyDown for embeddings RESOLVED after the hang",
                20,
                seen=lambda: webhook_alerts(hook),
            )
            report = service.stop()
        finally:
            service.kill()

    for dependency in DEPENDENCIES:
        fired = _levels(hook, dependency, "firing")
        assert fired[:3] == LEVELS, f"{dependency}: levels notified {fired}, expected {LEVELS} in order"
    assert _levels(hook, "embeddings", "firing") == LEVELS * 2

    assert report["plugin_exceptions"] == [], "exceptions of the plugin reached the application"
    assert report["thread_deaths"] == [], report["thread_deaths"]
    # the outage did reach the application through its own client: the test broke Redis for real
    assert report["dependency_errors"].get("redis.exceptions.ConnectionError", 0) > 0, report
    phases = report["phases"]
    for name in ("healthy", "outage", "recovery", "hang", "after"):
        assert phases.get(name, {}).get("requests", 0) > 20, f"the app served too little during {name}: {phases}"
    # the probe waited 1 s on each hung check, on its own thread: the requests did not
    hang = phases["hang"]
    assert hang["p99"] < PROBE_TIMEOUT_S / 4, f"request latency during the hang: {hang}"
    print("phases:", phases)
