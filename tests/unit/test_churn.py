"""Churn: series that come and go. In reader mode counters are aggregated as deltas, so
the SDK forgets a series at the first collection without a measurement, and the engine
forgets it once no rule's horizon reaches back to it: memory follows the live series, and
a series born after 10,000 dead ones still alerts (with cumulative aggregation it would
fall into the SDK's overflow series once 10,000 had ever existed). The rule resolves on
no data: with ``no_data: keep`` (the default) an alert firing when its series vanished
keeps firing, and is kept, by design.

Real MeterProvider and AlertingMetricReader, a clock moved by hand, no sleeping."""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider

from otel_alerting.config import Settings
from otel_alerting.engine.lifecycle import AlertState
from otel_alerting.engine.states import FORGET_AFTER
from otel_alerting.reader import AlertingMetricReader
from otel_alerting.rules import parse_rules

RULES = """
rules:
  - alert: NewUser
    expr:
      value: {metric: app.logins, reduce: sum}
      by: [user]
    above: {high: 0.5}
    no_data: resolve
"""

STEP_S = 300.0
PER_STEP = 10
DEAD = 10_000


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def firing_users(reader: AlertingMetricReader) -> set[str]:
    system = reader.system
    assert system is not None
    return {a.labels["user"] for a in system.manager.active() if a.state is AlertState.FIRING}


def test_idle_series_are_forgotten_and_a_new_one_after_10000_dead_ones_still_alerts(tmp_path: object) -> None:
    clock = Clock()
    rules_file = f"{tmp_path}/rules.yaml"
    with open(rules_file, "w") as f:
        f.write(RULES)
    assert not parse_rules(None).errors
    settings = Settings(rules_paths=(rules_file,), default_rules=False, interval_ms=STEP_S * 1000)
    assert settings.cardinality_limit == DEAD  # the default: 10,000 ever-seen would fill it
    reader = AlertingMetricReader(settings, channels=[], clock=clock, start_timer=False)
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    try:
        system = reader.system
        assert system is not None and not system.rule_set.errors
        logins = provider.get_meter("app").create_counter("app.logins")
        most_kept = 0
        for step in range(DEAD // PER_STEP):
            users = [f"u{step * PER_STEP + i}" for i in range(PER_STEP)]
            for user in users:
                logins.add(1, {"user": user})
            clock.now += STEP_S
            reader.collect()
            assert set(users) <= firing_users(reader), f"step {step}: the new users do not alert"
            most_kept = max(most_kept, system.evaluator.series_count()["app.logins"])
        # each series is kept while a rule may still read it (FORGET_AFTER), and swept
        # every 64 evaluations: far fewer than the 10,000 ever seen
        bound = (FORGET_AFTER / STEP_S + 1 + 64) * PER_STEP
        assert most_kept <= bound < DEAD / 10, (most_kept, bound)
        assert not system.evaluator.overflowed
        # their alerts resolved with their data (no_data: resolve) and were let go of
        assert len(firing_users(reader)) <= bound
        logins.add(1, {"user": "newcomer"})
        clock.now += STEP_S
        reader.collect()
        assert "newcomer" in firing_users(reader)
        assert not system.evaluator.overflowed_metrics()
    finally:
        provider.shutdown()
