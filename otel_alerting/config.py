"""Settings from the environment: one function, one frozen value, every error named.

A bad value never raises here: it is reported as a ``ConfigError`` naming the
variable and the value, and the setting falls back to its default (or the part it
configures is disabled), unless strict mode turns errors into a stop.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from . import environment_variables as ev
from .durations import parse_duration

__all__ = ["KNOWN_CHANNELS", "ConfigError", "Settings", "env_value", "load_settings", "plugin_enabled"]

KNOWN_CHANNELS = (
    "log",
    "console",
    "email",
    "slack",
    "mattermost",
    "webhook",
    "pagerduty",
    "alertmanager",
    "otel_logs",
)
Mode = Literal["reader", "export"]


@dataclass(frozen=True)
class ConfigError:
    variable: str
    message: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.message}"


@dataclass(frozen=True)
class Settings:
    enabled: bool = True
    strict: bool = False
    interval_ms: float = 1000.0
    mode: Mode = "reader"
    exporters: tuple[str, ...] = ("otlp",)
    rules_paths: tuple[str, ...] = ()
    default_rules: bool = True
    cooldown_s: float = 60.0
    history_size: int = 1000
    cardinality_limit: int = 10_000
    channels: tuple[str, ...] = ("log", "console")
    #: OTEL_PYTHON_ALERTING_CHANNELS was set: exactly those channels, none added
    channels_set: bool = False
    console_color: str = "auto"
    queue_size: int = 10_000
    delivery_deadline_s: float = 120.0
    shutdown_timeout_s: float = 5.0
    errors: tuple[ConfigError, ...] = field(default=(), compare=False)

    def describe(self) -> dict[str, object]:
        """The effective configuration, safe to print (it holds no secret)."""
        return {
            ev.OTEL_PYTHON_ALERTING_ENABLED: _flag(self.enabled),
            ev.OTEL_PYTHON_ALERTING_STRICT: _flag(self.strict),
            ev.OTEL_PYTHON_ALERTING_INTERVAL: f"{self.interval_ms:g}",
            ev.OTEL_PYTHON_ALERTING_MODE: self.mode,
            ev.OTEL_PYTHON_ALERTING_EXPORTERS: ",".join(self.exporters),
            ev.OTEL_PYTHON_ALERTING_RULES: os.pathsep.join(self.rules_paths) or "(none)",
            ev.OTEL_PYTHON_ALERTING_DEFAULT_RULES: _flag(self.default_rules),
            ev.OTEL_PYTHON_ALERTING_COOLDOWN: f"{self.cooldown_s:g}s",
            ev.OTEL_PYTHON_ALERTING_HISTORY_SIZE: self.history_size,
            ev.OTEL_PYTHON_ALERTING_CARDINALITY_LIMIT: self.cardinality_limit,
            ev.OTEL_PYTHON_ALERTING_CHANNELS: ",".join(self.channels)
            if self.channels_set
            else "(unset: log, console and every configured channel)",
            ev.OTEL_PYTHON_ALERTING_CONSOLE_COLOR: self.console_color,
            ev.OTEL_PYTHON_ALERTING_QUEUE_SIZE: self.queue_size,
            ev.OTEL_PYTHON_ALERTING_DELIVERY_DEADLINE: f"{self.delivery_deadline_s:g}s",
            ev.OTEL_PYTHON_ALERTING_SHUTDOWN_TIMEOUT: f"{self.shutdown_timeout_s:g}s",
        }


def _flag(value: bool) -> str:
    return "true" if value else "false"


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


class _Reader:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.errors: list[ConfigError] = []

    def raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def fail(self, name: str, value: str, expected: str) -> None:
        self.errors.append(ConfigError(name, f"invalid value {value!r}: expected {expected}"))

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self.fail(name, value, "true or false")
        return default

    def number(self, name: str, default: float, minimum: float, integer: bool = False) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value)
            if integer and not number.is_integer():
                raise ValueError
        except ValueError:
            self.fail(name, value, "a whole number" if integer else "a number")
            return default
        if not number >= minimum or number == float("inf"):
            self.fail(name, value, f"a finite number of at least {minimum:g}")
            return default
        return number

    def duration(self, name: str, default: float, positive: bool = False) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            seconds = parse_duration(value)
        except ValueError:
            self.fail(name, value, "a duration such as 30s, 5m or a number of seconds")
            return default
        if positive and seconds <= 0:
            self.fail(name, value, "a duration longer than zero")
            return default
        return seconds

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() not in choices:
            self.fail(name, value, " or ".join(choices))
            return default
        return value.lower()

    def names(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return default
        return tuple(part.strip() for part in value.split(",") if part.strip())


def env_value(environ: Mapping[str, str], name: str, alias: str | None = None) -> tuple[str | None, str]:
    """The value of ``name``, or of its legacy ``alias`` (the seed system's ``ALERT_*``
    names) when ``name`` is unset; with the variable it came from, for error messages."""
    value = environ.get(name)
    if value is not None and value.strip():
        return value.strip(), name
    if alias is not None:
        value = environ.get(alias)
        if value is not None and value.strip():
            return value.strip(), alias
    return None, name


def plugin_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """False when OTEL_PYTHON_ALERTING_ENABLED turns the whole plugin off: the
    alerting reader and every instrumentation of the package."""
    value = (os.environ if environ is None else environ).get(ev.OTEL_PYTHON_ALERTING_ENABLED, "")
    return value.strip().lower() not in _FALSE


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every ``OTEL_PYTHON_ALERTING_*`` setting; never raises."""
    r = _Reader(os.environ if environ is None else environ)
    channels = r.names(ev.OTEL_PYTHON_ALERTING_CHANNELS, Settings.channels)
    unknown = [c for c in channels if c not in KNOWN_CHANNELS and c != "none"]
    if unknown:
        r.errors.append(
            ConfigError(
                ev.OTEL_PYTHON_ALERTING_CHANNELS,
                f"unknown channel(s) {', '.join(unknown)} (known: {', '.join(KNOWN_CHANNELS)})",
            )
        )
    channels = tuple(c for c in channels if c in KNOWN_CHANNELS)
    channels_set = r.raw(ev.OTEL_PYTHON_ALERTING_CHANNELS) is not None
    rules = r.raw(ev.OTEL_PYTHON_ALERTING_RULES)
    settings = Settings(
        enabled=r.boolean(ev.OTEL_PYTHON_ALERTING_ENABLED, True),
        strict=r.boolean(ev.OTEL_PYTHON_ALERTING_STRICT, False),
        interval_ms=r.number(ev.OTEL_PYTHON_ALERTING_INTERVAL, Settings.interval_ms, 10.0),
        mode=r.choice(ev.OTEL_PYTHON_ALERTING_MODE, "reader", ("reader", "export")),  # type: ignore[arg-type]
        exporters=r.names(ev.OTEL_PYTHON_ALERTING_EXPORTERS, Settings.exporters),
        rules_paths=tuple(p for p in rules.split(os.pathsep) if p) if rules else (),
        default_rules=r.boolean(ev.OTEL_PYTHON_ALERTING_DEFAULT_RULES, True),
        cooldown_s=r.duration(ev.OTEL_PYTHON_ALERTING_COOLDOWN, Settings.cooldown_s),
        history_size=int(r.number(ev.OTEL_PYTHON_ALERTING_HISTORY_SIZE, Settings.history_size, 1, True)),
        cardinality_limit=int(r.number(ev.OTEL_PYTHON_ALERTING_CARDINALITY_LIMIT, Settings.cardinality_limit, 1, True)),
        channels=channels,
        channels_set=channels_set,
        console_color=r.choice(ev.OTEL_PYTHON_ALERTING_CONSOLE_COLOR, "auto", ("auto", "always", "never")),
        queue_size=int(r.number(ev.OTEL_PYTHON_ALERTING_QUEUE_SIZE, Settings.queue_size, 1, True)),
        delivery_deadline_s=r.duration(ev.OTEL_PYTHON_ALERTING_DELIVERY_DEADLINE, Settings.delivery_deadline_s, True),
        shutdown_timeout_s=r.duration(ev.OTEL_PYTHON_ALERTING_SHUTDOWN_TIMEOUT, Settings.shutdown_timeout_s, True),
        errors=(),
    )
    return Settings(**{**settings.__dict__, "errors": tuple(r.errors)})
