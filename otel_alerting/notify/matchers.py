"""Label matchers and inhibition rules, shaped as Alertmanager's configuration.

Matchers select alerts for routes, silences and inhibition; the notification
pipeline applies inhibition rules (an alert matching ``target_matchers`` is muted
while one matching ``source_matchers`` fires with the same values of the ``equal``
labels).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["InhibitRule", "Matcher"]

Op = Literal["=", "!=", "=~", "!~"]
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"\s=~!][^"\s]*)?)\s*$')


@dataclass(frozen=True)
class Matcher:
    """``name op value``; regular expressions are anchored, as in Alertmanager."""

    name: str
    op: Op
    value: str
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op in ("=~", "!~"):
            re.compile(self.value)  # so that an error's position is in the user's text
            object.__setattr__(self, "_pattern", re.compile(f"^(?:{self.value})$"))

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """``alertname="X"``, ``severity=~"high|critical"``, ``team!=db``."""
        match = _MATCHER.match(text)
        if match is None:
            raise ValueError(f'invalid matcher {text!r} (expected name="value", !=, =~ or !~)')
        name, op, quoted, bare = match.groups()
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (bare or "")
        try:
            return cls(name, op, value)  # type: ignore[arg-type]
        except re.error as exc:
            raise ValueError(f"invalid regular expression in matcher {text!r}: {exc}") from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._pattern is not None
        found = self._pattern.match(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


@dataclass(frozen=True)
class InhibitRule:
    source_matchers: Sequence[Matcher]
    target_matchers: Sequence[Matcher]
    equal: Sequence[str] = ()

    def is_source(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.source_matchers)

    def is_target(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.target_matchers)

    def inhibits(self, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
        """True when a firing ``source`` alert mutes ``target``. An alert never
        inhibits itself (Alertmanager's rule for alerts matching both sides)."""
        if source is target or dict(source) == dict(target):
            return False
        return (
            self.is_source(source)
            and self.is_target(target)
            and all(source.get(name, "") == target.get(name, "") for name in self.equal)
        )
