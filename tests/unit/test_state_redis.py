"""The Redis state store against a real redis-server: what is saved is loaded, under
its key prefix; an unreachable, password-protected or foreign Redis is one clear error
without the password, and memory instead; a Redis that dies later fails writes, never
the evaluation."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from otel_alerting.config import Settings
from otel_alerting.notify.channel import Channel, DeliveryResult
from otel_alerting.notify.model import Batch, Notification
from otel_alerting.rules import RuleSet
from otel_alerting.rules.model import Selector, ValueExpr
from otel_alerting.state import Changes, MemoryStore, RedisStore, SavedState, StateError, open_store
from otel_alerting.system import AlertingSystem

from ..instrumentation.servers import RedisServer, redis_server_fixture
from ..support.ports import free_port
from .helpers import data, gauge_metric, number, rule

__all__ = ["redis_server_fixture"]

ALERT = {"alert": "A", "group": {"proc": "p"}, "lifecycle": {"since": [[3, 10.0]]}, "notified": 3}
SILENCE = {"matchers": ['alertname="A"'], "starts_at": 0.0, "ends_at": 100.0}
PASSWORD = "s3cret-redis-pw"


@pytest.fixture
def redis(redis_server: RedisServer) -> RedisServer:
    redis_server.flush()
    return redis_server


def test_what_is_saved_is_loaded(redis: RedisServer) -> None:
    store = RedisStore(redis.url)
    store.save(
        Changes(
            alerts={"fp1": ALERT, "fp2": {**ALERT, "notified": None}},
            silences={"s1": SILENCE},
            nflog={("fp1", "webhook"): {"status": "FIRING", "severity": 3, "at": 5.0}},
        )
    )
    store.save(Changes(removed_alerts=frozenset({"fp2"}), removed_silences=frozenset({"s1"})))
    store.close()
    again = RedisStore(redis.url)  # another process, or a restart
    assert again.load() == SavedState(
        {"fp1": ALERT}, {}, {("fp1", "webhook"): {"status": "FIRING", "severity": 3, "at": 5.0}}
    )
    keys = sorted(redis.command("KEYS", "*").decode().split())
    assert all(k.startswith("otel-alerting:") for k in keys if not k.startswith(("*", "$"))), keys
    again.close()


def test_an_unreachable_redis_is_one_error_without_the_password_and_memory() -> None:
    port = free_port()
    store, problem = open_store(f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    assert isinstance(store, MemoryStore)
    assert problem is not None
    assert f"redis://127.0.0.1:{port}/0" in problem
    assert "memory" in problem
    assert PASSWORD not in problem


def test_a_wrong_password_is_one_error_without_it(tmp_path: Path) -> None:
    with RedisServer(tmp_path / "redis", password="the-right-one") as server:
        store, problem = open_store(f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0")
    assert isinstance(store, MemoryStore)
    assert problem is not None and PASSWORD not in problem and "the-right-one" not in problem


def test_another_programs_keys_are_left_alone(redis: RedisServer) -> None:
    redis.command("HSET", "otel-alerting:meta", "schema", "something-else")
    with pytest.raises(StateError, match="another program"):
        RedisStore(redis.url)
    assert redis.command("HGET", "otel-alerting:meta", "schema").endswith(b"something-else\r\n")


class Recording(Channel):
    name = "rec"

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    async def send(self, batch: Batch) -> DeliveryResult:
        self.sent.extend(batch.notifications)
        return DeliveryResult.delivered()


def test_a_redis_that_dies_fails_writes_not_the_evaluation(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    level = rule("Level", ValueExpr(Selector("m"), by=("proc",)), above={"high": 10.0}, for_=0.0)
    channel = Recording()
    with RedisServer(tmp_path / "redis") as server:
        system = AlertingSystem(
            Settings(state_path=server.url, default_rules=False),
            RuleSet((level,), (), {"test": 1}, {}),
            channels=[channel],
            environ={},
            clock=lambda: 0.0,
            start=0.0,
        )
        assert isinstance(system.state.store, RedisStore)
        server.kill()
        with caplog.at_level(logging.ERROR, logger="otel_alerting"):
            for t in range(1, 4):
                system.evaluate(data(gauge_metric("m", number(50.0, proc="p"))), float(t))  # type: ignore[arg-type]
            assert system.flush(5.0)
        system.shutdown(5.0)
    assert len(channel.sent) == 1  # sent without the shared log rather than lost
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("shared notification log failed" in m for m in failures)
    assert any("alert state not saved" in m for m in failures)
    # once each, not once per evaluation
    assert len(failures) == 2, failures


def test_the_password_is_in_no_problem_and_no_effective_configuration(caplog: pytest.LogCaptureFixture) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    level = rule("Level", ValueExpr(Selector("m"), by=("proc",)), above={"high": 10.0}, for_=0.0)
    channel = Recording()
    with caplog.at_level(logging.WARNING):
        system = AlertingSystem(
            Settings(state_path=url, default_rules=False),
            RuleSet((level,), (), {"test": 1}, {}),
            channels=[channel],
            environ={},
            clock=lambda: 0.0,
            start=0.0,
        )
        system.evaluate(data(gauge_metric("m", number(50.0, proc="p"))), 1.0)  # type: ignore[arg-type]
        assert system.flush(5.0)
        system.shutdown(5.0)
    assert isinstance(system.state.store, MemoryStore)
    assert system.dedup is None
    assert len(channel.sent) == 1  # alerting goes on, in memory
    (problem,) = system.problems
    assert "OTEL_PYTHON_ALERTING_STATE" in problem and "127.0.0.1" in problem
    described = Settings(state_path=url).describe()
    for text in [problem, str(described), caplog.text]:
        assert PASSWORD not in text
    assert described["OTEL_PYTHON_ALERTING_STATE"] == url.replace(f":{PASSWORD}@", "")
