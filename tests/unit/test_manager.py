"""The alert manager on an explicit clock: lifecycles, cooldown, history, statistics."""

from __future__ import annotations

import logging

import pytest

from otel_alerting.engine.evaluator import GroupKey, RuleResult
from otel_alerting.engine.lifecycle import AlertState, TransitionKind
from otel_alerting.engine.manager import AlertManager
from otel_alerting.notify.model import Change, Notification, Status, fingerprint
from otel_alerting.rules.model import RateExpr, Rule, Selector, Severity, ValueExpr

from .helpers import rule

M, H, C = Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL
LADDER = {"medium": 100, "high": 500, "critical": 1000}


def backlog(**kwargs: object) -> Rule:
    return rule(
        "QueueBacklog",
        ValueExpr(Selector("app.queue.depth"), "max", ("queue",)),
        above=LADDER,
        labels={"team": "platform"},
        annotations={"summary": "Queue {labels[queue]} holds {value:.0f} items ({state}, {severity})"},
        **kwargs,  # type: ignore[arg-type]
    )


def feed(
    manager: AlertManager, r: Rule, now: float, values: dict[GroupKey, float | None] | float | None
) -> list[Notification]:
    if not isinstance(values, dict):
        values = {("ingest",): values}
    return manager.process([RuleResult(r, values)], now)


def summary(notifications: list[Notification]) -> list[tuple[Status, Change, Severity]]:
    return [(n.status, n.change, n.severity) for n in notifications]


# --- notifications -------------------------------------------------------------------


def test_fired_notification_carries_the_alert() -> None:
    r = backlog(for_=10.0)
    manager = AlertManager([r], cooldown=0)
    assert feed(manager, r, 0.0, 612) == []  # pending: nothing to tell
    (n,) = feed(manager, r, 10.0, 640)
    labels = {"alertname": "QueueBacklog", "team": "platform", "queue": "ingest"}
    assert n == Notification(
        alert="QueueBacklog",
        status=Status.FIRING,
        change=Change.FIRED,
        severity=H,
        labels=labels,
        annotations={"summary": "Queue ingest holds 640 items (FIRING, HIGH)"},
        value=640,
        threshold=500,
        starts_at=10.0,
        at=10.0,
        expr="max(app.queue.depth) by (queue)",
        fingerprint=fingerprint(labels),
        last_firing_value=640,
    )
    assert n.group_labels == {"team": "platform", "queue": "ingest"}


def test_escalation_deescalation_and_resolution_are_each_a_notification() -> None:
    r = backlog()
    manager = AlertManager([r], cooldown=0)
    got = []
    for now, v in [(0, 150), (10, 600), (20, 1500), (30, 600), (40, 5)]:
        got.extend(feed(manager, r, now, v))
    assert summary(got) == [
        (Status.FIRING, Change.FIRED, M),
        (Status.FIRING, Change.ESCALATED, H),
        (Status.FIRING, Change.ESCALATED, C),
        (Status.FIRING, Change.DEESCALATED, H),
        (Status.RESOLVED, Change.RESOLVED, H),
    ]
    assert [n.previous_severity for n in got] == [None, M, H, C, None]
    assert len({n.fingerprint for n in got}) == 1  # one identity through every severity
    assert {n.starts_at for n in got} == {0.0}


def test_resolved_notification_has_value_fired_for_and_reason() -> None:
    r = backlog(for_=10.0)
    manager = AlertManager([r], cooldown=0)
    for now, v in [(0, 600), (10, 600), (20, 700)]:
        feed(manager, r, now, v)
    (n,) = feed(manager, r, 45.0, 42)
    assert (n.status, n.change, n.severity) == (Status.RESOLVED, Change.RESOLVED, H)
    assert n.value == 42
    assert n.fired_for == 35.0
    assert n.reason == "value 42 back below threshold 100"
    assert (n.starts_at, n.ends_at, n.at) == (10.0, 45.0, 45.0)
    assert n.threshold == 500
    assert n.annotations["summary"] == "Queue ingest holds 42 items (RESOLVED, HIGH)"


