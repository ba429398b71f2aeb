"""Processes that share one state store (the workers of a pre-fork server): each
evaluates its own metrics, and an alert every one trips is sent once as FIRING and once
as RESOLVED, when the last holder resolves or every other holder's lease has expired."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import pytest

from otel_alerting.config import Settings
from otel_alerting.notify.channel import Channel, DeliveryResult
from otel_alerting.notify.dedup import Claim, Lease, SharedLog, decide
from otel_alerting.notify.model import Batch, Change, Notification, Status
from otel_alerting.rules import RuleSet
from otel_alerting.rules.model import Selector, ValueExpr
from otel_alerting.state import RedisStore, SqliteStore
from otel_alerting.system import AlertingSystem

from ..instrumentation.servers import RedisServer, redis_server_fixture
from .helpers import data, gauge_metric, number, rule

__all__ = ["redis_server_fixture"]  # the module's redis-server

LEVEL = rule("Level", ValueExpr(Selector("m"), by=("proc",)), above={"high": 10.0, "critical": 100.0}, for_=0.0)
LEASE = 5.0


class Recording(Channel):
    name = "rec"

    def __init__(self, sent: list[Notification]) -> None:
        self.sent = sent

    async def send(self, batch: Batch) -> DeliveryResult:
        self.sent.extend(batch.notifications)
        return DeliveryResult.delivered()


class Workers:
    """``count`` alerting systems on one state file and one clock, as the workers of a
    pre-fork server; every notification any of them sends lands in ``sent``."""

    def __init__(self, location: str, count: int, lease: float = LEASE) -> None:
        self.location = location
        self.lease = lease
        self.now = 0.0
        self.sent: list[Notification] = []
        settings = Settings(state_path=location, default_rules=False, state_lease_s=lease)
        self.systems = [
            AlertingSystem(
                settings,
                RuleSet((LEVEL,), (), {"test": 1}, {}),
                channels=[Recording(self.sent)],
                environ={},
                clock=lambda: self.now,
                start=0.0,
            )
            for _ in range(count)
        ]

    def add(self, rules: RuleSet | None = None) -> AlertingSystem:
        """One more process on the store, started now (after a restart, a deploy)."""
        rules = RuleSet((LEVEL,), (), {"test": 1}, {}) if rules is None else rules
        settings = Settings(state_path=self.location, default_rules=False, state_lease_s=self.lease)
        system = AlertingSystem(
            settings, rules, channels=[Recording(self.sent)], environ={}, clock=lambda: self.now, start=self.now
        )
        self.systems.append(system)
        return system

    def tick(self, *levels: float | None, step: float = 1.0) -> None:
        """One evaluation in each worker given its level (None: that worker is dead)."""
        self.now += step
        for system, value in zip(self.systems, levels, strict=True):
            if value is not None:
                system.evaluate(data(gauge_metric("m", number(value, proc="p"))), self.now)  # type: ignore[arg-type]
                assert system.flush(5.0)

    def told(self) -> list[tuple[Status, Change, str]]:
        return [(n.status, n.change, n.severity.name) for n in self.sent]

    def stop(self) -> None:
        for system in self.systems:
            system.shutdown(5.0)


@pytest.fixture(params=["sqlite", "redis"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the workers share their state: an SQLite file, or a real redis-server."""
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    server: RedisServer = request.getfixturevalue("redis_server")
    server.flush()
    return server.url


def test_three_workers_send_one_firing_and_one_resolved(location: str) -> None:
    workers = Workers(location, 3)
    workers.tick(50, 50, 50)
    workers.tick(50, 50, 50)
    assert workers.told() == [(Status.FIRING, Change.FIRED, "HIGH")]
    workers.tick(1, 1, 50)  # two recover: the third still fires, nothing is resolved
    workers.tick(1, 1, 50)
    assert len(workers.sent) == 1
    workers.tick(1, 1, 1)
    workers.tick(1, 1, 1)
    assert workers.told() == [(Status.FIRING, Change.FIRED, "HIGH"), (Status.RESOLVED, Change.RESOLVED, "HIGH")]
    assert workers.sent[1].starts_at == workers.sent[0].starts_at
    workers.stop()


