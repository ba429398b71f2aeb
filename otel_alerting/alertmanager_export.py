"""The notification side of an export: an ``alertmanager.yml``.

The route tree is ours (``notify/routing.py``, the default one by severity or the rules
file's ``route:``) with label names as Prometheus writes them. A route of ours with
several channels becomes child routes with ``continue: true``, one per receiver, since an
Alertmanager route has one. Receivers are named after the channels and carry placeholder
configurations to fill in. ``inhibit_rules`` hold the ladders (a higher severity of an
alert mutes its lower ones, per ``by`` group) and the configured inhibitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .channel_types import channel_type
from .notify.matchers import InhibitRule, Matcher
from .notify.routing import ALL_LABELS, Route, Timers
from .rules.model import Rule
from .rules.prometheus_names import label_name
from .rules.promql import duration

__all__ = ["NO_RECEIVER", "alertmanager_config", "ladder_inhibitions", "render_alertmanager"]

#: the root's receiver: what no route sends anywhere is dropped
NO_RECEIVER = "none"

#: placeholder configurations by channel type; every value marked FILL-IN is the user's
_PLACEHOLDERS: Mapping[str, dict[str, Any]] = {
    "slack": {"slack_configs": [{"api_url": "https://hooks.slack.com/services/FILL-IN", "send_resolved": True}]},
    "mattermost": {
        "slack_configs": [{"api_url": "https://mattermost.example.com/hooks/FILL-IN", "send_resolved": True}]
    },
    "email": {
        "email_configs": [
            {"to": "oncall@example.com", "from": "alertmanager@example.com", "smarthost": "smtp.example.com:587"}
        ]
    },
    "pagerduty": {"pagerduty_configs": [{"routing_key": "FILL-IN"}]},
}
_WEBHOOK: Mapping[str, Any] = {"webhook_configs": [{"url": "http://127.0.0.1:9/FILL-IN", "send_resolved": True}]}


def alertmanager_config(
    route: Route,
    channels: Sequence[str],
    inhibit_rules: Sequence[InhibitRule],
    rules: Iterable[Rule],
    by: Sequence[str] = (),
) -> dict[str, Any]:
    """The configuration as data (receivers without their comments). ``by``: the labels
    the rule export added to every aggregation (``job``, ``instance``); an inhibition
    then acts within one process only."""
    return {
        "route": {"receiver": NO_RECEIVER, **_route(route, root=True)},
        "receivers": [{"name": NO_RECEIVER}, *({"name": name, **placeholder(name)} for name in channels)],
        "inhibit_rules": [*ladder_inhibitions(rules, by), *(_inhibition(rule, by) for rule in inhibit_rules)],
    }


def placeholder(channel: str) -> dict[str, Any]:
    kind = channel_type(channel)
    return dict(_PLACEHOLDERS.get(kind.name if kind else "", _WEBHOOK))


def _route(route: Route, *, root: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if route.matchers:
        out["matchers"] = [_matcher(m) for m in route.matchers]
    out["group_by"] = [g if g == ALL_LABELS else label_name(g) for g in route.group_by]
    out.update(_timers(route.timers))
    children = [_route(child) for child in route.routes]
    if len(route.receivers) == 1:
        out["receiver"] = route.receivers[0]
    elif route.receivers:
        children = [{"receiver": name, "continue": True} for name in route.receivers] + children
    elif not root and not route.routes:
        out["receiver"] = NO_RECEIVER
    if route.continue_:
        out["continue"] = True
    if children:
        out["routes"] = children
    return out


def _timers(timers: Timers) -> dict[str, str]:
    # Alertmanager refuses a zero group_interval or repeat_interval; ours sends at once
    return {
        "group_wait": duration(timers.group_wait) if timers.group_wait else "0s",
        "group_interval": duration(max(timers.group_interval, 1.0)),
        "repeat_interval": duration(max(timers.repeat_interval, 1.0)),
    }


def _matcher(matcher: Matcher) -> str:
    return str(Matcher(label_name(matcher.name), matcher.op, matcher.value))


def ladder_inhibitions(rules: Iterable[Rule], by: Sequence[str] = ()) -> list[dict[str, Any]]:
    """For each level above the lowest: it mutes the lower levels of the same alert."""
    out = []
    for rule in rules:
        levels = [severity.name.lower() for severity, _ in rule.thresholds]
        for index in range(1, len(levels)):
            out.append(
                {
                    "source_matchers": [f'alertname="{rule.alert}"', f'severity="{levels[index]}"'],
                    "target_matchers": [f'alertname="{rule.alert}"', f'severity=~"{"|".join(levels[:index])}"'],
                    "equal": _with(["alertname", *(label_name(b) for b in rule.by)], by),
                }
            )
    return out


def _inhibition(rule: InhibitRule, by: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "source_matchers": [_matcher(m) for m in rule.source_matchers],
        "target_matchers": [_matcher(m) for m in rule.target_matchers],
    }
    equal = _with([label_name(name) for name in rule.equal], by)
    if equal:
        out["equal"] = equal
    return out


def _with(labels: list[str], extra: Sequence[str]) -> list[str]:
    return [*labels, *(label for label in extra if label not in labels)]


def render_alertmanager(config: Mapping[str, Any], header: Sequence[str] = ()) -> str:
    """The YAML, with a comment before each receiver saying what to fill in."""
    import yaml  # only the export needs a YAML writer

    def dump(data: Any) -> str:
        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000))

    parts = [*(f"# {line}\n" for line in header), dump({"route": config["route"]}), "receivers:\n"]
    for receiver in config["receivers"]:
        parts.append(_receiver_comment(receiver["name"]))
        parts.append(_indent(dump([receiver])))
    parts.append(
        "# A higher severity of an alert mutes its lower ones (per alert and group), then the\n"
        "# inhibitions of the rules file and the built-in pack.\n"
    )
    parts.append(dump({"inhibit_rules": config["inhibit_rules"]}))
    return "".join(parts)


def _receiver_comment(name: str) -> str:
    if name == NO_RECEIVER:
        return "# Alerts that no route sends anywhere.\n"
    kind = channel_type(name)
    note = (
        ""
        if kind is None or kind.name in _PLACEHOLDERS or kind.name == "webhook"
        else (f" Alertmanager has no {kind.name} integration: point this at a webhook receiver.")
    )
    return f"# Channel {name}: a placeholder, replace every FILL-IN and example value.{note}\n"


def _indent(text: str) -> str:
    return "".join(f"  {line}" if line.strip() else line for line in text.splitlines(keepends=True))
