"""What to probe, from the environment: ``OTEL_PYTHON_ALERTING_{REDIS,CHROMA,EMBEDDINGS}_URL``,
falling back to the variables the application already reads (``REDIS_URL``; chromadb's
``CHROMA_SERVER_HOST``/``CHROMA_SERVER_HTTP_PORT``; the common ``CHROMA_HOST``/``CHROMA_PORT``).

Each URL variable takes one URL or a comma-separated list, each optionally named
(``sessions=redis://10.0.0.5:6379/0``); the name becomes ``otel_alerting.dependency.name``.
A URL may carry a password: it lives only in ``ProbeTarget.url`` (hidden from ``repr``)
and everything printed uses ``display``, the redacted form.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from ... import environment_variables as ev
from ...config import ConfigError, EnvReader, parse_bool
from .state import DependencyKey

__all__ = [
    "DEFAULT_INTERVAL_S",
    "DEFAULT_TIMEOUT_S",
    "ProbeSettings",
    "ProbeTarget",
    "chroma_target",
    "load_probe_settings",
    "redact_url",
]

DEFAULT_INTERVAL_S = 5.0
DEFAULT_TIMEOUT_S = 2.0
SECURE = "[secure]"


CHROMA_HEARTBEAT_PATH = "/api/v2/heartbeat"
_NAMED = re.compile(r"^([A-Za-z][\w.-]*)=(.*)$")
_DEFAULT_PORTS = {"redis": 6379, "rediss": 6379, "http": 80, "https": 443}


@dataclass(frozen=True)
class ProbeTarget:
    """One dependency to check. ``kind`` is ``redis`` (PING) or ``http`` (GET or POST)."""

    name: str
    kind: str
    url: str = field(repr=False)
    address: str | None
    port: int | None
    display: str
    method: str = "GET"
    body: bytes | None = field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Strings scrubbed from any error message before it is logged or recorded."""
    discovered: bool = False

    @property
    def key(self) -> DependencyKey:
        return DependencyKey(self.name, self.address, self.port)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, SECURE)
        return text


@dataclass(frozen=True)
class ProbeSettings:
    targets: tuple[ProbeTarget, ...] = ()
    interval_s: float = DEFAULT_INTERVAL_S
    timeout_s: float = DEFAULT_TIMEOUT_S
    errors: tuple[ConfigError, ...] = ()

    def has(self, name: str) -> bool:
        return any(t.name == name for t in self.targets)


