"""Routing: which channels hear about an alert, and how its notifications are grouped.

Shaped as Alertmanager's route tree: a route matches labels, names where to send,
how to group and how long to wait; its children are tried in order and the first
match wins unless it has ``continue: true``. Matching sees the alert's labels plus
``severity`` (lower case), so severities route like any label.

Without a ``route:`` in the rules file, the tree is built from severities (the
defaults of DESIGN.md, adjustable per severity with OTEL_PYTHON_ALERTING_ROUTE_<SEVERITY>).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from .. import environment_variables as ev
from ..channel_types import CHANNEL_TYPES, ChannelType, SeverityName, channel_type
from ..config import ConfigError, EnvReader
from ..durations import parse_duration
from ..rules.located import item_line, line_of, located
from ..rules.model import Severity
from .matchers import Matcher

__all__ = [
    "ALL_LABELS",
    "DEFAULT_TIMERS",
    "Route",
    "Timers",
    "default_route",
    "parse_route",
    "routing_labels",
]

#: ``group_by: ["..."]``: every label, i.e. one group per alert (Alertmanager's spelling)
ALL_LABELS = "..."
#: OTEL_PYTHON_ALERTING_ROUTE_<SEVERITY>: the channels of the default route of each severity
ROUTE_VARIABLES: Mapping[Severity, str] = {
    Severity.LOW: ev.OTEL_PYTHON_ALERTING_ROUTE_LOW,
    Severity.MEDIUM: ev.OTEL_PYTHON_ALERTING_ROUTE_MEDIUM,
    Severity.HIGH: ev.OTEL_PYTHON_ALERTING_ROUTE_HIGH,
    Severity.CRITICAL: ev.OTEL_PYTHON_ALERTING_ROUTE_CRITICAL,
}
#: the default routes' timers, each from its variable
TIMER_VARIABLES: Mapping[str, str] = {
    "group_wait": ev.OTEL_PYTHON_ALERTING_GROUP_WAIT,
    "group_interval": ev.OTEL_PYTHON_ALERTING_GROUP_INTERVAL,
    "repeat_interval": ev.OTEL_PYTHON_ALERTING_REPEAT_INTERVAL,
}


@dataclass(frozen=True)
class Timers:
    """Alertmanager's three timers. ``group_wait`` defaults to seconds, not 30 s:
    evaluation is in-process, there is no scrape and no rule interval to wait for."""

    group_wait: float = 2.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0


DEFAULT_TIMERS = Timers()
#: CRITICAL skips the grouping delays and repeats sooner
CRITICAL_TIMERS = Timers(group_wait=0.0, group_interval=0.0, repeat_interval=3600.0)
#: the channels that deliver without group wait (``ChannelType.immediate``) get these
NO_WAIT = Timers(group_wait=0.0, group_interval=0.0, repeat_interval=4 * 3600.0)


@dataclass(frozen=True)
class Route:
    receivers: tuple[str, ...] = ()
    matchers: tuple[Matcher, ...] = ()
    group_by: tuple[str, ...] = ("alertname",)
    timers: Timers = DEFAULT_TIMERS
    continue_: bool = False
    routes: tuple[Route, ...] = ()
    #: position in the tree ("0", "0.1", ...): part of the group key
    path: str = "0"

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def resolve(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes an alert with ``labels`` goes to (depth first, as Alertmanager)."""
        if not self.matches(labels):
            return []
        found: list[Route] = []
        for child in self.routes:
            matched = child.resolve(labels)
            if matched:
                found.extend(matched)
                if not child.continue_:
                    break
        return found or [self]

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        if ALL_LABELS in self.group_by:
            return dict(labels)
        return {name: labels.get(name, "") for name in self.group_by}


def routing_labels(labels: Mapping[str, str], severity: Severity) -> dict[str, str]:
    return {**labels, "severity": severity.name.lower()}


