"""Routing, grouping, silences and inhibition, on explicit times (no threads, no sleeps)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from otel_alerting.notify.config import load_notify_config
from otel_alerting.notify.matchers import InhibitRule, Matcher
from otel_alerting.notify.model import Batch, Notification, Status, fingerprint
from otel_alerting.notify.pipeline import Inhibitor, NotificationPipeline
from otel_alerting.notify.routing import Route, default_route, routing_labels
from otel_alerting.notify.silences import SilenceStore
from otel_alerting.rules import load_rule_set
from otel_alerting.rules.model import Severity

from .helpers import notification

L, M, H, C = Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL
T0 = 1_750_000_000.0
ALL = ("console", "log", "email", "slack", "webhook", "pagerduty", "alertmanager")


def alert(
    severity: Severity, status: Status = Status.FIRING, *, name: str = "QueueBacklog", at: float = T0, **labels: str
) -> Notification:
    full = {"alertname": name, "queue": "ingest", **labels}
    return notification(severity, status, alert=name, labels=full, at=at, fingerprint=fingerprint(full))


def pipeline(
    channels: Sequence[str] = ALL,
    *,
    extra: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    firing: Sequence[dict[str, str]] = (),
    inhibit: Sequence[InhibitRule] = (),
) -> NotificationPipeline:
    config = load_notify_config(extra or {}, list(channels), environ or {}, include_defaults=False)
    assert config.errors == ()
    return NotificationPipeline(config.route, inhibitor=Inhibitor(inhibit, lambda: firing), silences=SilenceStore())


def sent(batches: Sequence[Batch]) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list[tuple[str, str, str]]] = {}
    for batch in batches:
        out.setdefault(batch.channel, []).extend(
            (n.alert, n.status.value, n.severity.name) for n in batch.notifications
        )
    return out


# --- routing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "channels"),
    [
        (L, {"console", "log", "alertmanager"}),
        (M, {"console", "log", "slack", "alertmanager"}),
        (H, {"console", "log", "email", "slack", "webhook", "alertmanager"}),
        (C, set(ALL)),
    ],
)
def test_default_routes_follow_the_severity_table(severity: Severity, channels: set[str]) -> None:
    route, errors = default_route(ALL, {})
    assert errors == []
    immediate, grouped = route.resolve(routing_labels({"alertname": "X"}, severity))
    assert set(immediate.receivers + grouped.receivers) == channels
    # records for machines and terminals go at once; people's channels are grouped
    assert set(immediate.receivers) == channels & {"log", "console", "alertmanager"}
    assert immediate.timers.group_wait == 0
    assert grouped.timers.group_wait == (0 if severity is C else 2.0)


def test_default_timers_from_the_environment() -> None:
    route, errors = default_route(
        ["slack"], {"OTEL_PYTHON_ALERTING_GROUP_WAIT": "10s", "OTEL_PYTHON_ALERTING_REPEAT_INTERVAL": "often"}
    )
    assert [str(e) for e in errors] == [
        "OTEL_PYTHON_ALERTING_REPEAT_INTERVAL: invalid duration 'often' (expected e.g. 30s, 5m, 1h or seconds)"
    ]
    _, grouped = route.resolve(routing_labels({}, M))
    assert grouped.timers.group_wait == 10.0


def test_severity_routes_can_be_changed_from_the_environment() -> None:
    route, errors = default_route(ALL, {"OTEL_PYTHON_ALERTING_ROUTE_MEDIUM": "console,pagerduty,sms"})
    assert [str(e) for e in errors] == [
        "OTEL_PYTHON_ALERTING_ROUTE_MEDIUM: channel(s) sms not configured (configured: console, log, email, "
        "slack, webhook, pagerduty, alertmanager)"
    ]
    immediate, grouped = route.resolve(routing_labels({}, M))
    assert (immediate.receivers, grouped.receivers) == (("console",), ("pagerduty",))


def test_a_route_tree_with_matchers_continue_and_inheritance() -> None:
    extra = {
        "route": {
            "receiver": "log",
            "group_by": ["alertname", "team"],
            "group_wait": "10s",
            "routes": [
                {"matchers": ['team="db"'], "receiver": "email", "continue": True},
                {"matchers": ['severity=~"high|critical"'], "receivers": ["slack", "pagerduty"], "group_wait": "1s"},
            ],
        }
    }
    config = load_notify_config(extra, list(ALL), {}, include_defaults=False)
    assert config.errors == ()
    route = config.route
    db_high = route.resolve(routing_labels({"alertname": "A", "team": "db"}, H))
    assert [r.receivers for r in db_high] == [("email",), ("slack", "pagerduty")]
    assert [r.timers.group_wait for r in db_high] == [10.0, 1.0]  # inherited, then overridden
    assert db_high[0].group_by == ("alertname", "team")
    (fallback,) = route.resolve(routing_labels({"alertname": "A", "team": "web"}, L))
    assert fallback.receivers == ("log",)


def test_route_errors_name_the_place() -> None:
    extra = {"route": {"receiver": "sms", "routes": [{"matchers": ['a=~"("'], "group_wait": "soon"}]}}
    config = load_notify_config(extra, ["log"], {}, include_defaults=False, source="rules.yaml")
    assert [str(e) for e in config.errors] == [
        "rules.yaml: route.receiver: channel 'sms' is not configured (configured: log)",
        "rules.yaml: route.routes[0].matchers: invalid regular expression in matcher 'a=~\"(\"': "
        "missing ), unterminated subpattern at position 0",
        "rules.yaml: route.routes[0].group_wait: invalid duration 'soon' (expected e.g. 30s, 5m, 1h or seconds)",
    ]


ROUTE_AND_INHIBIT_ERRORS = """\
rules:
  - alert: A
    expr: {value: {metric: m}}
    above: {high: 1}