def redact_url(url: str) -> str:
    """``url`` with its password and query values replaced by ``[secure]``, as httpx does."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user, sep, _password = userinfo.partition(":")
            netloc = f"{user}:{SECURE}@{hostport}" if sep else f"{userinfo}@{hostport}"
        query = urlencode([(k, SECURE) for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="[]")
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return SECURE


def _secrets_of(url: str) -> tuple[str, ...]:
    try:
        parts = urlsplit(url)
        found = [parts.password or "", unquote(parts.password or "")]
        found += [v for _, v in parse_qsl(parts.query, keep_blank_values=True)]
    except ValueError:
        return (url,)
    return tuple(sorted({s for s in found if s}, key=len, reverse=True))


def _entries(value: str) -> list[tuple[str | None, str]]:
    entries: list[tuple[str | None, str]] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        match = _NAMED.match(part)
        if match and "://" not in match.group(1):
            entries.append((match.group(1), match.group(2).strip()))
        else:
            entries.append((None, part))
    return entries


def _port_of(parts: SplitResult, scheme: str) -> int | None:
    port = parts.port  # raises ValueError when out of range
    return port if port is not None else _DEFAULT_PORTS.get(scheme)


def _redis_target(name: str, url: str, variable: str, env: EnvReader) -> ProbeTarget | None:
    display = redact_url(url)
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("redis", "rediss", "unix"):
            env.fail(variable, f"invalid URL {display!r}: expected redis://, rediss:// or unix://")
            return None
        if scheme == "unix":
            address, port = parts.path, None
        else:
            address, port = parts.hostname or "localhost", _port_of(parts, scheme)
    except ValueError:
        env.fail(variable, f"invalid URL {display!r}")
        return None
    return ProbeTarget(name, "redis", url, address, port, display, secrets=_secrets_of(url))


def _http_target(
    name: str,
    url: str,
    variable: str,
    env: EnvReader,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> ProbeTarget | None:
    display = redact_url(url)
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            env.fail(variable, f"invalid URL {display!r}: expected http:// or https:// and a host")
            return None
        port = _port_of(parts, scheme)
    except ValueError:
        env.fail(variable, f"invalid URL {display!r}")
        return None
    secrets = _secrets_of(url) + tuple(v for _, v in headers if v)
    return ProbeTarget(name, "http", url, parts.hostname, port, display, method, body, headers, secrets)


def chroma_heartbeat_url(base: str) -> str:
    """``base`` (a server URL, or a client's ``.../api/v2``) turned into its heartbeat URL."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/")
    if path.endswith("/heartbeat"):
        return base
    path = path + "/heartbeat" if path.endswith(("/api/v2", "/api/v1")) else path + CHROMA_HEARTBEAT_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def chroma_target(base: str, name: str = "chroma", discovered: bool = False) -> ProbeTarget | None:
    """A heartbeat target for a Chroma server URL; None if it is not an http(s) URL."""
    target = _http_target(name, chroma_heartbeat_url(base), "", EnvReader({}))
    return replace(target, discovered=True) if target is not None and discovered else target


def _redis_targets(env: EnvReader) -> list[ProbeTarget]:
    value, variable = env.lookup(ev.OTEL_PYTHON_ALERTING_REDIS_URL)
    if value is None:
        value, variable = env.lookup(ev.REDIS_URL)
    if value is None:
        return []
    if importlib.util.find_spec("redis") is None:
        env.fail(variable, "probing Redis needs redis-py (pip install 'otel-alerting[redis]')")
        return []
    found = [_redis_target(n or "redis", url, variable, env) for n, url in _entries(value)]
    return [t for t in found if t is not None]


#: chromadb's own server variables, then the common ones: (host, port)
_CHROMA_FALLBACKS = ((ev.CHROMA_SERVER_HOST, ev.CHROMA_SERVER_HTTP_PORT), (ev.CHROMA_HOST, ev.CHROMA_PORT))


def _chroma_base(env: EnvReader) -> tuple[str, str] | None:
    """The Chroma server the application's own variables name, and the variable; None
    when they name none (or a bad port, which is reported)."""
    for host_var, port_var in _CHROMA_FALLBACKS:
        host = env.text(host_var)
        if host is None:
            continue
        if "://" in host:
            return host, host_var
        errors = len(env.errors)
        port = env.port(port_var) or 8000
        if len(env.errors) > errors:
            return None
        ssl = parse_bool(env.text(ev.CHROMA_SERVER_SSL_ENABLED) or "") is True
        return f"{'https' if ssl else 'http'}://{host}:{port}", host_var
    return None


def _chroma_targets(env: EnvReader) -> list[ProbeTarget]:
    value, variable = env.lookup(ev.OTEL_PYTHON_ALERTING_CHROMA_URL)
    if value is not None:
        found = [_http_target(n or "chroma", chroma_heartbeat_url(url), variable, env) for n, url in _entries(value)]
        return [t for t in found if t is not None]
    base = _chroma_base(env)
    if base is None:
        return []
    target = _http_target("chroma", chroma_heartbeat_url(base[0]), base[1], env)
    return [target] if target is not None else []


def _headers(env: EnvReader) -> tuple[tuple[str, str], ...]:
    value, variable = env.lookup(ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_HEADERS)
    if value is None:
        return ()
    headers = []
    for index, part in enumerate(value.split(","), start=1):
        key, sep, item = part.partition("=")
        if not sep or not key.strip():
            # the value may be a token: name the entry, never print it
            env.fail(variable, f"entry #{index} is not key=value")
            continue
        headers.append((unquote(key.strip()), unquote(item.strip())))
    return tuple(headers)


def _embeddings_targets(env: EnvReader) -> list[ProbeTarget]:
    value, variable = env.lookup(ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_URL)
    if value is None:
        return []
    headers = _headers(env)
    request, request_var = env.lookup(ev.OTEL_PYTHON_ALERTING_EMBEDDINGS_REQUEST)
    method, body = "GET", None
    if request is not None:
        try:
            json.loads(request)
        except ValueError:
            env.fail(request_var, "not valid JSON; probing with GET instead")
        else:
            method, body = "POST", request.encode()
            headers = (("Content-Type", "application/json"), *headers)
    found = [
        _http_target(n or "embeddings", url, variable, env, method=method, body=body, headers=headers)
        for n, url in _entries(value)
    ]
    return [t for t in found if t is not None]


def load_probe_settings(environ: Mapping[str, str]) -> ProbeSettings:
    """Every probe setting; never raises. Errors name the variable, never a secret."""
    env = EnvReader(environ)
    interval = env.seconds(ev.OTEL_PYTHON_ALERTING_PROBE_INTERVAL, DEFAULT_INTERVAL_S, "5s or 500ms")
    timeout = env.seconds(ev.OTEL_PYTHON_ALERTING_PROBE_TIMEOUT, DEFAULT_TIMEOUT_S, "5s or 500ms")
    targets: list[ProbeTarget] = []
    seen: set[DependencyKey] = set()
    for target in _redis_targets(env) + _chroma_targets(env) + _embeddings_targets(env):
        if target.key in seen:
            env.fail("probes", f"{target.key.describe()} is listed twice; probed once")
            continue
        seen.add(target.key)
        targets.append(target)
    return ProbeSettings(tuple(targets), interval, timeout, tuple(env.errors))
