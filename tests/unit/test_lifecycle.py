"""The alert lifecycle on an explicit clock: every step passes ``now``."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from otel_alerting.engine.lifecycle import Alert, AlertState, Transition, TransitionKind
from otel_alerting.rules.model import Rule, Severity

from .helpers import rule

K = TransitionKind
M, H, C = Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL
LADDER = {"medium": 100, "high": 500, "critical": 1000}


def alert(r: Rule) -> Alert:
    return Alert(r, {"queue": "ingest"}, 0.0)


def run(a: Alert, steps: Sequence[tuple[float, float | None]]) -> list[list[TransitionKind]]:
    return [[t.kind for t in a.step(v, now)] for now, v in steps]


def states(a: Alert, steps: Sequence[tuple[float, float | None]]) -> list[tuple[AlertState, Severity | None]]:
    out = []
    for now, v in steps:
        a.step(v, now)
        out.append((a.state, a.severity))
    return out


# --- inactive -> pending -> firing -> resolved ---------------------------------------


def test_pending_then_firing_after_for() -> None:
    a = alert(rule(above={"high": 10}, for_=30.0))
    assert a.state is AlertState.INACTIVE
    assert run(a, [(0, 15), (10, 15), (20, 15)]) == [[K.PENDING], [], []]
    assert (a.state, a.severity, a.active_since, a.fired_at) == (AlertState.PENDING, None, 0, None)
    (fired,) = a.step(15, 30)
    assert fired == Transition(K.FIRED, 30, 15, H, None, 10.0)
    assert (a.state, a.severity, a.active_since, a.fired_at) == (AlertState.FIRING, H, 0, 30)


def test_for_zero_fires_at_once_without_pending() -> None:
    a = alert(rule(above={"high": 10}))
    assert run(a, [(0, 15)]) == [[K.FIRED]]
    assert a.active_since == 0


def test_pending_cleared_and_for_restarts() -> None:
    a = alert(rule(above={"high": 10}, for_=30.0))
    assert run(a, [(0, 15), (20, 15), (25, 5)]) == [[K.PENDING], [], [K.PENDING_CLEARED]]
    assert (a.state, a.active_since) == (AlertState.INACTIVE, None)
    # a new pending period starts from scratch: 30 s from t=40
    assert run(a, [(40, 15), (60, 15), (70, 15)]) == [[K.PENDING], [], [K.FIRED]]
    assert a.fired_at == 70


def test_resolved_carries_value_reason_and_fired_for() -> None:
    a = alert(rule(above={"high": 10}, for_=10.0))
    run(a, [(0, 15), (10, 20), (20, 30)])
    (resolved,) = a.step(4, 45)
    assert resolved.kind is K.RESOLVED
    assert resolved.value == 4
    assert resolved.severity is None
    assert resolved.previous_severity is H
    assert resolved.reason == "value 4 back below threshold 10"
    assert resolved.fired_for == 35
    assert (a.state, a.severity, a.fired_at, a.active_since) == (AlertState.INACTIVE, None, None, None)


def test_resolved_reason_for_a_below_rule() -> None:
    a = alert(rule(below={"high": 0.5}))
    a.step(0.2, 0)
    (resolved,) = a.step(0.7, 5)
    assert resolved.reason == "value 0.7 back above threshold 0.5"


# --- thresholds ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "value", "fires"),
    [
        ("above", 10.0, True),  # above is >=
        ("above", 10.000001, True),
        ("above", 9.999999, False),
        ("below", 10.0, False),  # below is <
        ("below", 9.999999, True),
        ("below", 10.000001, False),
    ],
)
def test_above_is_inclusive_below_is_strict(direction: str, value: float, fires: bool) -> None:
    a = alert(rule(**{direction: {"high": 10.0}}))  # type: ignore[arg-type]
    a.step(value, 0)
    assert (a.state is AlertState.FIRING) is fires


def test_threshold_is_the_lowest_until_firing_then_the_current_levels() -> None:
    a = alert(rule(above=LADDER, for_=10.0))
    assert a.threshold == 100
    a.step(600, 0)
    assert a.threshold == 100  # pending
    a.step(600, 10)
    assert a.threshold == 500


# --- escalation -------------------------------------------------------------------------


def test_escalation_and_deescalation_through_the_ladder() -> None:
    a = alert(rule(above=LADDER))
    got = []
    for now, v in [(0, 150), (10, 600), (20, 1200), (30, 600), (40, 150), (50, 50)]:
        got.append([(t.kind, t.severity, t.previous_severity, t.threshold) for t in a.step(v, now)])
    assert got == [
        [(K.FIRED, M, None, 100)],
        [(K.ESCALATED, H, M, 500)],
        [(K.ESCALATED, C, H, 1000)],
        [(K.DEESCALATED, H, C, 500)],
        [(K.DEESCALATED, M, H, 100)],
        [(K.RESOLVED, None, M, 100)],
    ]
    # one identity throughout: fired once, at t=0
    assert a.fired_at is None


def test_jump_straight_to_the_top_fires_at_the_top() -> None:
    a = alert(rule(above=LADDER, for_=20.0))
    assert run(a, [(0, 5000), (10, 5000), (20, 5000)]) == [[K.PENDING], [], [K.FIRED]]
    assert a.severity is C


def test_each_level_must_hold_for_its_own_for_period() -> None:
    # Prometheus semantics: every level is a rule of its own with the same `for`.
    a = alert(rule(above=LADDER, for_=30.0))
    got = states(a, [(0, 150), (10, 150), (20, 600), (30, 600), (40, 600), (50, 600)])
    assert got == [
        (AlertState.PENDING, None),
        (AlertState.PENDING, None),
        (AlertState.PENDING, None),
        (AlertState.FIRING, M),  # medium held since t=0
        (AlertState.FIRING, M),  # high held only since t=20
        (AlertState.FIRING, H),
    ]


def test_a_spike_shorter_than_for_does_not_escalate() -> None:
    a = alert(rule(above=LADDER, for_=30.0))
    kinds = run(a, [(0, 150), (30, 150), (40, 600), (60, 600), (70, 150), (80, 150)])
    assert kinds == [[K.PENDING], [K.FIRED], [], [], [], []]
    assert a.severity is M


def test_deescalation_is_immediate_and_reescalation_waits_for_again() -> None:
    a = alert(rule(above=LADDER, for_=10.0))
    run(a, [(0, 600), (10, 600)])
    assert a.severity is H
    assert run(a, [(20, 150), (30, 600), (40, 600)]) == [[K.DEESCALATED], [], [K.ESCALATED]]


# --- keep_firing_for ----------------------------------------------------------------------


def test_keep_firing_for_counts_from_when_the_condition_stopped() -> None:
    # As Prometheus: it keeps firing while now - (first evaluation where the
    # condition is false) < keep_firing_for.
    a = alert(rule(above={"high": 10}, keep_firing_for=20.0))
    kinds = run(a, [(0, 15), (10, 5), (20, 5), (30, 5)])
    assert kinds == [[K.FIRED], [], [], [K.RESOLVED]]


def test_keep_firing_for_of_one_interval_keeps_one_more_evaluation() -> None:
    a = alert(rule(above={"high": 10}, keep_firing_for=10.0))
    assert run(a, [(0, 15), (10, 5), (20, 5)]) == [[K.FIRED], [], [K.RESOLVED]]


def test_keep_firing_for_resolved_transition_reports_time_fired() -> None:
    a = alert(rule(above={"high": 10}, keep_firing_for=20.0))
    run(a, [(0, 15), (10, 15), (20, 5), (30, 5)])
    (resolved,) = a.step(5, 40)
    assert (resolved.kind, resolved.fired_for, resolved.value) == (K.RESOLVED, 40, 5)


def test_condition_back_during_keep_firing_keeps_one_firing_alert() -> None:
    a = alert(rule(above={"high": 10}, for_=10.0, keep_firing_for=20.0))
    kinds = run(a, [(0, 15), (10, 15), (20, 5), (30, 15), (40, 5), (50, 5), (60, 5)])
    # fired once; the condition returned at t=30, so keep-firing restarts from t=40
    assert kinds == [[K.PENDING], [K.FIRED], [], [], [], [], [K.RESOLVED]]
    assert a.state is AlertState.INACTIVE


def test_keep_firing_for_delays_deescalation_per_level() -> None:
    a = alert(rule(above=LADDER, keep_firing_for=15.0))
    got = []
    for now, v in [(0, 600), (10, 150), (20, 150), (30, 150), (40, 5), (50, 5), (60, 5)]:
        got.append([(t.kind, t.severity) for t in a.step(v, now)])
    assert got == [
        [(K.FIRED, H)],
        [],  # high stopped holding at t=10: kept until t=25
        [],
        [(K.DEESCALATED, M)],
        [],  # medium stopped holding at t=40: kept until t=55
        [],
        [(K.RESOLVED, None)],
    ]


# --- hysteresis -------------------------------------------------------------------------


@pytest.mark.parametrize(("recovery", "resolved_at"), [(None, 1), (80.0, 3)])
def test_recovery_level_holds_firing_until_passed(recovery: float | None, resolved_at: int) -> None:
    a = alert(rule(above={"medium": 100}, recovery=recovery))
    kinds = run(a, [(0, 120), (10, 90), (20, 80), (30, 79.9)])
    expected: list[list[TransitionKind]] = [[K.FIRED], [], [], []]
    expected[resolved_at] = [K.RESOLVED]
    assert kinds == expected


def test_recovery_reason_names_the_recovery_level() -> None:
    a = alert(rule(above={"medium": 100}, recovery=80.0))
    a.step(120, 0)
    (resolved,) = a.step(70, 10)
    assert resolved.reason == "value 70 back below recovery level 80"


def test_recovery_does_not_start_an_alert() -> None:
    a = alert(rule(above={"medium": 100}, recovery=80.0))
    assert run(a, [(0, 90), (10, 95)]) == [[], []]
    assert a.state is AlertState.INACTIVE


def test_recovery_below_direction() -> None:
    a = alert(rule(below={"medium": 0.5}, recovery=0.6))
    kinds = run(a, [(0, 0.4), (10, 0.55), (20, 0.599), (30, 0.6)])
    assert kinds == [[K.FIRED], [], [], [K.RESOLVED]]


def test_recovery_only_applies_to_the_lowest_level() -> None:
    a = alert(rule(above={"medium": 100, "high": 500}, recovery=80.0))
    got = []
    for now, v in [(0, 600), (10, 450), (20, 90), (30, 70)]:
        got.append([(t.kind, t.severity) for t in a.step(v, now)])
    assert got == [[(K.FIRED, H)], [(K.DEESCALATED, M)], [], [(K.RESOLVED, None)]]


def test_recovery_does_not_hold_a_pending_alert() -> None:
    a = alert(rule(above={"medium": 100}, recovery=80.0, for_=30.0))
    assert run(a, [(0, 120), (10, 90)]) == [[K.PENDING], [K.PENDING_CLEARED]]


# --- no data ------------------------------------------------------------------------------


def test_no_data_keep_leaves_a_firing_alert_as_it_is() -> None:
    a = alert(rule(above={"high": 10}, no_data="keep"))
    a.step(15, 0)
    assert run(a, [(10, None), (20, None)]) == [[], []]
    assert (a.state, a.severity, a.value) == (AlertState.FIRING, H, 15)
    assert a.last_evaluated == 20


def test_no_data_keep_keeps_a_pending_alert_pending() -> None:
    a = alert(rule(above={"high": 10}, for_=30.0, no_data="keep"))
    assert run(a, [(0, 15), (10, None), (20, None), (30, 15)]) == [[K.PENDING], [], [], [K.FIRED]]


def test_no_data_resolve_resolves_a_firing_alert() -> None:
    a = alert(rule(above={"high": 10}, no_data="resolve"))
    a.step(15, 0)
    (resolved,) = a.step(None, 25)
    assert (resolved.kind, resolved.reason, resolved.value, resolved.fired_for) == (K.RESOLVED, "no data", None, 25)
    assert a.state is AlertState.INACTIVE


def test_no_data_resolve_clears_pending_and_restarts_for() -> None:
    a = alert(rule(above={"high": 10}, for_=20.0, no_data="resolve"))
    assert run(a, [(0, 15), (10, None), (20, 15), (30, 15), (40, 15)]) == [
        [K.PENDING],
        [K.PENDING_CLEARED],
        [K.PENDING],
        [],
        [K.FIRED],
    ]


def test_no_data_resolve_also_ends_keep_firing() -> None:
    a = alert(rule(above={"high": 10}, no_data="resolve", keep_firing_for=60.0))
    a.step(15, 0)
    assert run(a, [(10, None)]) == [[K.RESOLVED]]


def test_no_data_resolve_on_inactive_alert_is_silent() -> None:
    a = alert(rule(above={"high": 10}, no_data="resolve"))
    assert run(a, [(0, None), (10, 5), (20, None)]) == [[], [], []]


# --- what the mutation run pinned down ---------------------------------------------------


def test_a_new_alert_is_inactive_and_knows_nothing_yet() -> None:
    labels = {"queue": "ingest"}
    a = Alert(rule(above={"high": 10}), labels, 5.0)
    assert a.labels == labels
    assert a.labels is not labels  # its own copy
    assert (a.created_at, a.last_evaluated) == (5.0, 5.0)
    assert (a.state, a.severity, a.value, a.threshold) == (AlertState.INACTIVE, None, None, 10.0)
    assert (a.active_since, a.fired_at, a.last_firing_value) == (None, None, None)
    a.step(3, 8.0)
    assert (a.last_evaluated, a.value, a.created_at) == (8.0, 3, 5.0)


def test_resolved_by_no_data_says_so() -> None:
    a = alert(rule(above={"high": 10}, no_data="resolve"))
    a.step(15, 0)
    (resolved,) = a.step(None, 10)
    assert (resolved.kind, resolved.reason, resolved.value, resolved.fired_for) == (K.RESOLVED, "no data", None, 10)
    assert resolved.last_firing_value == 15


def test_resolved_carries_the_last_firing_value_and_forgets_it() -> None:
    a = alert(rule(above={"high": 10}, for_=10.0))
    a.step(15, 0)  # pending: not a firing value
    assert a.last_firing_value is None
    a.step(20, 10)
    a.step(30, 20)
    assert a.last_firing_value == 30
    (resolved,) = a.step(4, 30.5)
    assert (resolved.value, resolved.last_firing_value, resolved.fired_for) == (4, 30, 20.5)
    assert (a.last_firing_value, a.fired_at) == (None, None)
    a.step(15, 40)  # pending again: still nothing firing
    assert (a.state, a.last_firing_value) == (AlertState.PENDING, None)


def test_pending_transitions_carry_time_value_and_lowest_threshold() -> None:
    a = alert(rule(above=LADDER, for_=30.0))
    assert a.step(600, 0) == [Transition(K.PENDING, 0, 600, None, None, 100.0)]
    assert a.step(50, 10) == [Transition(K.PENDING_CLEARED, 10, 50, None, None, 100.0)]


def test_escalation_transitions_carry_time_and_value() -> None:
    a = alert(rule(above=LADDER))
    a.step(150, 0)
    assert a.step(600, 10) == [Transition(K.ESCALATED, 10, 600, H, M, 500.0)]
    assert a.step(150, 20) == [Transition(K.DEESCALATED, 20, 150, M, H, 100.0)]
    (resolved,) = a.step(50, 30)
    assert (resolved.at, resolved.severity, resolved.previous_severity, resolved.threshold) == (30, None, M, 100.0)


def test_keep_firing_for_does_not_keep_a_pending_level() -> None:
    a = alert(rule(above={"high": 10}, for_=30.0, keep_firing_for=60.0))
    assert run(a, [(0, 15), (10, 5)]) == [[K.PENDING], [K.PENDING_CLEARED]]
    # and the next pending period starts from scratch
    assert run(a, [(20, 15), (40, 15), (50, 15)]) == [[K.PENDING], [], [K.FIRED]]


def test_keep_firing_for_of_one_second() -> None:
    a = alert(rule(above={"high": 10}, keep_firing_for=1.0))
    assert run(a, [(0, 15), (10, 5), (10.5, 5), (11, 5)]) == [[K.FIRED], [], [], [K.RESOLVED]]


def test_a_steady_firing_alert_makes_no_transition() -> None:
    a = alert(rule(above=LADDER))
    assert run(a, [(0, 600), (10, 700), (20, 550)]) == [[K.FIRED], [], []]
    assert a.severity is H
