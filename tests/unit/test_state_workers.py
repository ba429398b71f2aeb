"""Workers that share one state store keep each other's silences and alert records:
silences are written as changes merged by id and ``updated_at`` (never a whole-table
replacement), and each worker reads the others' at its next evaluation; alert records
are kept per (fingerprint, process), so a worker that forgets an alert does not delete
the record of another that still fires it, and the records of dead processes go."""

from __future__ import annotations

from pathlib import Path

from otel_alerting.config import Settings
from otel_alerting.engine.lifecycle import AlertState
from otel_alerting.notify.dedup import Claim
from otel_alerting.notify.model import Notification
from otel_alerting.rules import RuleSet
from otel_alerting.rules.model import Selector, ValueExpr
from otel_alerting.state import Changes, RedisStore, SqliteStore, StateStore
from otel_alerting.state.model import furthest
from otel_alerting.system import AlertingSystem

from ..instrumentation.servers import redis_server_fixture
from .helpers import data, gauge_metric, number, rule
from .test_state_shared import Recording, location

__all__ = ["location", "redis_server_fixture"]  # the module's fixtures: the shared store, a redis-server

LEVEL = rule("Level", ValueExpr(Selector("m"), by=("proc",)), above={"high": 10.0}, for_=2.0)
DAY = 24 * 3600.0


