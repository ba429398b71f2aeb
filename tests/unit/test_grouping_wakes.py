"""``NotificationPipeline.next_wake``: the time the dispatcher's timer runs the next
flush. After a flush at ``t`` it must be None or later than ``t``: a time already
past at which nothing can be sent is asked for again at once, forever (the notify
thread spun at 100 % of a core once an alert had been firing unchanged for
``group_interval``, and while any alert was silenced)."""

from __future__ import annotations

from otel_alerting.notify.model import Status
from otel_alerting.notify.pipeline import NotificationPipeline

from .test_pipeline import T0, H, M, alert, pipeline, sent


def flush_and_next(p: NotificationPipeline, now: float) -> float | None:
    p.flush_due(now)
    wake = p.next_wake()
    assert wake is None or wake > now, f"next wake {wake - T0 if wake else None} is not after {now - T0}"
    return wake


def test_a_delivered_alert_that_stays_unchanged_wakes_only_for_its_repeat() -> None:
    p = pipeline(["slack"], extra={"route": {"receiver": "slack", "group_interval": "5m", "repeat_interval": "4h"}})
    p.process([alert(M)], T0)
    assert flush_and_next(p, T0 + 2) == T0 + 2 + 4 * 3600
    assert flush_and_next(p, T0 + 2 + 300) == T0 + 2 + 4 * 3600  # group_interval passed: nothing to send
    (repeat,) = p.flush_due(T0 + 2 + 4 * 3600)
    assert repeat.repeat


def test_a_change_waiting_for_group_interval_wakes_then() -> None:
    p = pipeline(["slack"], extra={"route": {"receiver": "slack", "group_interval": "5m"}})
    p.process([alert(M)], T0)
    p.flush_due(T0 + 2)
    p.process([alert(M, at=T0 + 10, queue="billing")], T0 + 10)  # a new alert in the same group
    assert p.next_wake() == T0 + 2 + 300
    (batch,) = p.flush_due(T0 + 2 + 300)
    assert [n.labels["queue"] for n in batch.notifications] == ["billing"]


def test_an_alert_silenced_before_it_was_ever_sent_does_not_keep_waking() -> None:
    p = pipeline(["slack"])
    silence = p.silences.add(
        ['alertname="QueueBacklog"'], starts_at=T0, ends_at=T0 + 3600, comment="deploy", created_by="ops"
    )
    p.process([alert(M)], T0)
    assert flush_and_next(p, T0 + 5) is None
    # the next evaluation after the silence ends delivers it
    p.silences.expire(silence.id, T0 + 20)
    assert sent(p.process([], T0 + 21)) == {"slack": [("QueueBacklog", "FIRING", "MEDIUM")]}


def test_an_alert_silenced_after_it_was_sent_gets_no_reminder_and_no_busy_wake() -> None:
    p = pipeline(["slack"], extra={"route": {"receiver": "slack", "repeat_interval": "1h"}})
    p.process([alert(H)], T0)
    p.flush_due(T0 + 2)
    p.silences.add(['alertname="QueueBacklog"'], starts_at=T0 + 10, ends_at=T0 + 3 * 3600, comment="c", created_by="me")
    assert p.flush_due(T0 + 2 + 3600) == []  # no reminder of a silenced alert
    assert flush_and_next(p, T0 + 2 + 3600 + 1) == T0 + 2 + 2 * 3600


def test_a_resolution_still_goes_out_at_once() -> None:
    p = pipeline(["slack"])
    p.process([alert(M)], T0)
    p.flush_due(T0 + 2)
    batches = p.process([alert(M, Status.RESOLVED, at=T0 + 30)], T0 + 30)
    assert sent(batches) == {"slack": [("QueueBacklog", "RESOLVED", "MEDIUM")]}
    assert p.next_wake() is None
