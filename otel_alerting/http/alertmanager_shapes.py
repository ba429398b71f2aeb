"""The JSON shapes of Alertmanager's API v2 (its ``api/v2/openapi.yaml``): times,
matchers and silences in and out. Pure functions; the alerts' shape is built in
``alertmanager_alerts``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..notify.matchers import Matcher
from ..notify.silences import Silence

__all__ = [
    "PostableSilence",
    "matcher_from_json",
    "matcher_json",
    "parse_postable_silence",
    "parse_time",
    "silence_json",
    "timestamp",
]

_OPS = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}
# Go sends up to nine fractional digits; Python reads up to six
_FRACTION = re.compile(r"(\.\d{6})\d+")


def timestamp(seconds: float) -> str:
    """RFC 3339 in UTC with milliseconds, as Alertmanager writes times."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: object, field: str) -> float:
    """Seconds since the epoch of an RFC 3339 time; ValueError naming ``field``."""
    if not isinstance(text, str):
        raise ValueError(f"{field} must be an RFC 3339 time")
    try:
        moment = datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip()).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{field} needs a time zone")
    return moment.timestamp()


def matcher_json(matcher: Matcher) -> dict[str, Any]:
    return {
        "name": matcher.name,
        "value": matcher.value,
        "isRegex": matcher.op in ("=~", "!~"),
        "isEqual": matcher.op in ("=", "=~"),
    }


def matcher_from_json(raw: object) -> Matcher:
    """A ``matcher`` object (``isEqual`` defaults to true, as in the spec)."""
    if not isinstance(raw, Mapping):
        raise ValueError("each matcher must be an object with name, value and isRegex")
    name, value = raw.get("name"), raw.get("value")
    is_regex, is_equal = raw.get("isRegex", False), raw.get("isEqual", True)
    if not isinstance(name, str) or not name or not isinstance(value, str):
        raise ValueError("a matcher needs a name and a value (strings)")
    if not isinstance(is_regex, bool) or not isinstance(is_equal, bool):
        raise ValueError("a matcher's isRegex and isEqual must be booleans")
    try:
        return Matcher(name, _OPS[(is_regex, is_equal)], value)  # type: ignore[arg-type]
    except re.error as exc:
        raise ValueError(f"invalid regular expression in matcher {name}: {exc}") from None


def silence_json(silence: Silence, now: float) -> dict[str, Any]:
    """A ``gettableSilence``."""
    updated = silence.updated_at if silence.updated_at is not None else silence.starts_at
    return {
        "id": silence.id,
        "status": {"state": silence.state(now)},
        "updatedAt": timestamp(updated),
        "matchers": [matcher_json(m) for m in silence.matchers],
        "startsAt": timestamp(silence.starts_at),
        "endsAt": timestamp(silence.ends_at),
        "createdBy": silence.created_by,
        "comment": silence.comment,
    }


@dataclass(frozen=True)
class PostableSilence:
    id: str | None
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str


def parse_postable_silence(document: object) -> PostableSilence:
    """A ``postableSilence``; ValueError saying what is wrong."""
    if not isinstance(document, Mapping):
        raise ValueError("the body must be a silence object")
    matchers = document.get("matchers")
    if not isinstance(matchers, list) or not matchers:
        raise ValueError("matchers must be a list of at least one matcher")
    silence_id, created_by, comment = (document.get(k) for k in ("id", "createdBy", "comment"))
    if silence_id is not None and not isinstance(silence_id, str):
        raise ValueError("id must be a string")
    if not isinstance(created_by, str) or not isinstance(comment, str):
        raise ValueError("createdBy and comment must be strings")
    return PostableSilence(
        silence_id or None,
        tuple(matcher_from_json(m) for m in matchers),
        parse_time(document.get("startsAt"), "startsAt"),
        parse_time(document.get("endsAt"), "endsAt"),
        created_by,
        comment,
    )