def default_route(configured: Sequence[str], environ: Mapping[str, str]) -> tuple[Route, list[ConfigError]]:
    """One child route per severity, to the configured channels that hear it (each
    channel type declares which: ``channel_types``), or those of
    OTEL_PYTHON_ALERTING_ROUTE_<SEVERITY>."""
    env = EnvReader(environ)
    timers = _timers_from(env)
    children: list[Route] = []
    for severity in sorted(Severity, reverse=True):
        overridden = _overridden(env, severity, configured)
        receivers = _unique(_hearing(severity, configured) if overridden is None else overridden)
        matcher = (Matcher("severity", "=", severity.name.lower()),)
        immediate = tuple(c for c in receivers if _immediate(c))
        grouped = tuple(c for c in receivers if not _immediate(c))
        # one path for all severities: an alert that escalates stays in its group of
        # each channel instead of moving to another one
        children.append(Route(receivers=immediate, matchers=matcher, timers=NO_WAIT, continue_=True, path="0.severity"))
        grouped_timers = CRITICAL_TIMERS if severity is Severity.CRITICAL else timers
        children.append(Route(receivers=grouped, matchers=matcher, timers=grouped_timers, path="0.severity"))
    return Route(routes=tuple(children)), env.errors


def _hearing(severity: Severity, configured: Sequence[str]) -> tuple[str, ...]:
    """The configured channels that hear ``severity`` by default: the built-in types
    that declare it, in their order, then the sinks and the channels of other names
    (custom ones), which hear every severity, in the order configured."""
    if severity is Severity.CRITICAL:
        return tuple(configured)
    name = cast(SeverityName, severity.name.lower())  # pragma: no mutate (equivalent: cast is a no-op at run time)
    declared = tuple(t.name for t in CHANNEL_TYPES if not t.sink and t.hears(name) and t.name in configured)
    return declared + tuple(c for c in configured if _sink(channel_type(c)))


def _sink(kind: ChannelType | None) -> bool:
    return kind is None or kind.sink


def _overridden(env: EnvReader, severity: Severity, configured: Sequence[str]) -> tuple[str, ...] | None:
    """The configured channels among those OTEL_PYTHON_ALERTING_ROUTE_<SEVERITY> names;
    None when it is unset."""
    variable = ROUTE_VARIABLES[severity]
    if env.text(variable) is None:
        return None
    wanted = env.names(variable)
    unknown = [name for name in wanted if name not in configured]
    if unknown:
        env.fail(
            variable,
            f"channel(s) {', '.join(unknown)} not configured (configured: {', '.join(configured) or 'none'})",
        )
    return tuple(name for name in wanted if name in configured)


def _immediate(name: str) -> bool:
    kind = channel_type(name)
    return kind is not None and kind.immediate


def _timers_from(env: EnvReader) -> Timers:
    timers = DEFAULT_TIMERS
    for name, variable in TIMER_VARIABLES.items():
        seconds = env.parsed(variable, parse_duration)
        if seconds is not None:
            timers = replace(timers, **{name: seconds})
    return timers