def test_groups_are_separate_alerts() -> None:
    r = backlog()
    manager = AlertManager([r], cooldown=0)
    out = feed(manager, r, 0.0, {("ingest",): 600, ("mail",): 150, ("idle",): 3})
    assert sorted((n.labels["queue"], n.severity) for n in out) == [("ingest", H), ("mail", M)]
    assert len({n.fingerprint for n in out}) == 2
    assert [(a.labels["queue"], a.severity) for a in manager.active()] == [("ingest", H), ("mail", M)]


def test_missing_group_is_no_data_and_follows_the_rule_policy() -> None:
    r = backlog(no_data="resolve")
    manager = AlertManager([r], cooldown=0)
    feed(manager, r, 0.0, {("ingest",): 600, ("mail",): 600})
    (n,) = feed(manager, r, 10.0, {("ingest",): 600})
    assert (n.labels["queue"], n.status, n.reason, n.value) == ("mail", Status.RESOLVED, "no data", None)


def test_no_data_keep_sends_nothing() -> None:
    r = backlog(no_data="keep")
    manager = AlertManager([r], cooldown=0)
    feed(manager, r, 0.0, 600)
    assert feed(manager, r, 10.0, {}) == []
    assert feed(manager, r, 20.0, None) == []
    assert manager.active()[0].state is AlertState.FIRING


def test_values_that_hold_no_level_create_no_alert() -> None:
    r = backlog()
    manager = AlertManager([r], cooldown=0)
    assert feed(manager, r, 0.0, {("a",): 5, ("b",): None}) == []
    assert manager.active() == []
    assert manager.history() == []


# --- cooldown --------------------------------------------------------------------------


def test_refire_within_cooldown_is_held_then_sent_when_it_passes() -> None:
    r = backlog()
    manager = AlertManager([r], cooldown=60.0)
    assert summary(feed(manager, r, 0.0, 600)) == [(Status.FIRING, Change.FIRED, H)]
    assert summary(feed(manager, r, 10.0, 5)) == [(Status.RESOLVED, Change.RESOLVED, H)]
    assert feed(manager, r, 20.0, 600) == []  # same alert, same severity, 20 s after the last
    assert feed(manager, r, 59.0, 600) == []
    assert manager.stats().suppressed_by_cooldown == 1  # counted once per held notification
    (n,) = feed(manager, r, 60.0, 600)
    assert (n.status, n.change, n.severity, n.at) == (Status.FIRING, Change.FIRED, H, 60.0)
    # it fired at t=20: that is when it started, even though it was told at t=60
    assert n.starts_at == 20.0
    assert feed(manager, r, 70.0, 600) == []


def test_held_refire_that_resolves_in_cooldown_is_never_sent_nor_its_resolution() -> None:
    r = backlog()
    manager = AlertManager([r], cooldown=60.0)
    feed(manager, r, 0.0, 600)
    feed(manager, r, 10.0, 5)
    assert feed(manager, r, 20.0, 600) == []
    assert feed(manager, r, 30.0, 5) == []  # RESOLVED only for an alert whose FIRING was sent
    assert feed(manager, r, 100.0, 5) == []
    stats = manager.stats()
    assert (stats.fired, stats.resolved, stats.notifications) == (2, 2, 2)


def test_cooldown_does_not_hold_a_new_severity() -> None:
    r = backlog()
    manager = AlertManager([r], cooldown=60.0)
    feed(manager, r, 0.0, 150)
    assert summary(feed(manager, r, 5.0, 600)) == [(Status.FIRING, Change.ESCALATED, H)]
    assert summary(feed(manager, r, 6.0, 1200)) == [(Status.FIRING, Change.ESCALATED, C)]


