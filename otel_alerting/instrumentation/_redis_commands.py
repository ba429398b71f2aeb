"""Which Redis replies are cache hits or misses, which keys count, and the connection
attributes of a client. Pure functions and frozen data: no redis import here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.util.types import AttributeValue

from ..config import EnvReader
from ..environment_variables import (
    OTEL_PYTHON_ALERTING_CACHE_COMMANDS,
    OTEL_PYTHON_ALERTING_CACHE_KEY_PREFIXES,
    OTEL_PYTHON_ALERTING_CACHE_NAME,
    OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES,
)

__all__ = [
    "COMMAND_KINDS",
    "DEFAULT_CACHE_NAME",
    "KeyNamer",
    "Kind",
    "RedisCacheConfig",
    "connection_attributes",
    "tally",
]

_logger = logging.getLogger("otel_alerting")

DEFAULT_CACHE_NAME = "redis"


class Kind:
    """How a read command's reply splits into hits and misses (ints: compared on the hot path)."""

    VALUE = 0  # one key; nil is a miss, anything else (an empty string too) a hit
    HASH = 1  # HGETALL: an empty hash is a miss
    KEYS = 2  # MGET: one reply item per key
    FIELDS = 3  # HMGET: one reply item per field of one key
    EXISTS = 4  # the number of the given keys that exist


COMMAND_KINDS: Mapping[str, int] = {
    "GET": Kind.VALUE,
    "GETEX": Kind.VALUE,
    "GETDEL": Kind.VALUE,
    "HGET": Kind.VALUE,
    "LINDEX": Kind.VALUE,
    "ZSCORE": Kind.VALUE,
    "JSON.GET": Kind.VALUE,
    "MGET": Kind.KEYS,
    "HMGET": Kind.FIELDS,
    "EXISTS": Kind.EXISTS,
    "HGETALL": Kind.HASH,
}

# Trailing separators dropped from a key prefix to name its cache: "session:" -> "session".
_SEPARATORS = ":./-_| "


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@dataclass(frozen=True)
class RedisCacheConfig:
    """Which commands and keys count as cache lookups.

    ``prefixes`` is ``((prefix, cache name), ...)``; empty means every key counts, as
    cache ``cache_name``. A key that matches no prefix is not a cache lookup.
    """

    cache_name: str = DEFAULT_CACHE_NAME
    prefixes: tuple[tuple[str, str], ...] = ()
    commands: frozenset[str] = frozenset(COMMAND_KINDS)
    span_attributes: bool = False  # annotate the spans of opentelemetry-instrumentation-redis (opt-in)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> RedisCacheConfig:
        """Read the ``OTEL_PYTHON_ALERTING_CACHE_*`` variables; a bad value warns and
        falls back to the default, it never raises."""
        env = EnvReader(environ)
        name = env.text(OTEL_PYTHON_ALERTING_CACHE_NAME) or DEFAULT_CACHE_NAME
        prefixes = parse_prefixes(env.text(OTEL_PYTHON_ALERTING_CACHE_KEY_PREFIXES) or "")
        commands = parse_commands(env.text(OTEL_PYTHON_ALERTING_CACHE_COMMANDS) or "")
        span_attributes = env.boolean(OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES, False)
        for error in env.errors:
            _logger.warning("%s; using the default", error)
        return cls(name, prefixes, commands, span_attributes)

    def kinds(self) -> dict[str, int]:
        """Command name -> kind, in the spellings redis-py sends (upper case) and lower case."""
        table: dict[str, int] = {}
        for command in self.commands:
            table[command] = table[command.lower()] = COMMAND_KINDS[command]
        return table


def parse_prefixes(value: str) -> tuple[tuple[str, str], ...]:
    """``"session:,llm=llm:cache:"`` -> ``(("llm:cache:", "llm"), ("session:", "session"))``,
    longest prefix first so that the most specific one wins."""
    pairs: list[tuple[str, str]] = []
    for item in _split(value):
        name, sep, prefix = item.partition("=")
        if not sep:
            prefix = item
            name = item.rstrip(_SEPARATORS) or item
        name, prefix = name.strip(), prefix.strip()
        if not prefix or not name:
            _logger.warning(
                "%s: ignoring %r (expected PREFIX or NAME=PREFIX)", OTEL_PYTHON_ALERTING_CACHE_KEY_PREFIXES, item
            )
            continue
        pairs.append((prefix, name))
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