def test_an_escalation_is_sent_once(location: str) -> None:
    workers = Workers(location, 3)
    workers.tick(50, 50, 50)
    workers.tick(500, 50, 500)
    workers.tick(500, 500, 500)
    workers.tick(50, 50, 50)
    assert workers.told() == [
        (Status.FIRING, Change.FIRED, "HIGH"),
        (Status.FIRING, Change.ESCALATED, "CRITICAL"),
        (Status.FIRING, Change.DEESCALATED, "HIGH"),
    ]
    workers.stop()


def test_a_worker_that_sees_it_less_severe_does_not_deescalate_it(location: str) -> None:
    workers = Workers(location, 2)
    workers.tick(500, 500)
    workers.tick(500, 50)  # one worker drops to HIGH, the other still sees CRITICAL
    workers.tick(500, 50)
    assert workers.told() == [(Status.FIRING, Change.FIRED, "CRITICAL")]
    workers.stop()


def test_a_dead_holder_is_resolved_once_its_lease_has_expired(location: str) -> None:
    workers = Workers(location, 3)
    workers.tick(50, 50, 50)
    workers.tick(1, 1, 50)
    workers.tick(1, 1, None)  # the third dies (SIGKILL: no clean stop) while it holds the alert
    died = workers.now - 1.0
    while workers.now + 1.0 < died + LEASE:
        workers.tick(1, 1, None)
        assert len(workers.sent) == 1, f"resolved {workers.now - died:g}s after the holder died, within its lease"
    for _ in range(int(LEASE)):
        workers.tick(1, 1, None)
    assert workers.told() == [(Status.FIRING, Change.FIRED, "HIGH"), (Status.RESOLVED, Change.RESOLVED, "HIGH")]
    resolved = workers.sent[1]
    assert resolved.starts_at == workers.sent[0].starts_at
    assert resolved.labels == workers.sent[0].labels
    assert resolved.fingerprint == workers.sent[0].fingerprint
    workers.stop()


def test_a_holder_that_stopped_cleanly_does_not_hold_back_a_resolution(location: str) -> None:
    # a deploy: the old process stopped while the alert fired; the new one sees it resolve
    workers = Workers(location, 2)
    workers.tick(50, 50)
    workers.systems[0].shutdown(5.0)
    workers.tick(None, 1)
    assert workers.told() == [(Status.FIRING, Change.FIRED, "HIGH"), (Status.RESOLVED, Change.RESOLVED, "HIGH")]
    workers.systems[1].shutdown(5.0)


@pytest.mark.parametrize("clean", [True, False], ids=["stopped cleanly", "crashed"])
def test_a_process_that_outlives_the_holders_resolves_only_what_crashed(location: str, clean: bool) -> None:
    # two workers fire the alert; the third process (a master) holds nothing and searches on
    workers = Workers(location, 3)
    workers.tick(50, 50, 1)
    workers.tick(50, 50, 1)
    assert workers.told() == [(Status.FIRING, Change.FIRED, "HIGH")]
    if clean:  # SIGTERM: the workers stop, the alert still holds
        workers.systems[0].shutdown(5.0)
        workers.systems[1].shutdown(5.0)
        workers.tick(50, 50, 1)  # a timer's last tick after the stop renews nothing
    gone = workers.now
    while workers.now < gone + 3 * LEASE:  # the master's search runs every third of a lease
        workers.tick(None, None, 1)
        if clean or workers.now < gone + LEASE:
            assert len(workers.sent) == 1, f"resolved {workers.now - gone:g}s after the holders went"
    if clean:
        assert workers.told() == [(Status.FIRING, Change.FIRED, "HIGH")]
    else:  # SIGKILL: their leases expired without a stop
        assert workers.told() == [(Status.FIRING, Change.FIRED, "HIGH"), (Status.RESOLVED, Change.RESOLVED, "HIGH")]
    workers.systems[2].shutdown(5.0)


