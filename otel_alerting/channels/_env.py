"""Reading one channel's variables: each value with its legacy alias, each error named.

The channel loaders (``load_email_config`` and the others) build on this so that
every channel reports the same kind of error: the variable that holds the bad value
(the ``ALERT_*`` alias when that is where the value came from), the value itself
unless it is a secret, and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from ..config import ConfigError, env_value
from ..durations import positive_duration
from ..secrets import Secret

__all__ = ["EnvReader", "positive_seconds"]

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def positive_seconds(
    raw: str | None, variable: str, default: float, example: str = "10s"
) -> tuple[float, list[ConfigError]]:
    """``raw`` as a positive number of seconds (``10s``, ``500ms`` or seconds), or
    ``default`` when unset. Zero, a negative, ``inf``, ``nan`` or no duration at all
    gives ``default`` and an error naming ``variable`` and the value; ``example`` ends
    the error, so that each caller keeps the wording it has always shown."""
    if raw is None:
        return default, []
    seconds = positive_duration(raw)
    if seconds is None:
        return default, [
            ConfigError(variable, f"invalid value {raw!r}: expected a positive duration such as {example}")
        ]
    return seconds, []


class EnvReader:
    """Typed reads of one mapping of variables; bad values go to ``errors``."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.errors: list[ConfigError] = []

    def fail(self, variable: str, message: str) -> None:
        self.errors.append(ConfigError(variable, message))

    def _invalid(self, variable: str, value: str, expected: str) -> None:
        self.fail(variable, f"invalid value {value!r}: expected {expected}")

    def text(self, name: str, alias: str | None = None) -> str | None:
        return env_value(self.environ, name, alias)[0]

    def source(self, name: str, alias: str | None = None) -> str:
        """The variable a value is read from (``alias`` when only the alias is set)."""
        return env_value(self.environ, name, alias)[1]

    def flag(self, name: str, alias: str | None = None) -> bool | None:
        """True, False, or None when unset (or invalid, which is reported)."""
        value, variable = env_value(self.environ, name, alias)
        if value is None:
            return None
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self._invalid(variable, value, "true or false")
        return None

    def seconds(self, name: str, default: float, alias: str | None = None) -> float:
        """A positive duration (``10s``, ``500ms`` or seconds): see ``positive_seconds``."""
        value, variable = env_value(self.environ, name, alias)
        seconds, errors = positive_seconds(value, variable, default, "10s, 500ms or a number of seconds")
        self.errors += errors
        return seconds

    def port(self, name: str, alias: str | None = None) -> int | None:
        value, variable = env_value(self.environ, name, alias)
        if value is None:
            return None
        if not value.isdigit() or not 0 < int(value) < 65536:
            self._invalid(variable, value, "a port number from 1 to 65535")
            return None
        return int(value)

    def choice(self, name: str, default: str, choices: tuple[str, ...], alias: str | None = None) -> str:
        value, variable = env_value(self.environ, name, alias)
        if value is None:
            return default
        if value.lower() not in choices:
            self._invalid(variable, value, " or ".join(choices))
            return default
        return value.lower()

    def secret(self, name: str, alias: str | None = None) -> Secret | None:
        value = env_value(self.environ, name, alias)[0]
        return Secret(value) if value is not None else None

    def url(self, name: str, alias: str | None = None, *, secret: bool = False) -> str | None:
        """An ``http(s)`` URL with a host. A secret URL (a webhook whose path is its
        token) is never echoed in the error."""
        value, variable = env_value(self.environ, name, alias)
        if value is None:
            return None
        shown = "the value (not shown: it is a secret)" if secret else repr(value)
        try:
            parts = urlsplit(value)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            ok = False
        if not ok or any(c.isspace() or ord(c) < 32 for c in value):
            self.fail(variable, f"invalid value {shown}: expected an http:// or https:// URL with a host")
            return None
        return value
