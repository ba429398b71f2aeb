"""One aggregation group on an explicit clock: ``flush``, ``withdraw`` and ``next_wake``."""

from __future__ import annotations

from otel_alerting.notify.grouping import Group, GroupFlush, MuteCheck, flush
from otel_alerting.notify.model import Batch, Change, Notification, Status
from otel_alerting.notify.routing import Route, Timers
from otel_alerting.rules.model import Severity

from .helpers import notification

T0 = 1_000.0
M, H, C = Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL
KEY = "slack|0|queue=ingest"
LABELS = {"queue": "ingest"}
TIMERS = Timers(group_wait=2.0, group_interval=300.0, repeat_interval=3600.0)


def group() -> Group:
    return Group(KEY, "slack", Route(receivers=("slack",), timers=TIMERS), dict(LABELS), T0)


def fires(fp: str, severity: Severity = H, at: float = T0, value: float = 612.0) -> Notification:
    return notification(severity, fingerprint=fp, at=at, value=value, labels={"alertname": "A", "fp": fp})


def resolves(fp: str, severity: Severity = H, at: float = T0) -> Notification:
    return notification(severity, Status.RESOLVED, fingerprint=fp, at=at, labels={"alertname": "A", "fp": fp})


def never(n: Notification) -> str | None:
    return None


def muting(*fingerprints: str) -> MuteCheck:
    def muted(n: Notification) -> str | None:
        return "silenced by s1" if n.fingerprint in fingerprints else None

    return muted


def delivered(g: Group, now: float) -> tuple[Notification, ...]:
    result = flush(g, now, never, force=True)
    assert result.batch is not None
    return result.batch.notifications


def test_the_first_delivery_waits_group_wait_and_names_the_group() -> None:
    g = group()
    a = fires("a")
    g.put(a)
    assert g.next_wake() == T0 + 2
    assert flush(g, T0 + 1.9, never) == GroupFlush(None)  # not forced by default
    assert flush(g, T0 + 2, never) == GroupFlush(Batch("slack", (a,), KEY, LABELS))
    assert g.told == {"a": (Status.FIRING, H)}
    assert (g.flushed, g.repeated) == (T0 + 2, T0 + 2)
    assert g.next_wake() == T0 + 2 + 3600


def test_force_delivers_before_group_wait() -> None:
    g = group()
    g.put(fires("a"))
    assert flush(g, T0, never, force=True).batch is not None


def test_withdraw_before_the_first_delivery_forgets_the_alert() -> None:
    g = group()
    g.put(fires("a"))
    g.withdraw(fires("a", C, at=T0 + 1))
    assert (g.alerts, g.told) == ({}, {})
    assert g.next_wake() is None
    assert flush(g, T0 + 10, never) == GroupFlush(None)


def test_withdraw_of_an_alert_the_group_does_not_hold_changes_nothing() -> None:
    g = group()
    g.put(fires("a"))
    g.withdraw(fires("b", C))
    assert list(g.alerts) == ["a"]


def test_withdraw_after_a_delivery_tells_the_channel_it_is_over_here() -> None:
    g = group()
    g.put(fires("a"))
    delivered(g, T0 + 2)
    g.withdraw(fires("a", C, at=T0 + 10, value=950.0))
    withdrawn = g.alerts["a"]
    assert (withdrawn.status, withdrawn.change, withdrawn.severity) == (Status.RESOLVED, Change.RESOLVED, H)
    assert (withdrawn.at, withdrawn.ends_at, withdrawn.value) == (T0 + 10, T0 + 10, 950.0)
    assert withdrawn.reason == "now CRITICAL, which this route does not send here"
    assert withdrawn.starts_at == T0  # still the alert the channel was told about
    # a resolution goes out at once, and then the group has nothing left
    assert flush(g, T0 + 10, never) == GroupFlush(Batch("slack", (withdrawn,), KEY, LABELS))
    assert (g.alerts, g.told) == ({}, {})


def test_a_resolution_never_told_is_dropped_and_the_rest_still_goes() -> None:
    g = group()
    g.put(fires("a"))
    b = fires("b")
    g.put(b)
    g.put(resolves("a", at=T0 + 1))  # resolved within group_wait: the channel never hears of it
    assert flush(g, T0 + 2, never).batch == Batch("slack", (b,), KEY, LABELS)
    assert list(g.alerts) == ["b"]