def _unique(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


# --- the `route:` section of a rules file ------------------------------------

_ROUTE_KEYS = {
    "receiver",
    "receivers",
    "matchers",
    "group_by",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "continue",
    "routes",
}


def parse_route(raw: Any, configured: Sequence[str], source: str) -> tuple[Route | None, list[ConfigError]]:
    """An Alertmanager-shaped route tree; ``receiver`` (or our ``receivers`` list)
    names channels. Children inherit what they do not set, as in Alertmanager."""
    errors: list[ConfigError] = []
    route = _parse(raw, None, configured, _Where(source, "route", None), "0", errors)
    return (route if not errors else None), errors


@dataclass(frozen=True)
class _Where:
    """A route's place in its file, to name it in errors: ``file:line: field``."""

    source: str
    field: str
    #: the line of the route itself (its item in the parent's list)
    line: int | None

    def here(self) -> str:
        """The route itself (a value that is not a mapping has no line of its own)."""
        return located(self.source, self.line, self.field)

    def at(self, raw: Mapping[str, Any], key: str) -> str:
        """Field ``key`` of the route ``raw`` (its own line when read from a file)."""
        return located(self.source, line_of(raw, key), f"{self.field}.{key}")

    def child(self, routes: Any, index: int) -> _Where:
        return _Where(self.source, f"{self.field}.routes[{index}]", item_line(routes, index))


def _parse(
    raw: Any, parent: Route | None, configured: Sequence[str], where: _Where, path: str, errors: list[ConfigError]
) -> Route:
    base = parent or Route()
    if not isinstance(raw, Mapping):
        errors.append(ConfigError(where.here(), "must be a mapping"))
        return base
    _check_keys(raw, where, errors)
    route = Route(
        receivers=_receivers(raw, base.receivers, configured, where, errors),
        matchers=_matchers(raw, where, errors),
        group_by=_group_by(raw, base.group_by, where, errors),
        timers=_timers(raw, base.timers, where, errors),
        continue_=bool(raw.get("continue")),
        path=path,
    )
    children = raw.get("routes") or []
    if not isinstance(children, list):
        errors.append(ConfigError(where.at(raw, "routes"), "must be a list of routes"))
        children = []
    parsed = tuple(
        _parse(child, route, configured, where.child(children, i), f"{path}.{i}", errors)
        for i, child in enumerate(children)
    )
    return replace(route, routes=parsed)


def _check_keys(raw: Mapping[str, Any], where: _Where, errors: list[ConfigError]) -> None:
    for key in raw:
        if key not in _ROUTE_KEYS:
            errors.append(
                ConfigError(where.at(raw, key), f"unknown field (expected one of {', '.join(sorted(_ROUTE_KEYS))})")
            )


def _receivers(
    raw: Mapping[str, Any],
    inherited: tuple[str, ...],
    configured: Sequence[str],
    where: _Where,
    errors: list[ConfigError],
) -> tuple[str, ...]:
    """``receiver: name`` or ``receivers: [names]`` (which wins when both are set)."""
    key = "receivers" if "receivers" in raw else "receiver"
    if key not in raw:
        return inherited
    value = raw[key]
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        errors.append(ConfigError(where.at(raw, key), "must be a channel name or a list of them"))
        return ()
    for name in names:
        if name not in configured:
            errors.append(
                ConfigError(
                    where.at(raw, key),
                    f"channel {name!r} is not configured (configured: {', '.join(configured) or 'none'})",
                )
            )
    return tuple(n for n in names if n in configured)


def _matchers(raw: Mapping[str, Any], where: _Where, errors: list[ConfigError]) -> tuple[Matcher, ...]:
    matchers: list[Matcher] = []
    if not isinstance(raw.get("matchers") or [], list):
        errors.append(ConfigError(where.at(raw, "matchers"), "must be a list of matchers"))
        return ()
    for text in raw.get("matchers") or []:
        try:
            matchers.append(Matcher.parse(str(text)))
        except ValueError as exc:
            errors.append(ConfigError(where.at(raw, "matchers"), str(exc)))
    return tuple(matchers)


def _group_by(
    raw: Mapping[str, Any], inherited: tuple[str, ...], where: _Where, errors: list[ConfigError]
) -> tuple[str, ...]:
    if "group_by" not in raw:
        return inherited
    value = raw["group_by"]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    errors.append(ConfigError(where.at(raw, "group_by"), 'must be a list of label names (or ["..."])'))
    return inherited


def _timers(raw: Mapping[str, Any], inherited: Timers, where: _Where, errors: list[ConfigError]) -> Timers:
    timers = inherited
    for name in ("group_wait", "group_interval", "repeat_interval"):
        if name in raw:
            try:
                timers = replace(timers, **{name: parse_duration(raw[name])})
            except ValueError as exc:
                errors.append(ConfigError(where.at(raw, name), str(exc)))
    return timers
