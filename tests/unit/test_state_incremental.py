"""Only what changed is exported and written at each evaluation: an alert whose
lifecycle or notifications did not change builds no record; ``for`` progress with no
transition, a notification and a forgotten alert each do; a failed write is retried."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from otel_alerting.engine.manager import AlertManager
from otel_alerting.engine.results import RuleResult
from otel_alerting.rules.model import Selector, ValueExpr
from otel_alerting.state import Changes, MemoryStore, SavedState, StateError, StateKeeper

from .helpers import rule

LADDER = rule("Level", ValueExpr(Selector("m"), by=("proc",)), above={"high": 10.0, "critical": 100.0}, for_=2.0)


def step(manager: AlertManager, now: float, **values: float) -> None:
    manager.process([RuleResult(LADDER, {(k,): v for k, v in values.items()})], now)


def changed(manager: AlertManager) -> tuple[set[str], list[str]]:
    records, forgotten = manager.export_changes()
    return {r["group"]["proc"] for r in records.values()}, forgotten


def test_only_alerts_that_changed_are_exported() -> None:
    manager = AlertManager([LADDER], cooldown=0.0)
    step(manager, 0.0, a=50, b=50)
    assert changed(manager) == ({"a", "b"}, [])  # the first export gives every alert
    step(manager, 1.0, a=50, b=50)  # pending, nothing new
    assert changed(manager) == (set(), [])
    step(manager, 2.0, a=50, b=500)  # b's critical level starts its `for`: no transition, yet saved
    assert changed(manager) == ({"a", "b"}, [])  # a fires (2 s), b fires and starts critical
    step(manager, 3.0, a=50, b=500)
    assert changed(manager) == (set(), [])
    step(manager, 4.0, a=50, b=500)  # b escalates
    assert changed(manager) == ({"b"}, [])
    assert manager.export_changes()[0] == {}


def test_a_forgotten_alert_is_exported_as_removed() -> None:
    manager = AlertManager([LADDER], cooldown=0.0)
    manager.keep_changes()
    step(manager, 0.0, a=50)
    step(manager, 2.0, a=50)
    changed(manager)
    step(manager, 3.0, a=1)  # resolved, and forgotten (no cooldown to wait for)
    records, forgotten = manager.export_changes()
    assert records == {}
    assert len(forgotten) == 1


def test_without_a_store_nothing_is_kept_for_it() -> None:
    manager = AlertManager([LADDER], cooldown=0.0)
    for now in range(0, 100, 4):  # fires, resolves and is forgotten, again and again
        step(manager, float(now), a=50)
        step(manager, now + 2.0, a=50)
        step(manager, now + 3.0, a=1)
    assert manager._forgotten is None


def test_the_changes_are_what_a_full_export_gives() -> None:
    manager = AlertManager([LADDER], cooldown=0.0)
    manager.keep_changes()
    saved: dict[str, Mapping[str, object]] = {}
    for now, value in enumerate([50, 50, 500, 500, 500, 50, 50, 1, 50, 50]):
        step(manager, float(now), a=value, b=min(value, 60))
        records, forgotten = manager.export_changes()
        saved.update(records)
        for fp in forgotten:
            del saved[fp]
        assert saved == manager.export_state(), f"at {now}"


class FailingOnce(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.fail = True

    def save(self, changes: Changes) -> None:
        if self.fail:
            self.fail = False
            raise StateError("busy")
        super().save(changes)


def test_what_a_failed_write_held_is_written_with_the_next(tmp_path: Path) -> None:
    store = FailingOnce()
    keeper = StateKeeper(store)
    assert not keeper.write({"fp1": {"n": 1}}, {}, 0.0, removed=())
    assert keeper.write({"fp2": {"n": 2}}, {}, 1.0, removed=())
    assert store.load() == SavedState({"fp1": {"n": 1}, "fp2": {"n": 2}}, {}, {})
    assert keeper.write({}, {}, 2.0, removed=["fp1"])
    assert store.load().alerts == {"fp2": {"n": 2}}