def parse_commands(value: str) -> frozenset[str]:
    if not value.strip():
        return frozenset(COMMAND_KINDS)
    commands = {command.upper() for command in _split(value)}
    unknown = commands - set(COMMAND_KINDS)
    if unknown:
        _logger.warning(
            "%s: ignoring %s: only these replies can be classified: %s",
            OTEL_PYTHON_ALERTING_CACHE_COMMANDS,
            ", ".join(sorted(unknown)),
            ", ".join(COMMAND_KINDS),
        )
    known = frozenset(commands & set(COMMAND_KINDS))
    if not known:
        _logger.warning("%s: no known command left, using the default set", OTEL_PYTHON_ALERTING_CACHE_COMMANDS)
        return frozenset(COMMAND_KINDS)
    return known


class KeyNamer:
    """Key -> cache name, or None when the key is not a cache key."""

    def __init__(self, config: RedisCacheConfig) -> None:
        self.default = config.cache_name
        self.single = not config.prefixes
        self._str: tuple[tuple[Any, str], ...] = config.prefixes
        self._bytes: tuple[tuple[Any, str], ...] = tuple((prefix.encode(), name) for prefix, name in config.prefixes)
        self._str_all: tuple[Any, ...] = tuple(prefix for prefix, _ in self._str)
        self._bytes_all: tuple[Any, ...] = tuple(prefix for prefix, _ in self._bytes)

    def __call__(self, key: Any) -> str | None:
        if self.single:
            return self.default
        if isinstance(key, str):
            table, everything = self._str, self._str_all
        elif isinstance(key, (bytes, bytearray, memoryview)):
            key = bytes(key)
            table, everything = self._bytes, self._bytes_all
        else:  # redis-py encodes numbers with str()
            key = str(key)
            table, everything = self._str, self._str_all
        if not key.startswith(everything):  # one C call rejects most keys
            return None
        for prefix, name in table:
            if key.startswith(prefix):
                return name
        return None


Tally = dict[str, list[int]]  # cache name -> [hits, misses]


def _add(out: Tally, name: str | None, hits: int, misses: int) -> None:
    if name is None:
        return
    counts = out.get(name)
    if counts is None:
        out[name] = [hits, misses]
    else:
        counts[0] += hits
        counts[1] += misses


def tally(kind: int, args: Sequence[Any], reply: Any, name_of: Callable[[Any], str | None], out: Tally) -> None:
    """Add the hits and misses of one successful read command to ``out``."""
    if kind == Kind.VALUE:
        hit = reply is not None
        _add(out, name_of(args[1]), int(hit), int(not hit))
    elif kind == Kind.HASH:
        hit = bool(reply)
        _add(out, name_of(args[1]), int(hit), int(not hit))
    elif kind == Kind.KEYS:
        if isinstance(reply, (list, tuple)) and len(reply) == len(args) - 1:
            for key, item in zip(args[1:], reply):
                hit = item is not None
                _add(out, name_of(key), int(hit), int(not hit))
    elif kind == Kind.FIELDS:
        if isinstance(reply, (list, tuple)):
            hits = sum(1 for item in reply if item is not None)
            _add(out, name_of(args[1]), hits, len(reply) - hits)
    elif kind == Kind.EXISTS:
        keys = args[1:]
        if isinstance(reply, int) and keys:
            names = {name_of(key) for key in keys}
            # The reply says how many exist, not which: it splits only when all keys
            # belong to one cache.
            if len(names) == 1:
                hits = min(max(reply, 0), len(keys))
                _add(out, names.pop(), hits, len(keys) - hits)


def _first_startup_node(nodes_manager: Any) -> Any:
    nodes = getattr(nodes_manager, "startup_nodes", None)
    if isinstance(nodes, Mapping):
        return next(iter(nodes.values()), None)
    if isinstance(nodes, (list, tuple)):
        return nodes[0] if nodes else None
    return None


def connection_attributes(client: Any) -> dict[str, AttributeValue]:
    """``db.system.name``, ``server.address``, ``server.port``, ``db.namespace`` of a
    redis-py client or pipeline, from its configuration (no I/O). A cluster is named by
    its first startup node and has only database 0."""
    attributes: dict[str, AttributeValue] = {"db.system.name": "redis"}
    nodes_manager = getattr(client, "nodes_manager", None)
    if nodes_manager is not None:
        node = _first_startup_node(nodes_manager)
        host, port = getattr(node, "host", None), getattr(node, "port", None)
        db: Any = 0
    else:
        pool = getattr(client, "connection_pool", None)
        kwargs = getattr(pool, "connection_kwargs", None) or {}
        host = kwargs.get("path") or kwargs.get("host")
        port = None if kwargs.get("path") else kwargs.get("port")
        db = kwargs.get("db", 0)
    if host:
        attributes["server.address"] = str(host)
        if port is not None:
            try:
                attributes["server.port"] = int(port)
            except (TypeError, ValueError):
                pass
    if db is not None:
        attributes["db.namespace"] = str(db)
    return attributes