@pytest.mark.parametrize("level", [1.0, 50.0], ids=["no longer true", "still true"])
def test_a_process_started_after_a_clean_stop_takes_the_alert_over(location: str, level: float) -> None:
    workers = Workers(location, 2)
    workers.tick(50, 50)
    workers.stop()  # the whole server stops while the alert holds
    workers.now += 100 * LEASE  # and starts again much later
    again = workers.add()
    for _ in range(int(3 * LEASE)):
        workers.tick(None, None, level)
    if level < 10:  # the restart resolves it, once
        assert workers.told() == [(Status.FIRING, Change.FIRED, "HIGH"), (Status.RESOLVED, Change.RESOLVED, "HIGH")]
        assert workers.sent[1].starts_at == workers.sent[0].starts_at
    else:
        assert workers.told() == [(Status.FIRING, Change.FIRED, "HIGH")]
    again.shutdown(5.0)


def test_an_alert_no_process_started_since_the_stop_evaluates_is_resolved_by_its_search(location: str) -> None:
    # the rule was removed during the deploy: nobody will ever resolve the alert but the log
    workers = Workers(location, 2)
    workers.tick(50, 50)
    workers.stop()
    workers.now += 1.0
    other = rule("Other", ValueExpr(Selector("m"), by=("proc",)), above={"high": 1000.0}, for_=0.0)
    workers.add(RuleSet((other,), (), {"test": 1}, {}))
    started = workers.now
    while len(workers.sent) == 1 and workers.now < started + 3 * LEASE:
        workers.tick(None, None, 1)
    assert workers.told() == [(Status.FIRING, Change.FIRED, "HIGH"), (Status.RESOLVED, Change.RESOLVED, "HIGH")]
    assert workers.now >= started + LEASE  # its first search waits one lease: processes starting together
    workers.systems[2].shutdown(5.0)


def test_a_process_that_took_over_a_stopped_alert_and_crashed_leaves_an_orphan(location: str) -> None:
    # the old process's stopped lease must not keep the alert from the search once another took it over
    workers = Workers(location, 2)
    workers.tick(50, 1)  # the first worker fires it; the second (a master) holds nothing
    workers.systems[0].shutdown(5.0)
    workers.tick(None, 1)
    workers.add()  # a new worker restores it and fires it on
    workers.tick(None, 1, 50)
    workers.tick(None, 1, 50)
    crashed = workers.now
    while len(workers.sent) == 1 and workers.now < crashed + 3 * LEASE:
        workers.tick(None, 1, None)  # the new worker crashed
    assert workers.told() == [(Status.FIRING, Change.FIRED, "HIGH"), (Status.RESOLVED, Change.RESOLVED, "HIGH")]
    assert workers.now >= crashed + LEASE
    workers.systems[1].shutdown(5.0)


def test_without_a_shared_store_each_worker_notifies(tmp_path: Path) -> None:
    workers = Workers(str(tmp_path / "state.db"), 3)
    for system in workers.systems:
        system.dedup = None  # what a memory store gives
    workers.tick(50, 50, 50)
    assert len(workers.sent) == 3
    workers.stop()


class Failing:
    """A shared log whose every call fails."""

    def hold(self, holder: str, expires: float, held: Mapping[str, int], released: Collection[str]) -> None:
        raise OSError("disk gone")

    def claim(self, holder: str, now: float, claims: Sequence[Claim]) -> list[float | bool | None]:
        raise OSError("disk gone")

    def orphans(
        self, now: float, retention: float, limit: int, since: float = 0.0
    ) -> list[tuple[str, str, dict[str, object]]]:
        raise OSError("disk gone")

    def stop(self, holder: str, at: float) -> None:
        raise OSError("disk gone")