route:
  receiver: sms
  routes:
    - matchers: ['a=~"("']
      group_wait: soon
    - receiver: log
      colour: red
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="high"']
    equal: alertname
  - source_matchers: ['x="1"']
    bogus: 1
  - 42
"""


def test_route_and_inhibit_errors_name_file_and_line(tmp_path: Any) -> None:
    # the sections come from a rules file among two: errors name that file and the line
    first = tmp_path / "first.yaml"
    first.write_text("rules: []\n")
    second = tmp_path / "second.yaml"
    second.write_text(ROUTE_AND_INHIBIT_ERRORS)
    rule_set = load_rule_set([str(first), str(second)], {}, include_defaults=False)
    config = load_notify_config(
        rule_set.extra,
        ["log"],
        {},
        include_defaults=False,
        source=f"{first}:{second}",
        origins=rule_set.extra_origins,
    )
    assert [str(e) for e in config.errors] == [
        f"{second}:6: route.receiver: channel 'sms' is not configured (configured: log)",
        f"{second}:8: route.routes[0].matchers: invalid regular expression in matcher 'a=~\"(\"': "
        "missing ), unterminated subpattern at position 0",
        f"{second}:9: route.routes[0].group_wait: invalid duration 'soon' (expected e.g. 30s, 5m, 1h or seconds)",
        f"{second}:11: route.routes[1].colour: unknown field (expected one of continue, group_by, group_interval, "
        "group_wait, matchers, receiver, receivers, repeat_interval, routes)",
        f"{second}:15: inhibit_rules[0].equal: must be a list of label names",
        f"{second}:17: inhibit_rules[1]: unknown field(s) bogus",
        f"{second}:18: inhibit_rules[2]: must be a mapping",
    ]


# --- grouping ----------------------------------------------------------------------


def test_first_notification_waits_group_wait_and_groups_what_arrives_meanwhile() -> None:
    p = pipeline(["slack"])
    assert p.process([alert(M, queue="a")], T0) == []
    assert p.process([alert(M, queue="b", at=T0 + 1)], T0 + 1) == []
    assert p.next_wake() == T0 + 2
    (batch,) = p.flush_due(T0 + 2)
    assert [n.labels["queue"] for n in batch.notifications] == ["a", "b"]
    assert batch.group_labels == {"alertname": "QueueBacklog"}


def test_critical_skips_the_wait() -> None:
    p = pipeline(["slack"])
    (batch,) = p.process([alert(C)], T0)
    assert batch.severity is C


def test_new_alerts_in_a_group_wait_for_group_interval_but_resolutions_do_not() -> None:
    p = pipeline(["slack"])
    p.process([alert(M, queue="a")], T0)
    assert len(p.flush_due(T0 + 2)) == 1
    assert p.process([alert(M, queue="b")], T0 + 10) == []  # joins a group that already spoke
    (resolved,) = p.process([alert(M, Status.RESOLVED, queue="a", at=T0 + 11)], T0 + 11)
    # the resolution goes at once, and takes the waiting new alert with it
    assert sent([resolved]) == {"slack": [("QueueBacklog", "RESOLVED", "MEDIUM"), ("QueueBacklog", "FIRING", "MEDIUM")]}


def test_escalation_is_sent_at_once() -> None:
    p = pipeline(["slack"])
    p.process([alert(M)], T0)
    p.flush_due(T0 + 2)
    (batch,) = p.process([alert(H, at=T0 + 5)], T0 + 5)
    assert sent([batch]) == {"slack": [("QueueBacklog", "FIRING", "HIGH")]}


def test_deescalation_waits_for_group_interval() -> None:
    p = pipeline(["slack"])
    p.process([alert(H)], T0)
    p.flush_due(T0 + 2)
    assert p.process([alert(M, at=T0 + 5)], T0 + 5) == []
    (batch,) = p.flush_due(T0 + 2 + 300)
    assert sent([batch]) == {"slack": [("QueueBacklog", "FIRING", "MEDIUM")]}


def test_a_resolution_within_group_wait_sends_nothing() -> None:
    p = pipeline(["slack"])
    p.process([alert(M)], T0)
    assert p.process([alert(M, Status.RESOLVED, at=T0 + 1)], T0 + 1) == []
    assert p.flush_due(T0 + 5) == []
    assert p.next_wake() is None


def test_repeat_interval_resends_what_still_fires() -> None:
    p = pipeline(["slack"], extra={"route": {"receiver": "slack", "repeat_interval": "1h"}})
    p.process([alert(M)], T0)
    p.flush_due(T0 + 2)
    assert p.flush_due(T0 + 3000) == []
    (repeat,) = p.flush_due(T0 + 2 + 3600)
    assert repeat.repeat and sent([repeat]) == {"slack": [("QueueBacklog", "FIRING", "MEDIUM")]}


def test_a_channel_only_routed_at_critical_hears_the_deescalation_as_a_resolution() -> None:
    p = pipeline(["log", "pagerduty"])
    first = p.process([alert(C)], T0)
    assert sent(first) == {
        "log": [("QueueBacklog", "FIRING", "CRITICAL")],
        "pagerduty": [("QueueBacklog", "FIRING", "CRITICAL")],
    }
    later = p.process([alert(H, at=T0 + 10)], T0 + 10)
    assert sent(later)["pagerduty"] == [("QueueBacklog", "RESOLVED", "CRITICAL")]
    (pd,) = [b for b in later if b.channel == "pagerduty"]
    assert "does not send here" in (pd.notifications[0].reason or "")


def test_force_flush_ignores_the_waits() -> None:
    p = pipeline(["slack"])
    p.process([alert(M)], T0)
    assert len(p.flush_due(T0 + 0.1, force=True)) == 1


# --- silences and inhibition --------------------------------------------------------


def test_a_silence_mutes_until_it_ends_then_the_alert_is_delivered() -> None:
    p = pipeline(["slack"])
    silence = p.silences.add(
        ['alertname="QueueBacklog"', 'queue="ingest"'],
        starts_at=T0,
        ends_at=T0 + 60,
        comment="deploy",
        created_by="ops",
    )
    p.process([alert(M)], T0)
    assert p.flush_due(T0 + 5) == []
    assert p.muted["silenced"] == 1
    p.silences.expire(silence.id, T0 + 20)
    (batch,) = p.flush_due(T0 + 21)
    assert sent([batch]) == {"slack": [("QueueBacklog", "FIRING", "MEDIUM")]}


def test_a_muted_alert_that_resolves_is_never_announced() -> None:
    p = pipeline(["slack"])
    p.silences.add(['alertname="QueueBacklog"'], starts_at=T0, ends_at=T0 + 60, comment="c", created_by="me")
    p.process([alert(M)], T0)
    p.flush_due(T0 + 5)
    assert p.process([alert(M, Status.RESOLVED, at=T0 + 6)], T0 + 6) == []
    assert p.flush_due(T0 + 100) == []


def test_silences_match_on_severity_too() -> None:
    p = pipeline(["slack"])
    p.silences.add(['severity="medium"'], starts_at=T0, ends_at=T0 + 60, comment="c", created_by="me")
    p.process([alert(M, queue="a"), alert(H, queue="b")], T0)
    assert [n.labels["queue"] for b in p.flush_due(T0 + 2) for n in b.notifications] == ["b"]


def test_silences_refuse_nonsense() -> None:
    store = SilenceStore()
    with pytest.raises(ValueError, match="at least one matcher"):
        store.add([], starts_at=T0, ends_at=T0 + 1, comment="c", created_by="me")
    with pytest.raises(ValueError, match="must not match every alert"):
        store.add(['team!="x"'], starts_at=T0, ends_at=T0 + 1, comment="c", created_by="me")
    with pytest.raises(ValueError, match="end after it starts"):
        store.add(['a="b"'], starts_at=T0, ends_at=T0, comment="c", created_by="me")
    with pytest.raises(ValueError, match="comment and an author"):
        store.add(['a="b"'], starts_at=T0, ends_at=T0 + 1, comment=" ", created_by="me")
    s = store.add(['a="b"'], starts_at=T0 + 10, ends_at=T0 + 20, comment="c", created_by="me")
    assert [s.state(t) for t in (T0, T0 + 15, T0 + 25)] == ["pending", "active", "expired"]
    assert store.list(T0 + 25 + 86400 + 1) == []


def test_inhibition_mutes_targets_while_the_source_fires() -> None:
    rule = InhibitRule(
        (Matcher.parse('alertname="DependencyDown"'),),
        (Matcher.parse('alertname="CacheHitRateLow"'),),
        ("server.address",),
    )
    firing: list[dict[str, str]] = [{"alertname": "DependencyDown", "server.address": "10.0.0.5", "severity": "high"}]
    config = load_notify_config({}, ["slack"], {}, include_defaults=False)
    p = NotificationPipeline(config.route, inhibitor=Inhibitor([rule], lambda: firing), silences=SilenceStore())
    same = alert(M, name="CacheHitRateLow", **{"server.address": "10.0.0.5"})
    other = alert(M, name="CacheHitRateLow", **{"server.address": "10.0.0.6"})
    p.process([same, other], T0)
    (batch,) = p.flush_due(T0 + 2)
    assert [n.labels["server.address"] for n in batch.notifications] == ["10.0.0.6"]
    assert p.muted["inhibited"] == 1
    firing.clear()  # Redis is back; the cache alert still fires
    assert p.flush_due(T0 + 3) == []  # it joins a group that already spoke: group_interval
    (later,) = p.flush_due(T0 + 2 + 300)
    assert [n.labels["server.address"] for n in later.notifications] == ["10.0.0.5"]


def test_default_inhibition_is_loaded_with_the_built_in_pack() -> None:
    config = load_notify_config({}, ["log"], {}, include_defaults=True)
    assert [str(m) for m in config.inhibit_rules[0].target_matchers] == ['alertname="CacheHitRateLow"']
    extra = {
        "inhibit_rules": [
            {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="low"'], "equal": ["service"]}
        ]
    }
    config = load_notify_config(extra, ["log"], {}, include_defaults=False)
    assert [(str(r.source_matchers[0]), r.equal) for r in config.inhibit_rules] == [
        ('severity="critical"', ("service",))
    ]
    bad = load_notify_config({"inhibit_rules": [{"source_matchers": ["x"]}]}, ["log"], {}, include_defaults=False)
    assert len(bad.errors) == 1


def test_route_type_is_exported() -> None:
    assert Route().group_by == ("alertname",)
