"""Rules x series -> one value per alert group, once per collection.

Only metrics that some rule reads are looked at: the cost of an evaluation grows with
the watched series, not with everything the application records. Each watched metric
has a ``MetricState`` that turns its points into values and increases; each rule (see
``states``) takes the points of its groups (a series knows its group for every rule that
reads it, see ``series``) and gives one value per group at the end of the collection.
Delta series that sent no point are carried at their unchanged total for ``value``
rules (see ``MetricState.carry``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from opentelemetry.sdk.metrics.export import MetricsData

from ..environment_variables import OTEL_PYTHON_ALERTING_MAX_SERIES_PER_RULE
from ..rules.model import Rule, Selector
from ..rules.prometheus_names import label_name
from .results import NO_VALUES, GroupKey, RuleResult
from .series import Attributes, MetricState, MetricUpdate
from .states import FORGET_AFTER, RuleState, horizon, state_for

__all__ = ["FORGET_AFTER", "Evaluator", "GroupKey", "RuleResult", "horizon"]

_logger = logging.getLogger("otel_alerting")

#: how many evaluations pass between two sweeps of forgotten series
_PRUNE_EVERY = 64


#: the sides of one rule that read one metric: (consumer slot, role), in slot order
_Sides = list[tuple[int, str]]


@dataclass
class _Watched:
    """One metric some rule reads: its series, and who reads them."""

    state: MetricState
    #: per rule reading the metric, its sides
    readers: list[tuple[RuleState, _Sides]]
    #: the same, for the rules that take carried delta points
    carried: list[tuple[RuleState, _Sides]]


def _selection(rule_state: RuleState, selector: Selector) -> Callable[[Attributes], GroupKey | None]:
    def select(attributes: Attributes) -> GroupKey | None:
        return rule_state.group(attributes) if selector.matches(attributes) else None

    if not selector.prometheus_labels:
        return select

    def select_by_label_names(attributes: Attributes) -> GroupKey | None:
        # once per new series: an imported rule names attributes as Prometheus labels
        return select({label_name(key): value for key, value in attributes.items()})

    return select_by_label_names


class Evaluator:
    """Feeds each collection to the rules that read its metrics."""

    def __init__(
        self, rules: Sequence[Rule], start: float, start_ns: int, max_series_per_rule: int | None = None
    ) -> None:
        self._previous = start
        self.max_series_per_rule = max_series_per_rule
        self._states = [state_for(rule, start) for rule in rules]
        consumers: dict[str, list[tuple[RuleState, str, Selector]]] = {}
        for state in self._states:
            for role, selector in state.selectors():
                consumers.setdefault(selector.metric, []).append((state, role, selector))
        self._watched: dict[str, _Watched] = {}
        #: per watched metric, the rule of each consumer slot
        self._slot_rules: dict[str, list[str]] = {}
        #: rules already reported as past their series limit
        self._warned_limit: set[str] = set()
        for name, found in consumers.items():
            readers: dict[RuleState, _Sides] = {}
            for slot, (state, role, _) in enumerate(found):
                readers.setdefault(state, []).append((slot, role))
            # a series is kept as long as the longest horizon of the rules reading it
            metric = MetricState(
                name,
                [_selection(state, selector) for state, _, selector in found],
                start_ns,
                max(state.horizon for state, _, _ in found),
                max_series_per_rule,
            )
            self._slot_rules[name] = [state.rule.alert for state, _, _ in found]
            pairs = list(readers.items())
            self._watched[name] = _Watched(metric, pairs, [(s, sides) for s, sides in pairs if s.carries])
        #: metrics that went past the cardinality limit (for good: see MetricState)
        self.overflowed: set[str] = set()
        self._evaluations = 0

    @property
    def rules(self) -> list[Rule]:
        return [state.rule for state in self._states]

    @property
    def watched_metrics(self) -> frozenset[str]:
        return frozenset(self._watched)

    def overflowed_metrics(self) -> list[str]:
        return sorted(self.overflowed)

    def series_refused(self) -> dict[str, int]:
        """Per rule past ``max_series_per_rule``: the series it does not read (they
        cannot alert) among those kept now."""
        refused: dict[str, int] = {}
        for name, watched in self._watched.items():
            for rule, count in zip(self._slot_rules[name], watched.state.refused):
                if count:
                    refused[rule] = refused.get(rule, 0) + count
        return refused

    def series_count(self) -> dict[str, int]:
        """Series kept per watched metric (forgotten ones not counted once pruned)."""
        return {name: len(watched.state) for name, watched in self._watched.items()}

    def evaluate(self, data: MetricsData | None, now: float) -> list[RuleResult]:
        """One collection: every rule's value per group at ``now``."""
        failed: dict[RuleState, str] = {}
        if data is not None:
            for resource_metrics in data.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    scope = scope_metrics.scope.name
                    for metric in scope_metrics.metrics:
                        watched = self._watched.get(metric.name)
                        if watched is None:
                            continue
                        update = watched.state.update(metric, scope, now)
                        if update is not None:
                            _feed(watched.readers, update, failed)
                        if watched.state.overflowed:
                            self.overflowed.add(metric.name)
        for watched in self._watched.values():
            if watched.state.carrying:
                for update in watched.state.carry(now):
                    _feed(watched.carried, update, failed)
        if self.max_series_per_rule is not None:
            self._warn_refused()
        results = [self._finish(state, failed.get(state), now) for state in self._states]
        self._previous = now
        self._evaluations += 1
        if self._evaluations % _PRUNE_EVERY == 0:
            for watched in self._watched.values():
                watched.state.prune(now - watched.state.horizon)
        return results

    def _warn_refused(self) -> None:
        """One line per rule, the first time it refuses a series."""
        for name, watched in self._watched.items():
            if not any(watched.state.refused):
                continue
            for rule, count in zip(self._slot_rules[name], watched.state.refused):
                if count and rule not in self._warned_limit:
                    self._warned_limit.add(rule)
                    _logger.warning(
                        "otel-alerting: rule %s reads more than %d series of %s; the series past "
                        "that limit cannot alert until others go away (raise %s)",
                        rule,
                        self.max_series_per_rule,
                        name,
                        OTEL_PYTHON_ALERTING_MAX_SERIES_PER_RULE,
                    )

    def _finish(self, state: RuleState, error: str | None, now: float) -> RuleResult:
        if error is None:
            try:
                return RuleResult(state.rule, state.finish(now, self._previous))
            except Exception as exc:
                error = _describe(exc)
        return RuleResult(state.rule, NO_VALUES, error)


def _feed(readers: list[tuple[RuleState, _Sides]], update: MetricUpdate, failed: dict[RuleState, str]) -> None:
    """Hand one update to the rules that read its metric; a rule that cannot read it
    is marked failed for this collection."""
    for state, sides in readers:
        if state in failed:
            continue
        try:
            _observe(state, sides, update)
        except Exception as exc:
            failed[state] = _describe(exc)


def _observe(state: RuleState, sides: _Sides, update: MetricUpdate) -> None:
    """Feed one update to the sides of one rule. A side that cannot read the update
    (a histogram field on a number, a quantile of a counter) fails the rule for this
    collection if it selects any point of it; the rule then takes nothing from it."""
    for slot, role in sides:
        try:
            state.check(role, update)
        except Exception:
            if any(point[0][slot] is not None for point in update.points):
                raise
    for slot, role in sides:
        state.observe(role, slot, update)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"
