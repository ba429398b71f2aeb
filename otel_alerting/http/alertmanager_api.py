"""Alertmanager's API v2 over the process's alerts and silences, so that ``amtool``
and Grafana's Alertmanager data source work unchanged: the paths and JSON shapes
of Alertmanager's ``api/v2/openapi.yaml``.

Silences go into the system's ``SilenceStore``, the one the notification pipeline
asks, so one made here mutes at the next delivery. Writes (POST, DELETE) need
``may_write`` (the renderer's token and serving rules) and a JSON body; errors are
JSON strings, as the spec's ``BadRequest`` is.
"""

from __future__ import annotations

import json
import platform
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import psutil
import yaml

from .. import environment_variables as ev
from ..notify.matchers import Matcher
from ..notify.routing import Route
from ..version import __version__
from .alertmanager_alerts import AlertFilter, alert_groups, gettable_alerts
from .alertmanager_shapes import parse_postable_silence, silence_json, timestamp
from .responses import Response, json_response

if TYPE_CHECKING:
    from ..system import AlertingSystem

__all__ = ["API_PREFIX", "Request", "answer_api"]

API_PREFIX = "/api/v2/"
_FLAGS = ("active", "silenced", "inhibited", "unprocessed")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


class _Refused(Exception):
    """An answer other than 200, with its message (never a secret)."""

    def __init__(self, status: int, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def answer_api(
    request: Request, system: AlertingSystem | None, may_write: Callable[[Mapping[str, str]], bool]
) -> Response:
    try:
        if system is None:
            raise _Refused(503, "otel-alerting is not running in this process")
        return json_response(200, _answer(request, system, may_write))
    except _Refused as refused:
        answer = json_response(refused.status, refused.message)
        return Response(answer.status, answer.body, answer.headers + tuple(refused.headers.items()))


def _answer(request: Request, system: AlertingSystem, may_write: Callable[[Mapping[str, str]], bool]) -> object:
    resource = request.path[len(API_PREFIX) :]
    query = parse_qs(request.query, keep_blank_values=True)
    now = time.time()
    if resource.startswith("silence/"):
        silence_id = resource[len("silence/") :]
        if _allowed(request, ("GET", "DELETE"), may_write) == "GET":
            return _silence(system, silence_id, now)
        _expire(system, silence_id, now)
        return None
    if resource == "silences":
        if _allowed(request, ("GET", "POST"), may_write) == "GET":
            return _silences(system, query, now)
        return _post_silence(system, request, now)
    reads: dict[str, Callable[[], object]] = {
        "alerts": lambda: gettable_alerts(system, now, _alert_filter(query)),
        "alerts/groups": lambda: alert_groups(system, gettable_alerts(system, now, _alert_filter(query))),
        "status": lambda: _status(system),
        "receivers": lambda: [{"name": c.name} for c in system.dispatcher.channels],
    }
    if resource not in reads:
        raise _Refused(404, "not found")
    _allowed(request, ("GET",), may_write)
    return reads[resource]()


def _allowed(request: Request, methods: tuple[str, ...], may_write: Callable[[Mapping[str, str]], bool]) -> str:
    """``request``'s method when it is one of ``methods`` and, for a write, allowed."""
    method = "GET" if request.method == "HEAD" else request.method
    if method not in methods:
        raise _Refused(405, f"{request.method} is not allowed here", Allow=", ".join(methods))
    if method != "GET" and not may_write(request.headers):
        raise _Refused(
            401,
            f"writes need Authorization: Bearer <{ev.OTEL_PYTHON_ALERTING_HTTP_TOKEN}> "
            "(without a token: a standalone server on loopback, or an app made with allow_writes=True)",
            **{"WWW-Authenticate": "Bearer"},
        )
    return method


def _flag(query: Mapping[str, list[str]], name: str) -> bool:
    values = query.get(name)
    if not values:
        return True
    text = values[-1].strip().lower()
    if text not in ("true", "false", "1", "0"):
        raise _Refused(400, f"{name} must be true or false")
    return text in ("true", "1")


def _matchers(query: Mapping[str, list[str]]) -> tuple[Matcher, ...]:
    texts = [t for value in query.get("filter", []) for t in _split_braces(value)]
    try:
        return tuple(Matcher.parse(t) for t in texts)
    except ValueError as exc:
        raise _Refused(400, str(exc)) from None


def _split_braces(value: str) -> list[str]:
    """``{a="1",b="2"}`` (one filter holding several) or ``a="1"``."""
    text = value.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return [text] if text else []
    return [part for part in re.findall(r'(?:[^,"]|"(?:[^"\\]|\\.)*")+', text[1:-1]) if part.strip()]


def _alert_filter(query: Mapping[str, list[str]]) -> AlertFilter:
    receiver = query.get("receiver", [""])[-1]
    try:
        pattern = re.compile(receiver) if receiver else None
    except re.error:
        raise _Refused(400, "receiver is not a valid regular expression") from None
    flags = {name: _flag(query, name) for name in _FLAGS}
    return AlertFilter(matchers=_matchers(query), receiver=pattern, **flags)


def _silences(system: AlertingSystem, query: Mapping[str, list[str]], now: float) -> list[dict[str, Any]]:
    """Silences whose equality matchers satisfy every ``filter`` (Alertmanager's rule)."""
    wanted = _matchers(query)
    found = []
    for silence in system.silences.list(now):
        labels = {m.name: m.value for m in silence.matchers if m.op == "="}
        if all(m.matches(labels) for m in wanted):
            found.append(silence_json(silence, now))
    return found


def _silence(system: AlertingSystem, silence_id: str, now: float) -> dict[str, Any]:
    silence = system.silences.get(silence_id)
    if silence is None:
        raise _Refused(404, "silence not found")
    return silence_json(silence, now)


def _expire(system: AlertingSystem, silence_id: str, now: float) -> None:
    try:
        system.silences.expire(silence_id, now)
    except KeyError:
        raise _Refused(404, "silence not found") from None


def _post_silence(system: AlertingSystem, request: Request, now: float) -> dict[str, str]:
    # a browser cannot send application/json to another origin without asking first
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise _Refused(415, "the body must be application/json")
    try:
        posted = parse_postable_silence(json.loads(request.body))
        if posted.ends_at <= now:
            raise ValueError("endsAt is in the past")
        starts_at, store = max(posted.starts_at, now), system.silences
        if posted.id is None:
            silence = store.add(
                posted.matchers,
                starts_at=starts_at,
                ends_at=posted.ends_at,
                comment=posted.comment,
                created_by=posted.created_by,
                now=now,
            )
        else:
            silence = store.update(
                posted.id,
                posted.matchers,
                starts_at=starts_at,
                ends_at=posted.ends_at,
                comment=posted.comment,
                created_by=posted.created_by,
                now=now,
            )
        return {"silenceID": silence.id}
    except KeyError:
        raise _Refused(404, "silence not found") from None
    except (ValueError, UnicodeDecodeError) as exc:
        # json's messages name a position in the body, never its content
        raise _Refused(400, str(exc) or "invalid silence") from None


def _status(system: AlertingSystem) -> dict[str, Any]:
    return {
        "cluster": {"status": "disabled", "peers": []},
        "versionInfo": {
            "version": __version__,
            "revision": "",
            "branch": "",
            "buildUser": "otel-alerting",
            "buildDate": "",
            "goVersion": f"python{platform.python_version()}",
        },
        "config": {"original": _config_yaml(system)},
        "uptime": timestamp(psutil.Process().create_time()),
    }


def _config_yaml(system: AlertingSystem) -> str:
    """The routes and receivers in Alertmanager's configuration terms (names only:
    a channel's settings, secrets among them, are not shown)."""
    config = {
        "route": _route_yaml(system.pipeline.route),
        "receivers": [{"name": c.name} for c in system.dispatcher.channels],
        "inhibit_rules": [
            {
                "source_matchers": [str(m) for m in rule.source_matchers],
                "target_matchers": [str(m) for m in rule.target_matchers],
                "equal": list(rule.equal),
            }
            for rule in system.pipeline.inhibitor.rules
        ],
    }
    return str(yaml.safe_dump(config, sort_keys=False))


def _route_yaml(route: Route) -> dict[str, Any]:
    # a route of this engine may name several receivers: listed under ``receivers``
    out: dict[str, Any] = {"receivers": list(route.receivers)}
    if route.matchers:
        out["matchers"] = [str(m) for m in route.matchers]
    out["group_by"] = list(route.group_by)
    out["group_wait"] = f"{route.timers.group_wait:g}s"
    out["group_interval"] = f"{route.timers.group_interval:g}s"
    out["repeat_interval"] = f"{route.timers.repeat_interval:g}s"
    if route.continue_:
        out["continue"] = True
    if route.routes:
        out["routes"] = [_route_yaml(child) for child in route.routes]
    return out