def test_a_failing_log_lets_notifications_through_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    workers = Workers(str(tmp_path / "state.db"), 2)
    for system in workers.systems:
        assert system.dedup is not None
        assert isinstance(Failing(), SharedLog)
        system.dedup.log = Failing()
    with caplog.at_level(logging.ERROR, logger="otel_alerting"):
        workers.tick(50, 50)
        workers.tick(50, 50)
    assert len(workers.sent) == 2  # twice rather than never
    errors = [r for r in caplog.records if "shared notification log failed" in r.getMessage()]
    assert len(errors) == 2  # one per process
    workers.stop()


FIRING = Claim("fp", "rec", "FIRING", 3, None, {"status": "FIRING", "severity": 3, "at": 10.0})
RESOLVED = Claim("fp", "rec", "RESOLVED", 3, None, {"status": "RESOLVED", "severity": 3, "at": 10.0})
TOLD = {"status": "FIRING", "severity": 3, "at": 0.0}


@pytest.mark.parametrize(
    ("claim", "entry", "others", "sent"),
    [
        (FIRING, None, [], True),
        (FIRING, TOLD, [], False),
        (FIRING, {**TOLD, "status": "RESOLVED"}, [], True),
        (FIRING, {**TOLD, "severity": 2}, [], True),  # an escalation
        (FIRING, {**TOLD, "severity": 4}, [Lease(2)], True),  # a de-escalation nobody contradicts
        (FIRING, {**TOLD, "severity": 4}, [Lease(4)], False),  # another sees it more severe
        (FIRING, None, [Lease(4, stopped=True)], True),  # a stopped process no longer speaks
        (Claim("fp", "rec", "FIRING", 3, 30.0, FIRING.record), TOLD, [], False),  # repeat: another just sent it
        (Claim("fp", "rec", "FIRING", 3, 5.0, FIRING.record), TOLD, [], True),  # repeat due
        (RESOLVED, TOLD, [], True),
        (RESOLVED, TOLD, [Lease(3)], False),  # another still holds it
        (RESOLVED, TOLD, [Lease(3, stopped=True)], True),
        (RESOLVED, None, [], False),  # never told firing
        (RESOLVED, {**TOLD, "status": "RESOLVED"}, [], False),  # resolved already
    ],
)
def test_decide(claim: Claim, entry: dict[str, object] | None, others: list[Lease], sent: bool) -> None:
    assert decide(claim, entry, others, 10.0) is sent


def test_the_log_stays_bounded(location: str) -> None:
    store = RedisStore(location) if location.startswith("redis://") else SqliteStore(location)
    claims = [
        Claim(f"fp{i}", "rec", "RESOLVED" if i % 2 else "FIRING", 3, None, {"status": "FIRING", "severity": 3, "at": i})
        for i in range(20)
    ]
    store.hold("h", 1e9, {c.fingerprint: 3 for c in claims}, ())
    assert False not in store.claim("h", 0.0, [c for c in claims if c.status == "FIRING"])
    store.hold("h", 1e9, {}, [c.fingerprint for c in claims[:10]])
    assert store.claim("h", 1.0, [c for c in claims[:10] if c.status == "RESOLVED"]) == [False] * 5
    # the five FIRING whose lease was let go of without a RESOLVED are orphans
    found = store.orphans(100.0, retention=1000.0, limit=3)
    assert sorted(fp for fp, _, _ in found) == ["fp0", "fp2", "fp4", "fp6", "fp8"]
    assert len(store.load().nflog) == 3
    store.close()


def test_the_first_spawned_worker_of_a_supervisor_warns_and_its_siblings_do_not(tmp_path: Path) -> None:
    from otel_alerting.forking import first_of_siblings

    # the siblings of one supervisor (this process's parent) share the marker
    assert first_of_siblings(str(tmp_path)) is True
    assert first_of_siblings(str(tmp_path)) is False
    assert first_of_siblings(str(tmp_path / "another")) is True  # unwritable: each says it