def test_a_deescalation_is_news_even_inside_the_cooldown_but_its_repeat_is_not() -> None:
    r = backlog()
    manager = AlertManager([r], cooldown=60.0)
    feed(manager, r, 0.0, 150)
    feed(manager, r, 5.0, 600)
    # MEDIUM was told at t=0 as FIRED; a de-escalation to it is a change not told yet,
    # so receivers are not left believing HIGH
    (n,) = feed(manager, r, 10.0, 150)
    assert (n.change, n.severity, n.previous_severity) == (Change.DEESCALATED, M, H)
    assert feed(manager, r, 15.0, 600) == []  # the escalation to HIGH repeats within the cooldown: held
    assert feed(manager, r, 20.0, 150) == []  # and receivers already believe MEDIUM
    (again,) = feed(manager, r, 65.0, 600)  # the cooldown of that escalation is over
    assert (again.change, again.severity) == (Change.ESCALATED, H)


def test_flapping_between_severities_inside_cooldown_is_suppressed() -> None:
    r = backlog()
    manager = AlertManager([r], cooldown=60.0)
    sent = []
    for now, v in [(0, 150), (1, 600), (2, 150), (3, 600), (4, 150), (5, 600)]:
        sent.extend(feed(manager, r, now, v))
    assert summary(sent) == [
        (Status.FIRING, Change.FIRED, M),
        (Status.FIRING, Change.ESCALATED, H),
        (Status.FIRING, Change.DEESCALATED, M),
    ]
    assert manager.stats().suppressed_by_cooldown == 2


def test_resolution_of_a_told_alert_is_not_held_by_cooldown() -> None:
    r = backlog()
    manager = AlertManager([r], cooldown=3600.0)
    feed(manager, r, 0.0, 600)
    assert summary(feed(manager, r, 1.0, 5)) == [(Status.RESOLVED, Change.RESOLVED, H)]


def test_zero_cooldown_sends_every_change() -> None:
    r = backlog()
    manager = AlertManager([r], cooldown=0.0)
    sent = []
    for now, v in [(0, 600), (1, 5), (2, 600), (3, 5)]:
        sent.extend(feed(manager, r, now, v))
    assert [n.status for n in sent] == [Status.FIRING, Status.RESOLVED, Status.FIRING, Status.RESOLVED]


# --- rule errors --------------------------------------------------------------------------


def test_rule_error_is_reported_once_and_does_not_stop_other_rules(caplog: pytest.LogCaptureFixture) -> None:
    bad = backlog()
    good = rule("ErrorRate", RateExpr(Selector("errors"), 60.0), above={"high": 1})
    manager = AlertManager([bad, good], cooldown=0)
    feed(manager, bad, 0.0, 600)
    caplog.set_level(logging.ERROR, logger="otel_alerting.engine.manager")
    for now in (10.0, 20.0, 30.0):
        out = manager.process([RuleResult(bad, {}, "ValueError: boom"), RuleResult(good, {(): 5.0})], now)
        if now == 10.0:
            assert summary(out) == [(Status.FIRING, Change.FIRED, H)]
            assert out[0].alert == "ErrorRate"
        else:
            assert out == []
    assert manager.rule_errors() == {"QueueBacklog": "ValueError: boom"}
    assert manager.stats().rule_errors == 1
    logged = [r for r in caplog.records if "cannot be evaluated" in r.getMessage()]
    assert len(logged) == 1
    assert "QueueBacklog" in logged[0].getMessage() and "boom" in logged[0].getMessage()
    # its alert is left as it was, not resolved by the error
    assert {a.alert: a.state for a in manager.active()} == {
        "QueueBacklog": AlertState.FIRING,
        "ErrorRate": AlertState.FIRING,
    }
    # a different error is reported again; success clears it
    manager.process([RuleResult(bad, {}, "KeyError: x")], 40.0)
    assert manager.stats().rule_errors == 2
    feed(manager, bad, 50.0, 600)
    assert manager.rule_errors() == {}


# --- history, statistics, state -------------------------------------------------------------