def test_escalation_is_sent_at_once_deescalation_waits_for_group_interval() -> None:
    g = group()
    g.put(fires("a", M))
    delivered(g, T0 + 2)
    high = fires("a", H, at=T0 + 10)
    g.put(high)
    assert flush(g, T0 + 10, never).batch == Batch("slack", (high,), KEY, LABELS)
    medium = fires("a", M, at=T0 + 20)
    g.put(medium)
    assert flush(g, T0 + 20, never).batch is None
    assert g.next_wake() == T0 + 10 + 300
    assert flush(g, T0 + 10 + 300, never).batch == Batch("slack", (medium,), KEY, LABELS)


def test_an_alert_muted_resolved_and_firing_again_is_reported_muted_again() -> None:
    g = group()
    a = fires("a")
    muted = muting("a")
    g.put(a)
    assert flush(g, T0 + 2, muted) == GroupFlush(None, ((a, "silenced by s1"),))
    assert flush(g, T0 + 3, muted) == GroupFlush(None)  # the same reason: not new
    assert g.next_wake() is None  # muted alerts are looked at again by every evaluation
    g.put(resolves("a", at=T0 + 4))
    assert flush(g, T0 + 4, muted) == GroupFlush(None)  # never told: nothing to close
    assert (g.alerts, g.muted) == ({}, {})
    again = fires("a", at=T0 + 5)
    g.put(again)
    assert flush(g, T0 + 5, muted) == GroupFlush(None, ((again, "silenced by s1"),))


def test_newly_muted_alerts_are_reported_beside_a_delivery() -> None:
    g = group()
    a, b = fires("a"), fires("b")
    g.put(a)
    g.put(b)
    assert flush(g, T0 + 2, muting("a")) == GroupFlush(Batch("slack", (b,), KEY, LABELS), ((a, "silenced by s1"),))


def test_the_repeat_resends_what_still_fires_and_is_not_muted() -> None:
    g = group()
    a, b = fires("a"), fires("b")
    g.put(a)
    g.put(b)
    delivered(g, T0 + 2)
    c = fires("c", at=T0 + 100)
    g.put(c)  # new, and muted when the repeat comes
    muted = muting("b", "c")
    assert flush(g, T0 + 3601, muted) == GroupFlush(None, ((c, "silenced by s1"),))  # not due yet
    repeat = flush(g, T0 + 2 + 3600, muted)
    assert repeat == GroupFlush(Batch("slack", (a,), KEY, LABELS, repeat=True))
    assert g.repeated == T0 + 2 + 3600


def test_a_repeat_with_everything_muted_sends_nothing_and_waits_a_full_interval() -> None:
    g = group()
    g.put(fires("a"))
    delivered(g, T0 + 2)
    assert flush(g, T0 + 2 + 3600, muting("a")) == GroupFlush(None)
    assert g.next_wake() == T0 + 2 + 2 * 3600


def test_once_its_resolution_is_delivered_nothing_waits() -> None:
    g = group()
    g.put(fires("a"))
    g.put(fires("b"))
    muted = muting("b")
    flush(g, T0 + 2, muted)
    g.put(resolves("a", at=T0 + 10))
    batch = flush(g, T0 + 10, muted).batch
    assert batch is not None
    assert [n.status for n in batch.notifications] == [Status.RESOLVED]
    assert (list(g.alerts), g.told) == (["b"], {})
    assert g.next_wake() is None  # b is muted, and nothing told fires any more


def test_an_alert_unmuted_then_muted_again_is_reported_again() -> None:
    g = group()
    muted = muting("a")
    a = fires("a")
    g.put(a)
    assert flush(g, T0 + 2, muted).newly_muted == ((a, "silenced by s1"),)
    assert flush(g, T0 + 3, never).batch == Batch("slack", (a,), KEY, LABELS)  # the silence ended
    critical = fires("a", C, at=T0 + 4)
    g.put(critical)
    assert flush(g, T0 + 4, muted) == GroupFlush(None, ((critical, "silenced by s1"),))


def test_the_repeat_resends_an_alert_whose_mute_ended_without_a_change() -> None:
    g = group()
    a = fires("a")
    g.put(a)
    delivered(g, T0 + 2)
    g.put(fires("a", C, at=T0 + 10))  # escalates while silenced: held back
    assert flush(g, T0 + 10, muting("a")).batch is None
    back = fires("a", H, at=T0 + 20)  # back to what the channel was told: no change to send
    g.put(back)
    assert flush(g, T0 + 20, never) == GroupFlush(None)
    # the silence is over by the repeat: the alert still fires, so it is repeated
    assert flush(g, T0 + 2 + 3600, never).batch == Batch("slack", (back,), KEY, LABELS, repeat=True)
