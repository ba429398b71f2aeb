"""The one reader of the environment: every variable, every alias, every parse.

Every name comes from ``environment_variables``. The seed system's ``ALERT_*`` names are
resolved here (``ALIASES``) and nowhere else. Booleans, numbers, durations, ports, URLs,
choices and lists are parsed here once (``EnvReader``), for the settings below, for each
channel's loader and for the instrumentation.

A bad value never raises: it is reported as a ``ConfigError`` naming the variable it was
read from (the alias, when that is the one set) and the value, unless it is a secret, and
the setting falls back to its default (or the part it configures is disabled), unless
strict mode turns errors into a stop.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar, cast
from urllib.parse import urlsplit

from . import environment_variables as ev
from .channel_types import KNOWN_CHANNELS
from .durations import MAX_DURATION_S, DurationTooLong, parse_duration, positive_duration
from .errors import ConfigError
from .secrets import Secret, redact_location

__all__ = [
    "ALIASES",
    "KNOWN_CHANNELS",
    "MAX_CARDINALITY_LIMIT",
    "MAX_COUNT",
    "MAX_HISTORY_SIZE",
    "MAX_INTERVAL_MS",
    "MAX_QUEUE_SIZE",
    "MAX_SERIES_PER_RULE",
    "MODES",
    "ConfigError",
    "EnvReader",
    "PrometheusImportSettings",
    "Settings",
    "load_settings",
    "parse_bool",
    "plugin_enabled",
    "prometheus_import_settings",
    "report_problems",
]

_logger = logging.getLogger("otel_alerting")
_T = TypeVar("_T")

Mode = Literal["reader", "export"]
#: the values of OTEL_PYTHON_ALERTING_MODE
MODES: tuple[Mode, ...] = ("reader", "export")

#: variable -> the seed system's name for it, read when the variable itself is unset
ALIASES: Mapping[str, str] = {
    ev.OTEL_PYTHON_ALERTING_EMAIL_ENABLED: ev.ALERT_EMAIL_ENABLED,
    ev.OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST: ev.ALERT_SMTP_HOST,
    ev.OTEL_PYTHON_ALERTING_EMAIL_SMTP_PORT: ev.ALERT_SMTP_PORT,
    ev.OTEL_PYTHON_ALERTING_EMAIL_USERNAME: ev.ALERT_SMTP_USER,
    ev.OTEL_PYTHON_ALERTING_EMAIL_PASSWORD: ev.ALERT_SMTP_PASSWORD,
    ev.OTEL_PYTHON_ALERTING_EMAIL_FROM: ev.ALERT_FROM_EMAIL,
    ev.OTEL_PYTHON_ALERTING_EMAIL_TO: ev.ALERT_TO_EMAILS,
    ev.OTEL_PYTHON_ALERTING_SLACK_ENABLED: ev.ALERT_SLACK_ENABLED,
    ev.OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL: ev.ALERT_SLACK_WEBHOOK_URL,
    ev.OTEL_PYTHON_ALERTING_SLACK_CHANNEL: ev.ALERT_SLACK_CHANNEL,
    ev.OTEL_PYTHON_ALERTING_WEBHOOK_ENABLED: ev.ALERT_WEBHOOK_ENABLED,
    ev.OTEL_PYTHON_ALERTING_WEBHOOK_URL: ev.ALERT_WEBHOOK_URL,
}

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
#: how a secret value appears in an error
_NOT_SHOWN = "the value (not shown: it is a secret)"
#: how much of a bad value an error quotes
_SHOWN_CHARACTERS = 80
#: the longest evaluation interval, in milliseconds: the longest duration
MAX_INTERVAL_MS = MAX_DURATION_S * 1000
# The largest whole-number settings. Nothing is allocated up front from them (the queues,
# the history and the SDK's series grow as they fill), but a number past C's ssize_t
# stops ``deque(maxlen=...)`` with an OverflowError, and a limit no process could fill is
# no limit: each is well past what one process holds, and well within what it can count.
#: OTEL_PYTHON_ALERTING_QUEUE_SIZE: notifications queued per channel
MAX_QUEUE_SIZE = 1_000_000
#: OTEL_PYTHON_ALERTING_HISTORY_SIZE: alert transitions kept in memory
MAX_HISTORY_SIZE = 100_000
#: OTEL_PYTHON_ALERTING_CARDINALITY_LIMIT: series per metric
MAX_CARDINALITY_LIMIT = 1_000_000
#: OTEL_PYTHON_ALERTING_MAX_SERIES_PER_RULE: series one rule reads per metric
MAX_SERIES_PER_RULE = 1_000_000
#: any other count (``EnvReader.count``: OTEL_PYTHON_ALERTING_WEBHOOK_MAX_ALERTS)
MAX_COUNT = 1_000_000


def parse_bool(text: str) -> bool | None:
    """``true``/``1``/``yes``/``on`` or ``false``/``0``/``no``/``off``, in any case and
    with blanks around; None for anything else."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


