"""The route tree: ``parse_route`` (the ``route:`` section of a rules file) and ``Route``."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from otel_alerting.notify.matchers import Matcher
from otel_alerting.notify.routing import (
    ALL_LABELS,
    CRITICAL_TIMERS,
    DEFAULT_TIMERS,
    NO_WAIT,
    Route,
    Timers,
    default_route,
    parse_route,
    routing_labels,
)
from otel_alerting.rules.loader import load_yaml
from otel_alerting.rules.model import Severity

CONFIGURED = ("slack", "email", "log")
_DURATION_HINT = "(expected e.g. 30s, 5m, 1h or seconds)"


def yaml_route(text: str) -> Any:
    """The ``route:`` of a YAML document, with the line numbers the loader keeps."""
    return load_yaml(textwrap.dedent(text))["route"]


def errors_of(raw: Any, configured: tuple[str, ...] = CONFIGURED) -> list[str]:
    route, errors = parse_route(raw, configured, "rules.yaml")
    assert route is None  # any error: no route at all
    return [str(e) for e in errors]


def test_a_tree_with_inheritance() -> None:
    route, errors = parse_route(
        {
            "receiver": "log",
            "group_by": ["queue"],
            "group_wait": "5s",
            "routes": [
                {"matchers": ['severity="critical"', "team=~a|b"], "receivers": ["slack", "email"], "continue": True},
                {
                    "group_by": ["..."],
                    "repeat_interval": "1h",
                    "group_interval": "1m",
                    "routes": [{"receiver": "slack"}],
                },
            ],
        },
        CONFIGURED,
        "rules.yaml",
    )
    assert errors == []
    assert route == Route(
        receivers=("log",),
        group_by=("queue",),
        timers=Timers(group_wait=5.0),
        path="0",
        routes=(
            Route(
                receivers=("slack", "email"),
                matchers=(Matcher("severity", "=", "critical"), Matcher("team", "=~", "a|b")),
                group_by=("queue",),
                timers=Timers(group_wait=5.0),
                continue_=True,
                path="0.0",
            ),
            Route(
                receivers=("log",),
                group_by=(ALL_LABELS,),
                timers=Timers(group_wait=5.0, group_interval=60.0, repeat_interval=3600.0),
                path="0.1",
                routes=(
                    Route(
                        receivers=("slack",),
                        group_by=(ALL_LABELS,),
                        timers=Timers(group_wait=5.0, group_interval=60.0, repeat_interval=3600.0),
                        path="0.1.0",
                    ),
                ),
            ),
        ),
    )


def test_the_root_defaults() -> None:
    route, errors = parse_route({}, CONFIGURED, "rules.yaml")
    assert errors == []
    assert route == Route(receivers=(), group_by=("alertname",), timers=DEFAULT_TIMERS, continue_=False, path="0")
    route, errors = parse_route({"routes": None, "matchers": None}, CONFIGURED, "rules.yaml")
    assert (route, errors) == (Route(), [])


def test_receivers_wins_over_receiver_and_drops_what_is_not_configured() -> None:
    route, errors = parse_route({"receiver": "log", "receivers": ["slack"]}, CONFIGURED, "x")
    assert route is not None
    assert (route.receivers, errors) == (("slack",), [])


def test_errors_name_file_line_and_field() -> None:
    raw = yaml_route(
        """
        route:
          receiver: pager
          colour: red
          group_by: queue
          group_wait: soon
          matchers: ['severity=="x"']
          routes:
            - not a route
            - receivers: [slack, 3]
              routes: {receiver: slack}
        """
    )
    assert errors_of(raw) == [
        "rules.yaml:4: route.colour: unknown field (expected one of continue, group_by, group_interval, "
        "group_wait, matchers, receiver, receivers, repeat_interval, routes)",
        "rules.yaml:3: route.receiver: channel 'pager' is not configured (configured: slack, email, log)",
        "rules.yaml:7: route.matchers: " + _matcher_error('severity=="x"'),
        'rules.yaml:5: route.group_by: must be a list of label names (or ["..."])',
        "rules.yaml:6: route.group_wait: invalid duration 'soon' (expected e.g. 30s, 5m, 1h or seconds)",
        "rules.yaml:9: route.routes[0]: must be a mapping",
        "rules.yaml:10: route.routes[1].receivers: must be a channel name or a list of them",
        "rules.yaml:11: route.routes[1].routes: must be a list of routes",
    ]


def _matcher_error(text: str) -> str:
    with pytest.raises(ValueError) as info:
        Matcher.parse(text)
    return str(info.value)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("slack", "rules.yaml: route: must be a mapping"),
        (["slack"], "rules.yaml: route: must be a mapping"),
        ({"routes": "slack"}, "rules.yaml: route.routes: must be a list of routes"),
        ({"routes": {"receiver": "slack"}}, "rules.yaml: route.routes: must be a list of routes"),
        ({"routes": ["slack"]}, "rules.yaml: route.routes[0]: must be a mapping"),
        ({"group_by": "queue"}, 'rules.yaml: route.group_by: must be a list of label names (or ["..."])'),
        ({"group_by": ["queue", 1]}, 'rules.yaml: route.group_by: must be a list of label names (or ["..."])'),
        ({"receiver": 3}, "rules.yaml: route.receiver: must be a channel name or a list of them"),
        ({"receivers": ["slack", None]}, "rules.yaml: route.receivers: must be a channel name or a list of them"),
        ({"repeat_interval": "-1s"}, "rules.yaml: route.repeat_interval: invalid duration '-1s' " + _DURATION_HINT),
        ({"group_interval": "x"}, "rules.yaml: route.group_interval: invalid duration 'x' " + _DURATION_HINT),
    ],
)
def test_each_malformed_part_is_an_error(raw: Any, error: str) -> None:
    assert errors_of(raw) == [error]


def test_a_receiver_when_no_channel_is_configured() -> None:
    assert errors_of({"receiver": "slack"}, ()) == [
        "rules.yaml: route.receiver: channel 'slack' is not configured (configured: none)"
    ]


def test_an_error_in_a_child_keeps_its_place_in_the_tree() -> None:
    raw = yaml_route(
        """
        route:
          routes:
            - receiver: slack
            - routes:
                - group_by: nope
        """
    )
    assert errors_of(raw) == [
        'rules.yaml:6: route.routes[1].routes[0].group_by: must be a list of label names (or ["..."])'
    ]


# --- Route ------------------------------------------------------------------------------


def _tree() -> Route:
    return Route(
        receivers=("log",),
        routes=(
            Route(receivers=("email",), matchers=(Matcher("team", "=", "db"),), continue_=True, path="0.0"),
            Route(receivers=("slack",), matchers=(Matcher("severity", "=", "critical"),), path="0.1"),
            Route(receivers=("webhook",), matchers=(Matcher("severity", "=~", ".+"),), path="0.2"),
        ),
    )


@pytest.mark.parametrize(
    ("labels", "paths"),
    [
        ({"team": "db", "severity": "critical"}, ["0.0", "0.1"]),  # continue: the next match too
        ({"team": "web", "severity": "critical"}, ["0.1"]),  # the first match wins
        ({"team": "web", "severity": "low"}, ["0.2"]),
        ({"team": "db"}, ["0.0"]),
        ({}, ["0"]),  # no child matches: the route itself
    ],
)
def test_resolve_is_depth_first_and_stops_at_the_first_match(labels: dict[str, str], paths: list[str]) -> None:
    assert [r.path for r in _tree().resolve(labels)] == paths


def test_a_route_that_does_not_match_resolves_to_nothing() -> None:
    route = Route(matchers=(Matcher("team", "=", "db"),), routes=(Route(path="0.0"),))
    assert route.resolve({"team": "web"}) == []
    assert route.matches({"team": "db"})
    assert not route.matches({})


def test_group_labels() -> None:
    labels = {"alertname": "A", "queue": "ingest", "host": "h1"}
    assert Route(group_by=("queue", "cache")).group_labels(labels) == {"queue": "ingest", "cache": ""}
    assert Route(group_by=(ALL_LABELS,)).group_labels(labels) == labels
    assert Route().group_labels(labels) == {"alertname": "A"}


def test_routing_labels_add_the_severity_in_lower_case() -> None:
    labels = {"queue": "ingest"}
    assert routing_labels(labels, Severity.CRITICAL) == {"queue": "ingest", "severity": "critical"}
    assert labels == {"queue": "ingest"}


# --- the default tree (no `route:` in the rules file) ----------------------------------


def test_the_default_tree_one_pair_of_routes_per_severity_from_critical_down() -> None:
    route, errors = default_route(("console", "slack"), {})
    assert errors == []

    def pair(severity: str, immediate: tuple[str, ...], grouped: tuple[str, ...], timers: Timers) -> list[Route]:
        matchers = (Matcher("severity", "=", severity),)
        # one path for every severity: an alert that escalates stays in its group of each channel
        return [
            Route(receivers=immediate, matchers=matchers, timers=NO_WAIT, continue_=True, path="0.severity"),
            Route(receivers=grouped, matchers=matchers, timers=timers, path="0.severity"),
        ]

    assert route == Route(
        receivers=(),
        path="0",
        routes=(
            *pair("critical", ("console",), ("slack",), CRITICAL_TIMERS),
            *pair("high", ("console",), ("slack",), DEFAULT_TIMERS),
            *pair("medium", ("console",), ("slack",), DEFAULT_TIMERS),
            *pair("low", ("console",), (), DEFAULT_TIMERS),
        ),
    )


def test_a_severity_route_naming_channels_that_are_not_configured() -> None:
    _, errors = default_route((), {"OTEL_PYTHON_ALERTING_ROUTE_HIGH": "sms, pager"})
    assert [str(e) for e in errors] == [
        "OTEL_PYTHON_ALERTING_ROUTE_HIGH: channel(s) sms, pager not configured (configured: none)"
    ]