def test_history_records_transitions_and_is_bounded() -> None:
    r = backlog(for_=10.0)
    manager = AlertManager([r], cooldown=0, history_size=3)
    for now, v in [(0, 600), (10, 600), (20, 600), (30, 5)]:
        feed(manager, r, now, v)
    assert [e.transition.kind for e in manager.history()] == [
        TransitionKind.PENDING,
        TransitionKind.FIRED,
        TransitionKind.RESOLVED,
    ]
    feed(manager, r, 40.0, 1500)
    history = manager.history()
    # the oldest entry made room for the newest
    assert [e.transition.kind for e in history] == [
        TransitionKind.FIRED,
        TransitionKind.RESOLVED,
        TransitionKind.PENDING,
    ]
    assert all(e.alert == "QueueBacklog" and e.labels["queue"] == "ingest" for e in history)
    assert [e.transition.at for e in history] == [10.0, 30.0, 40.0]


def test_statistics() -> None:
    r = backlog()
    other = rule("Other", ValueExpr(Selector("x")), above={"low": 1, "critical": 5})
    manager = AlertManager([r, other], cooldown=0)
    for now, v in [(0, 150), (1, 600), (2, 150), (3, 5), (4, 1200)]:
        feed(manager, r, now, v)
    manager.process([RuleResult(other, {(): 2})], 5.0)
    stats = manager.stats()
    assert stats.evaluations == 6
    assert (stats.fired, stats.resolved, stats.escalated, stats.deescalated) == (3, 1, 1, 1)
    assert stats.notifications == 6
    assert stats.fired_by_severity == {"MEDIUM": 1, "CRITICAL": 1, "LOW": 1}
    assert stats.fired_by_rule == {"QueueBacklog": 2, "Other": 1}
    # a copy: the caller cannot change the manager's counters
    stats.fired_by_rule["QueueBacklog"] = 99
    stats.fired = 99
    assert manager.stats().fired_by_rule["QueueBacklog"] == 2
    assert manager.stats().fired == 3


def test_state_counts_and_active_alerts() -> None:
    r = backlog(for_=10.0)
    quiet = rule("Quiet", ValueExpr(Selector("q")))
    manager = AlertManager([r, quiet], cooldown=0)
    feed(manager, r, 0.0, {("a",): 600, ("b",): 600, ("c",): 150})
    feed(manager, r, 10.0, {("a",): 600, ("b",): 1500, ("c",): 150, ("d",): 200})
    assert manager.state_counts() == {
        ("QueueBacklog", "HIGH", "firing"): 2,  # b: high held 10 s, critical still pending
        ("QueueBacklog", "MEDIUM", "firing"): 1,
        ("QueueBacklog", "MEDIUM", "pending"): 1,  # d: pending, shown at the lowest level
        ("QueueBacklog", "NONE", "inactive"): 0,
        ("Quiet", "NONE", "inactive"): 0,
    }
    active = manager.active()
    assert [(a.labels["queue"], a.state, a.severity) for a in active] == [
        ("a", AlertState.FIRING, H),
        ("b", AlertState.FIRING, H),
        ("c", AlertState.FIRING, M),
        ("d", AlertState.PENDING, None),
    ]
    a = active[0]
    assert (a.value, a.threshold, a.active_since, a.fired_at) == (600, 500, 0.0, 10.0)
    assert a.fingerprint == fingerprint({"alertname": "QueueBacklog", "team": "platform", "queue": "a"})


def test_fingerprint_is_stable_and_order_independent() -> None:
    assert fingerprint({"a": "1", "b": "2"}) == fingerprint({"b": "2", "a": "1"})
    assert fingerprint({"a": "1", "b": "2"}) != fingerprint({"a": "1", "b": "3"})
    # keys and values cannot run into each other
    assert fingerprint({"ab": "c"}) != fingerprint({"a": "bc"})
    assert len(fingerprint({})) == 16