class EnvReader:
    """Typed reads of one mapping of variables (``os.environ`` by default).

    Each read takes the variable's name; its ``ALIASES`` entry is read when the variable
    is unset. A value of blanks counts as unset. A bad value is reported in ``errors``
    (named by the variable it was read from) and the read gives the default, or None.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.errors: list[ConfigError] = []

    # --- raw values --------------------------------------------------------------------

    def lookup(self, name: str) -> tuple[str | None, str]:
        """The value of ``name`` (or of its alias), stripped, with the variable it came
        from; ``(None, name)`` when neither is set."""
        for variable in (name, ALIASES.get(name)):
            if variable is not None:
                value = self.environ.get(variable)
                if value is not None and value.strip():
                    return value.strip(), variable
        return None, name

    def text(self, name: str) -> str | None:
        return self.lookup(name)[0]

    def source(self, name: str) -> str:
        """The variable a value is read from (the alias when only the alias is set)."""
        return self.lookup(name)[1]

    def given(self, names: Iterable[str]) -> list[str]:
        """Those of ``names`` that are set (by the variable or its alias), as read."""
        return [variable for value, variable in map(self.lookup, names) if value is not None]

    def secret(self, name: str) -> Secret | None:
        value = self.text(name)
        return Secret(value) if value is not None else None

    # --- errors --------------------------------------------------------------------------

    def fail(self, variable: str, message: str) -> None:
        self.errors.append(ConfigError(variable, message))

    def invalid(self, variable: str, value: str, expected: str, *, secret: bool = False) -> None:
        shown = _NOT_SHOWN if secret else repr(value)
        if len(shown) > _SHOWN_CHARACTERS:  # a megabyte of junk is not repeated in the log
            shown = shown[: _SHOWN_CHARACTERS - 3] + "..."
        self.fail(variable, f"invalid value {shown}: expected {expected}")

    # --- parsed values -------------------------------------------------------------------

    def flag(self, name: str) -> bool | None:
        """True, False, or None when unset (or invalid, which is reported)."""
        value, variable = self.lookup(name)
        if value is None:
            return None
        parsed = parse_bool(value)
        if parsed is None:
            self.invalid(variable, value, "true or false")
        return parsed

    def boolean(self, name: str, default: bool) -> bool:
        value = self.flag(name)
        return default if value is None else value

    def number(
        self, name: str, default: float, minimum: float, integer: bool = False, maximum: float = math.inf
    ) -> float:
        """A finite number of at least ``minimum`` and at most ``maximum`` (a whole one
        if ``integer``)."""
        value, variable = self.lookup(name)
        if value is None:
            return default
        try:
            number = float(value)
            if integer and not number.is_integer() and math.isfinite(number):
                raise ValueError
        except ValueError:
            self.invalid(variable, value, "a whole number" if integer else "a number")
            return default
        if math.isinf(maximum) and (not number >= minimum or number == math.inf):
            self.invalid(variable, value, f"a finite number of at least {minimum:g}")
            return default
        if not minimum <= number <= maximum:  # NaN and infinities too
            kind = "a whole number" if integer else "a number"
            self.invalid(variable, value, f"{kind} from {minimum:g} to {maximum:.0f}")
            return default
        return number

    def count(self, name: str, default: int = 0, maximum: int = MAX_COUNT) -> int:
        """A whole number from 0 to ``maximum``, written in digits."""
        value, variable = self.lookup(name)
        if value is None:
            return default
        if not _ascii_digits(value):
            self.invalid(variable, value, "0 or more")
            return default
        number = _digits(value, len(str(maximum)))
        if number is None or number > maximum:
            self.invalid(variable, value, f"a whole number of at most {maximum}")
            return default
        return number

    def duration(self, name: str, default: float, positive: bool = False) -> float:
        """A duration (``30s``, ``5m`` or seconds); zero allowed unless ``positive``."""
        value, variable = self.lookup(name)
        if value is None:
            return default
        try:
            seconds = parse_duration(value)
        except DurationTooLong:
            self.invalid(variable, value, "a duration of at most 365d")
            return default
        except ValueError:
            self.invalid(variable, value, "a duration such as 30s, 5m or a number of seconds")
            return default
        if positive and seconds <= 0:
            self.invalid(variable, value, "a duration longer than zero")
            return default
        return seconds

    def seconds(self, name: str, default: float, example: str = "10s, 500ms or a number of seconds") -> float:
        """A duration longer than zero (``10s``, ``500ms`` or seconds), or ``default``:
        zero, a negative, ``inf``, ``nan`` or no duration at all is reported, the error
        ending with ``example`` (each setting keeps the wording it has always shown)."""
        value, variable = self.lookup(name)
        if value is None:
            return default
        try:
            parse_duration(value)
        except DurationTooLong:
            self.invalid(variable, value, "a duration of at most 365d")
            return default
        except ValueError:
            pass  # worded below, as every other refusal
        seconds = positive_duration(value)
        if seconds is None:
            self.invalid(variable, value, f"a positive duration such as {example}")
            return default
        return seconds

    def parsed(self, name: str, parse: Callable[[str], _T]) -> _T | None:
        """``parse(value)``, or None when unset; a ``ValueError`` is reported with its
        own message (``parse`` words it, naming the value)."""
        value, variable = self.lookup(name)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            self.fail(variable, str(exc))
            return None

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        """One of ``choices`` (given in lower case), in any case."""
        value, variable = self.lookup(name)
        if value is None:
            return default
        if value.lower() not in choices:
            self.invalid(variable, value, " or ".join(choices))
            return default
        return value.lower()

    def names(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        """A comma-separated list, blanks around each item and empty items dropped."""
        value = self.text(name)
        if value is None:
            return default
        return tuple(part.strip() for part in value.split(",") if part.strip())

    def paths(self, name: str) -> tuple[str, ...]:
        """A list of paths separated by ``os.pathsep``."""
        value = self.text(name)
        return tuple(p for p in value.split(os.pathsep) if p) if value else ()

    def port(self, name: str) -> int | None:
        value, variable = self.lookup(name)
        if value is None:
            return None
        number = _digits(value, 5)
        if number is None or not 0 < number < 65536:
            self.invalid(variable, value, "a port number from 1 to 65535")
            return None
        return number

    def url(self, name: str, *, secret: bool = False) -> str | None:
        """An ``http(s)`` URL with a host. A secret URL (a webhook whose path is its
        token) is never echoed in the error."""
        value, variable = self.lookup(name)
        if value is None:
            return None
        if not _http_url(value):
            self.invalid(variable, value, "an http:// or https:// URL with a host", secret=secret)
            return None
        return value


def _ascii_digits(value: str) -> bool:
    # str.isdigit takes ``²`` (which int refuses) and the digits of other scripts
    return value.isascii() and value.isdigit()


def _digits(value: str, most: int) -> int | None:
    """The whole number ``value`` writes in ASCII digits, or None when it is not one or
    has more than ``most`` digits after its leading zeros (``int`` refuses more than 4,300)."""
    if not _ascii_digits(value):
        return None
    significant = value.lstrip("0") or "0"
    return int(significant) if len(significant) <= most else None


def _http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return ok and not any(c.isspace() or ord(c) < 32 for c in value)


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
    max_series_per_rule: int = 10_000
    channels: tuple[str, ...] = ("log", "console")
    #: OTEL_PYTHON_ALERTING_CHANNELS was set: exactly those channels, none added
    channels_set: bool = False
    console_color: str = "auto"
    queue_size: int = 10_000
    delivery_deadline_s: float = 120.0
    shutdown_timeout_s: float = 5.0
    #: a process without a SIGTERM handler gets one that shuts the SDK down first
    handle_sigterm: bool = True
    #: the standalone HTTP server's port (None: no server) and address
    http_port: int | None = None
    http_host: str = "127.0.0.1"
    http_token: Secret | None = None
    #: what /health answers when the report says ``failing``
    http_failing_status: int = 503
    #: the dead man's switch's URL (None: no heartbeat) and the least time between pings
    heartbeat_url: Secret | None = None
    heartbeat_interval_s: float = 60.0
    #: the SQLite file or Redis URL of the alert state (None: memory only)
    state_path: str | None = None
    #: how long a process's leases outlive its last evaluation (a shared state)
    state_lease_s: float = 15.0
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
            ev.OTEL_PYTHON_ALERTING_MAX_SERIES_PER_RULE: self.max_series_per_rule,
            ev.OTEL_PYTHON_ALERTING_CHANNELS: ",".join(self.channels)
            if self.channels_set
            else "(unset: log, console and every configured channel)",
            ev.OTEL_PYTHON_ALERTING_CONSOLE_COLOR: self.console_color,
            ev.OTEL_PYTHON_ALERTING_QUEUE_SIZE: self.queue_size,
            ev.OTEL_PYTHON_ALERTING_DELIVERY_DEADLINE: f"{self.delivery_deadline_s:g}s",
            ev.OTEL_PYTHON_ALERTING_SHUTDOWN_TIMEOUT: f"{self.shutdown_timeout_s:g}s",
            ev.OTEL_PYTHON_ALERTING_HANDLE_SIGTERM: _flag(self.handle_sigterm),
            ev.OTEL_PYTHON_ALERTING_HTTP_PORT: self.http_port if self.http_port is not None else "(none: no server)",
            ev.OTEL_PYTHON_ALERTING_HTTP_HOST: self.http_host,
            ev.OTEL_PYTHON_ALERTING_HTTP_TOKEN: "(set)" if self.http_token is not None else "(none)",
            ev.OTEL_PYTHON_ALERTING_HTTP_HEALTH_FAILING_STATUS: self.http_failing_status,
            ev.OTEL_PYTHON_ALERTING_HEARTBEAT_URL: "(set)" if self.heartbeat_url is not None else "(none)",
            ev.OTEL_PYTHON_ALERTING_HEARTBEAT_INTERVAL: f"{self.heartbeat_interval_s:g}s",
            ev.OTEL_PYTHON_ALERTING_STATE: redact_location(self.state_path or "(none: state in memory)"),
            ev.OTEL_PYTHON_ALERTING_STATE_LEASE: f"{self.state_lease_s:g}s",
        }


def _flag(value: bool) -> str:
    return "true" if value else "false"


def plugin_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """False when OTEL_PYTHON_ALERTING_ENABLED turns the whole plugin off: the
    alerting reader and every instrumentation of the package. An invalid value leaves
    it on (``load_settings`` reports it)."""
    value = EnvReader(environ).text(ev.OTEL_PYTHON_ALERTING_ENABLED)
    return value is None or parse_bool(value) is not False


def _channels(r: EnvReader) -> tuple[str, ...]:
    channels = r.names(ev.OTEL_PYTHON_ALERTING_CHANNELS, Settings.channels)
    unknown = [c for c in channels if c not in KNOWN_CHANNELS and c != "none"]
    if unknown:
        r.fail(
            ev.OTEL_PYTHON_ALERTING_CHANNELS,
            f"unknown channel(s) {', '.join(unknown)} (known: {', '.join(KNOWN_CHANNELS)})",
        )
    return tuple(c for c in channels if c in KNOWN_CHANNELS)


def _whole(r: EnvReader, name: str, default: int, maximum: int) -> int:
    """A whole number from 1 to ``maximum``."""
    return int(r.number(name, default, 1, True, maximum))


def _http_status(r: EnvReader, name: str, default: int) -> int:
    """An HTTP status code from 200 to 599."""
    value, variable = r.lookup(name)
    if value is None:
        return default
    status = _digits(value, 3)
    if status is None or not 200 <= status <= 599:
        r.invalid(variable, value, "an HTTP status from 200 to 599")
        return default
    return status


def _secret_url(r: EnvReader, name: str) -> Secret | None:
    url = r.url(name, secret=True)
    return Secret(url) if url is not None else None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every ``OTEL_PYTHON_ALERTING_*`` setting; never raises."""
    r = EnvReader(environ)
    channels = _channels(r)
    settings = Settings(
        enabled=r.boolean(ev.OTEL_PYTHON_ALERTING_ENABLED, True),
        strict=r.boolean(ev.OTEL_PYTHON_ALERTING_STRICT, False),
        interval_ms=r.number(ev.OTEL_PYTHON_ALERTING_INTERVAL, Settings.interval_ms, 10.0, maximum=MAX_INTERVAL_MS),
        mode=cast(Mode, r.choice(ev.OTEL_PYTHON_ALERTING_MODE, Settings.mode, MODES)),
        exporters=r.names(ev.OTEL_PYTHON_ALERTING_EXPORTERS, Settings.exporters),
        rules_paths=r.paths(ev.OTEL_PYTHON_ALERTING_RULES),
        default_rules=r.boolean(ev.OTEL_PYTHON_ALERTING_DEFAULT_RULES, True),
        cooldown_s=r.duration(ev.OTEL_PYTHON_ALERTING_COOLDOWN, Settings.cooldown_s),
        history_size=_whole(r, ev.OTEL_PYTHON_ALERTING_HISTORY_SIZE, Settings.history_size, MAX_HISTORY_SIZE),
        cardinality_limit=_whole(
            r, ev.OTEL_PYTHON_ALERTING_CARDINALITY_LIMIT, Settings.cardinality_limit, MAX_CARDINALITY_LIMIT
        ),
        max_series_per_rule=_whole(
            r, ev.OTEL_PYTHON_ALERTING_MAX_SERIES_PER_RULE, Settings.max_series_per_rule, MAX_SERIES_PER_RULE
        ),
        channels=channels,
        channels_set=r.text(ev.OTEL_PYTHON_ALERTING_CHANNELS) is not None,
        console_color=r.choice(ev.OTEL_PYTHON_ALERTING_CONSOLE_COLOR, "auto", ("auto", "always", "never")),
        queue_size=_whole(r, ev.OTEL_PYTHON_ALERTING_QUEUE_SIZE, Settings.queue_size, MAX_QUEUE_SIZE),
        delivery_deadline_s=r.duration(ev.OTEL_PYTHON_ALERTING_DELIVERY_DEADLINE, Settings.delivery_deadline_s, True),
        shutdown_timeout_s=r.duration(ev.OTEL_PYTHON_ALERTING_SHUTDOWN_TIMEOUT, Settings.shutdown_timeout_s, True),
        handle_sigterm=r.boolean(ev.OTEL_PYTHON_ALERTING_HANDLE_SIGTERM, True),
        http_port=r.port(ev.OTEL_PYTHON_ALERTING_HTTP_PORT),
        http_host=r.text(ev.OTEL_PYTHON_ALERTING_HTTP_HOST) or Settings.http_host,
        http_token=r.secret(ev.OTEL_PYTHON_ALERTING_HTTP_TOKEN),
        http_failing_status=_http_status(r, ev.OTEL_PYTHON_ALERTING_HTTP_HEALTH_FAILING_STATUS, 503),
        heartbeat_url=_secret_url(r, ev.OTEL_PYTHON_ALERTING_HEARTBEAT_URL),
        heartbeat_interval_s=r.seconds(
            ev.OTEL_PYTHON_ALERTING_HEARTBEAT_INTERVAL, Settings.heartbeat_interval_s, "60s, 5m or a number of seconds"
        ),
        state_path=r.text(ev.OTEL_PYTHON_ALERTING_STATE),
        state_lease_s=r.seconds(
            ev.OTEL_PYTHON_ALERTING_STATE_LEASE, Settings.state_lease_s, "15s, 1m or a number of seconds"
        ),
    )
    return Settings(**{**settings.__dict__, "errors": tuple(r.errors)})