class Workers:
    """Alerting systems on one store and one clock, as the workers of a pre-fork
    server; ``start`` adds one (a worker started later, or after a restart)."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.now = 0.0
        self.sent: list[Notification] = []
        self.systems: list[AlertingSystem] = []

    def start(self) -> AlertingSystem:
        system = AlertingSystem(
            Settings(state_path=self.location, default_rules=False, cooldown_s=0.0),
            RuleSet((LEVEL,), (), {"test": 1}, {}),
            channels=[Recording(self.sent)],
            environ={},
            clock=lambda: self.now,
            start=self.now,
        )
        self.systems.append(system)
        return system

    def tick(self, *levels: float | None, step: float = 1.0) -> None:
        """One evaluation in each worker, in turn, given its level (None: stopped)."""
        self.now += step
        for system, value in zip(self.systems, levels, strict=True):
            if value is not None:
                system.evaluate(data(gauge_metric("m", number(value, proc="p"))), self.now)  # type: ignore[arg-type]
                assert system.flush(5.0)

    def stop(self) -> None:
        for system in self.systems:
            system.shutdown(5.0)
        self.systems = []


def _silence(system: AlertingSystem, now: float, ends_at: float = 1000.0) -> str:
    made = system.silences.add(
        ['alertname="Level"'], starts_at=now, ends_at=ends_at, comment="maintenance", created_by="ops", now=now
    )
    return made.id


def test_a_silence_made_in_one_worker_mutes_in_every_worker(location: str) -> None:
    workers = Workers(location)
    first, second, third = workers.start(), workers.start(), workers.start()
    silence = _silence(second, workers.now)  # the POST landed on the second worker
    workers.tick(1, 1, 1)  # the second saves it; the third reads it at this evaluation
    workers.tick(1, 1, 1)  # the first at its next one
    assert first.silences.get(silence) is not None and third.silences.get(silence) is not None
    for _ in range(5):
        workers.tick(50, 50, 50)
    assert workers.sent == []  # no worker sent the FIRING
    assert sum(s.pipeline.muted["silenced"] for s in workers.systems) == 3
    workers.stop()


def test_silences_made_in_two_workers_both_survive(location: str) -> None:
    workers = Workers(location)
    first, second = workers.start(), workers.start()
    one = _silence(first, workers.now)
    workers.tick(1, 1)
    two = _silence(second, workers.now)  # the second's save must not replace the first's
    workers.tick(1, 1)
    workers.tick(1, 1)
    workers.stop()
    again = workers.start()  # a restart
    assert again.silences.get(one) is not None and again.silences.get(two) is not None
    workers.stop()


def test_an_expiry_in_one_worker_reaches_the_others_and_the_newer_change_wins(location: str) -> None:
    workers = Workers(location)
    first, second = workers.start(), workers.start()
    silence = _silence(first, workers.now)
    workers.tick(1, 1)
    workers.tick(1, 1)
    second.silences.expire(silence, workers.now)  # expired through the second worker
    workers.tick(50, 50)
    workers.tick(50, 50)
    expired = first.silences.get(silence)
    assert expired is not None and expired.ends_at <= workers.now
    for _ in range(3):
        workers.tick(50, 50)
    assert len(workers.sent) == 1  # the alert is told once it is no longer silenced
    workers.stop()
    assert workers.start().silences.get(silence) == expired  # the later change, not the creation
    workers.stop()


def test_a_silence_past_its_retention_leaves_the_store(location: str) -> None:
    workers = Workers(location)
    first = workers.start()
    silence = _silence(first, workers.now, ends_at=10.0)
    workers.tick(1)
    workers.tick(1, step=DAY + 20)  # a day after it ended: forgotten, and deleted
    workers.stop()
    assert workers.start().silences.get(silence) is None
    assert silence not in _store(location).load().silences
    workers.stop()


def _store(location: str) -> StateStore:
    return RedisStore(location) if location.startswith("redis://") else SqliteStore(location)


def test_an_alert_another_worker_forgot_is_restored_from_the_worker_that_fires_it(location: str) -> None:
    workers = Workers(location)
    workers.start(), workers.start()
    for _ in range(4):
        workers.tick(50, 50)
    (firing,) = workers.systems[1].manager.active()
    assert firing.state is AlertState.FIRING
    workers.tick(1, 50)  # the first resolves and forgets it (no cooldown); the second fires on
    workers.tick(1, 50)
    assert workers.systems[0].manager.active() == []
    workers.stop()  # the whole server restarts
    (restored,) = workers.start().manager.active()
    assert (restored.state, restored.fired_at, restored.active_since) == (
        AlertState.FIRING,
        firing.fired_at,
        firing.active_since,
    )
    workers.stop()


def test_the_records_of_a_dead_process_go_after_its_lease_and_the_retention(location: str) -> None:
    store = _store(location)
    record = {"alert": "Level", "group": {"proc": "p"}, "lifecycle": {"state": "firing"}, "notified": 3}
    store.hold("dead", 100.0, {}, ())  # hold is part of the shared log both stores offer
    store.save(Changes(alerts={"fp": record}, holder="dead", at=90.0))
    store.hold("live", 10_000.0, {}, ())
    store.save(Changes(alerts={"fp2": record}, holder="live", at=90.0))
    store.orphans(150.0, retention=1000.0, limit=100)  # lease expired, retention not over
    assert set(store.load().alerts) == {"fp", "fp2"}
    store.orphans(1200.0, retention=1000.0, limit=100)
    assert set(store.load().alerts) == {"fp2"}
    store.close()


def test_an_alert_resolved_for_dead_holders_leaves_their_records(location: str) -> None:
    # otherwise a restart would bring back, as told firing, an alert its receivers were told resolved
    store = _store(location)
    record = {"alert": "Level", "lifecycle": {"state": "firing", "severity": 3, "active_since": 1.0}}
    told = {"status": "FIRING", "severity": 3, "at": 10.0}
    store.hold("dead", 100.0, {"fp": 3}, ())
    assert store.claim("dead", 10.0, [Claim("fp", "rec", "FIRING", 3, None, told)]) == [None]
    store.save(Changes(alerts={"fp": record, "other": record}, holder="dead", at=10.0))
    assert [fp for fp, _, _ in store.orphans(150.0, retention=1000.0, limit=100)] == ["fp"]
    assert set(store.load().alerts) == {"other"}
    store.close()


def test_a_live_process_replaces_the_record_of_a_dead_one_but_not_of_a_live_one(location: str) -> None:
    store = _store(location)
    old = {"alert": "Level", "lifecycle": {"state": "firing", "severity": 3, "active_since": 1.0}}
    new = {"alert": "Level", "lifecycle": {"state": "pending", "severity": None, "active_since": 50.0}}
    store.hold("stopped", 40.0, {}, ())
    store.hold("live", 1000.0, {}, ())
    store.save(Changes(alerts={"fp": old, "fp2": old}, holder="stopped", at=30.0))
    store.save(Changes(alerts={"fp": new}, holder="other", at=50.0))  # the stopped one's record is stale
    store.save(Changes(alerts={"fp2": old}, holder="live", at=50.0))
    store.save(Changes(removed_alerts=frozenset({"fp2"}), holder="other", at=50.0))
    assert store.load().alerts == {"fp": new, "fp2": old}
    store.close()


def test_the_furthest_record_is_restored() -> None:
    pending = {"lifecycle": {"state": "pending", "severity": None, "active_since": 5.0}}
    early = {"lifecycle": {"state": "pending", "severity": None, "active_since": 1.0}}
    high = {"lifecycle": {"state": "firing", "severity": 3, "active_since": 9.0}}
    critical = {"lifecycle": {"state": "firing", "severity": 4, "active_since": 20.0}}
    assert furthest([pending, early]) == early
    assert furthest([early, high, pending]) == high
    assert furthest([high, critical]) == critical
    assert furthest([{"broken": True}, pending]) == pending


def test_a_forked_worker_writes_the_alerts_it_inherited_under_its_own_name(tmp_path: Path) -> None:
    import sqlite3

    workers = Workers(str(tmp_path / "state.db"))
    parent = workers.start()
    for _ in range(4):
        workers.tick(50)
    before = parent.state.holder
    parent._after_fork_in_child()  # what os.register_at_fork runs in a child
    assert parent.dedup is not None and parent.state.holder == parent.dedup.holder != before
    workers.tick(50)  # nothing changed in the alert, yet the child's own record is written
    with sqlite3.connect(tmp_path / "state.db") as connection:
        holders = {h for (h,) in connection.execute("SELECT holder FROM alert_rows")}
    connection.close()
    assert parent.state.holder in holders
    workers.stop()
