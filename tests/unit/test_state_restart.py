"""A restart with a state file: the alert goes on as one alert (no second FIRING, no
false RESOLVED, the same start), silences survive, and a rule that changed drops only
its saved alerts."""

from __future__ import annotations

from pathlib import Path

from otel_alerting.config import Settings
from otel_alerting.engine.lifecycle import AlertState
from otel_alerting.notify.channel import Channel, DeliveryResult
from otel_alerting.notify.model import Batch, Notification, Status
from otel_alerting.rules import RuleSet
from otel_alerting.rules.model import Rule, Selector, ValueExpr
from otel_alerting.system import AlertingSystem

from .helpers import data, gauge_metric, number, rule


class Recording(Channel):
    name = "rec"

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    async def send(self, batch: Batch) -> DeliveryResult:
        self.sent.extend(batch.notifications)
        return DeliveryResult.delivered()


def start(path: Path, rules: tuple[Rule, ...], at: float) -> tuple[AlertingSystem, Recording]:
    channel = Recording()
    system = AlertingSystem(
        Settings(state_path=str(path), default_rules=False),
        RuleSet(rules, (), {"test": len(rules)}, {}),
        channels=[channel],
        environ={},
        clock=lambda: at,
        start=at,
    )
    return system, channel


def level(value: float) -> object:
    return data(gauge_metric("m", number(value, proc="p")))


LEVEL = rule("Level", ValueExpr(Selector("m"), by=("proc",)), above={"high": 10.0}, for_=5.0)


def test_a_firing_alert_goes_on_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first, channel = start(path, (LEVEL,), 0.0)
    for t in range(0, 8):
        first.evaluate(level(50.0), float(t))  # type: ignore[arg-type]
    first.shutdown(5.0)  # a clean exit while the value is still high
    told = [(n.status, n.starts_at) for n in channel.sent]
    assert told == [(Status.FIRING, 5.0)]

    second, after = start(path, (LEVEL,), 100.0)
    (active,) = second.manager.active()
    assert (active.state, active.fired_at, active.active_since) == (AlertState.FIRING, 5.0, 0.0)
    second.evaluate(None, 100.0)  # no data yet at start: not resolved
    for t in range(101, 105):
        second.evaluate(level(50.0), float(t))  # type: ignore[arg-type]
    second.evaluate(level(1.0), 105.0)
    second.shutdown(5.0)
    assert [(n.status, n.starts_at) for n in after.sent] == [(Status.RESOLVED, 5.0)]


def test_pending_progress_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first, channel = start(path, (LEVEL,), 0.0)
    for t in range(0, 4):
        first.evaluate(level(50.0), float(t))  # type: ignore[arg-type]
    first.shutdown(5.0)
    assert channel.sent == []
    second, after = start(path, (LEVEL,), 4.0)
    second.evaluate(level(50.0), 5.0)  # type: ignore[arg-type]
    second.shutdown(5.0)
    assert [(n.status, n.starts_at) for n in after.sent] == [(Status.FIRING, 5.0)]


def test_a_silence_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first, _ = start(path, (LEVEL,), 0.0)
    made = first.silences.add(['alertname="Level"'], starts_at=0.0, ends_at=1000.0, comment="deploy", created_by="me")
    first.evaluate(None, 1.0)
    first.shutdown(5.0)
    second, channel = start(path, (LEVEL,), 10.0)
    assert second.silences.get(made.id) == made
    for t in range(10, 20):
        second.evaluate(level(50.0), float(t))  # type: ignore[arg-type]
    second.shutdown(5.0)
    assert channel.sent == []
    assert second.pipeline.muted["silenced"] == 1


def test_alerts_of_a_changed_rule_are_left_out(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first, _ = start(path, (LEVEL,), 0.0)
    for t in range(0, 8):
        first.evaluate(level(50.0), float(t))  # type: ignore[arg-type]
    first.shutdown(5.0)
    regrouped = rule("Level", ValueExpr(Selector("m"), by=("host",)), above={"high": 10.0}, for_=5.0)
    second, _ = start(path, (regrouped,), 10.0)
    assert second.manager.active() == []
    second.shutdown(1.0)


def test_an_unusable_state_file_is_a_configuration_problem(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"\x00garbage" * 100)
    system, _ = start(path, (LEVEL,), 0.0)
    (problem,) = system.problems
    assert problem.startswith("OTEL_PYTHON_ALERTING_STATE: ") and "memory" in problem
    for t in range(0, 8):
        system.evaluate(level(50.0), float(t))  # type: ignore[arg-type]
    assert system.manager.active()[0].state is AlertState.FIRING  # alerting goes on
    system.shutdown(1.0)