#: Prometheus ``severity`` label (lower case) -> the engine's severity, before the user's changes
DEFAULT_PROMETHEUS_SEVERITIES: Mapping[str, str] = {
    "info": "low",
    "warning": "medium",
    "error": "high",
    "critical": "critical",
    "page": "critical",
}
_SEVERITY_LEVELS = ("low", "medium", "high", "critical")
_METRIC_KINDS = ("counter", "gauge", "histogram")


@dataclass(frozen=True)
class PrometheusImportSettings:
    """What importing a Prometheus rule file needs from the environment."""

    #: severity label (lower case) -> level name (lower case)
    severities: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_PROMETHEUS_SEVERITIES))
    #: declared metrics: (OpenTelemetry name, kind, unit)
    metrics: tuple[tuple[str, str, str], ...] = ()
    errors: tuple[ConfigError, ...] = field(default=(), compare=False)


def prometheus_import_settings(environ: Mapping[str, str] | None = None) -> PrometheusImportSettings:
    """The severity table and the declared metrics; never raises (a bad entry is
    reported and left out)."""
    r = EnvReader(environ)
    severities = dict(DEFAULT_PROMETHEUS_SEVERITIES)
    variable = r.source(ev.OTEL_PYTHON_ALERTING_PROMETHEUS_SEVERITIES)
    for entry in r.names(ev.OTEL_PYTHON_ALERTING_PROMETHEUS_SEVERITIES):
        label, equals, level = (part.strip() for part in entry.partition("="))
        if not equals or not label or level.lower() not in _SEVERITY_LEVELS:
            r.invalid(variable, entry, "label=LEVEL, LEVEL one of " + ", ".join(_SEVERITY_LEVELS))
            continue
        severities[label.lower()] = level.lower()
    metrics = []
    variable = r.source(ev.OTEL_PYTHON_ALERTING_PROMETHEUS_METRICS)
    for entry in r.names(ev.OTEL_PYTHON_ALERTING_PROMETHEUS_METRICS):
        name, equals, rest = (part.strip() for part in entry.partition("="))
        kind, _, unit = (part.strip() for part in rest.partition(":"))
        if not equals or not name or kind not in _METRIC_KINDS:
            r.invalid(variable, entry, "NAME=KIND[:UNIT], KIND one of " + ", ".join(_METRIC_KINDS))
            continue
        metrics.append((name, kind, unit))
    return PrometheusImportSettings(severities, tuple(metrics), tuple(r.errors))


def report_problems(problems: Sequence[ConfigError | str]) -> None:
    """Log configuration problems once, as one error listing each (the parts they
    affect use their defaults or do not start)."""
    if problems:
        _logger.error(
            "otel-alerting: %d configuration problem(s); the affected settings use their "
            "defaults and the affected rules are not loaded:\n  %s",
            len(problems),
            "\n  ".join(map(str, problems)),
        )
