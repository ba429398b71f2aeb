"""The shared cache metric ``otel_alerting.cache.requests`` and its public API.

Every cache lookup the plugin sees (Redis through ``redis_cache``, any other cache
through :func:`cache_stats`, :func:`count_lookups` or :func:`observe_lru_cache`) adds
one to a pre-keyed slot: an ``itertools.count`` per attribute set, resolved once per
client or handle. The hot path is a single ``next(slot)``: a C call that the GIL makes
atomic, so no increment is lost between threads or tasks and no lock is taken. An
``ObservableCounter`` reads the cumulative totals at collection time, so the SDK's
aggregation (5 to 20 µs per ``Counter.add`` with attributes) is paid once per series
per collection instead of once per lookup.

    >>> stats = cache_stats("sessions")
    >>> stats.hit(); stats.miss()
"""

from __future__ import annotations

import functools
import inspect
import itertools
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeAlias, TypeVar, cast

from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation, get_meter
from opentelemetry.util.types import AttributeValue

from ..failure_log import process_failures
from ..version import __version__

__all__ = [
    "CACHE_NAME",
    "CACHE_REQUESTS",
    "CACHE_RESULT",
    "CacheMetrics",
    "CacheStats",
    "cache_stats",
    "count_lookups",
    "default_cache_metrics",
    "observe_lru_cache",
    "record_hit",
    "record_miss",
]


CACHE_REQUESTS = "otel_alerting.cache.requests"
CACHE_RESULT = "otel_alerting.cache.result"
CACHE_NAME = "otel_alerting.cache.name"
HIT = "hit"
MISS = "miss"

Attributes = Mapping[str, AttributeValue]
Slot: TypeAlias = "itertools.count[int]"
_Key = tuple[tuple[str, AttributeValue], ...]
F = TypeVar("F", bound=Callable[..., Any])


def read_count(counter: Slot) -> int:
    """How many times ``next(counter)`` was called on a ``count()`` started at 0.

    ``repr`` is ``count(N)`` in every CPython version; ``__reduce__`` would also
    work but is deprecated since 3.12 and gone in 3.14.
    """
    return int(repr(counter)[6:-1])


class _CacheInfo(Protocol):
    # read-only, so that functools' CacheInfo (a NamedTuple) matches
    @property
    def hits(self) -> int: ...

    @property
    def misses(self) -> int: ...


class _HasCacheInfo(Protocol):
    def cache_info(self) -> _CacheInfo: ...


class CacheStats:
    """A handle on one cache's two series (hit and miss). ``hit()`` and ``miss()``
    cost one ``next()`` on a shared slot: keep the handle, do not look it up per call."""

    __slots__ = ("_hits", "_misses", "attributes", "name")

    def __init__(self, name: str, attributes: dict[str, AttributeValue], hits: Slot, misses: Slot) -> None:
        self.name = name
        self.attributes = attributes
        self._hits = hits
        self._misses = misses

    def hit(self) -> None:
        next(self._hits)

    def miss(self) -> None:
        next(self._misses)

    def record(self, hit: bool) -> None:
        next(self._hits if hit else self._misses)

    @property
    def hits(self) -> int:
        """Hits counted so far on this series (by every handle and client sharing it)."""
        return read_count(self._hits)

    @property
    def misses(self) -> int:
        return read_count(self._misses)

    def __repr__(self) -> str:
        return f"CacheStats({self.name!r}, hits={self.hits}, misses={self.misses})"


class _InfoObserver:
    """Reads ``cache_info()`` of one function at collection time. ``cache_clear()``
    resets its counts to 0; the totals reported stay monotonic by carrying what was
    counted before the reset (the lookups between the last collection and the reset
    are lost, which a counter reset would lose anyway)."""

    def __init__(self, source: _HasCacheInfo, attributes: dict[str, AttributeValue]) -> None:
        try:
            ref: Callable[[], _HasCacheInfo | None] = weakref.ref(source)
        except TypeError:  # not weak-referenceable: keep it alive (it is usually module-level anyway)
            ref = lambda: source  # noqa: E731
        self._ref = ref
        self.hit_key = _key({**attributes, CACHE_RESULT: HIT})
        self.miss_key = _key({**attributes, CACHE_RESULT: MISS})
        self._last = (0, 0)
        self._carried = (0, 0)

    @property
    def alive(self) -> bool:
        return self._ref() is not None

    def totals(self) -> tuple[int, int]:
        source = self._ref()
        if source is not None:
            info = source.cache_info()
            hits, misses = int(info.hits), int(info.misses)
            carried_hits, carried_misses = self._carried
            last_hits, last_misses = self._last
            if hits < last_hits or misses < last_misses:
                self._carried = (carried_hits + last_hits, carried_misses + last_misses)
            self._last = (hits, misses)
        return self._carried[0] + self._last[0], self._carried[1] + self._last[1]


def _key(attributes: Attributes) -> _Key:
    # Sequence values (allowed in attributes) become tuples so that the key hashes.
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in attributes.items()))


class CacheMetrics:
    """The slots of one ``otel_alerting.cache.requests`` instrument.

    ``meter_provider=None`` (the default) uses the global provider, looked up when the
    first slot is made, so an instrumentor loaded by ``opentelemetry-instrument`` (or
    before the application sets its provider) still reports to the right one. Tests
    pass their own provider.
    """

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        self._meter_provider = meter_provider
        self._lock = threading.Lock()
        self._counters: dict[_Key, Slot] = {}
        self._observers: list[_InfoObserver] = []
        self._retired: dict[_Key, int] = {}
        self._stats: dict[Any, CacheStats] = {}
        self._registered = False

    def _ensure_instrument(self) -> None:
        # Called with self._lock held, once.
        if self._registered:
            return
        self._registered = True
        meter = get_meter("otel_alerting.cache", __version__, meter_provider=self._meter_provider)
        meter.create_observable_counter(
            CACHE_REQUESTS,
            callbacks=[self._observe],
            unit="{request}",
            description="Cache lookups by cache and result (hit or miss).",
        )

    def counters(self, name: str, attributes: Attributes | None = None) -> tuple[Slot, Slot]:
        """The (hit, miss) slots of cache ``name``: ``next(pair[is_miss])`` counts one lookup."""
        base: dict[str, AttributeValue] = {**(attributes or {}), CACHE_NAME: name}
        hit_key = _key({**base, CACHE_RESULT: HIT})
        miss_key = _key({**base, CACHE_RESULT: MISS})
        with self._lock:
            self._ensure_instrument()
            hits = self._counters.setdefault(hit_key, itertools.count())
            misses = self._counters.setdefault(miss_key, itertools.count())
        return hits, misses

    def stats(self, name: str, attributes: Attributes | None = None) -> CacheStats:
        """The handle of cache ``name`` (the same object for the same name and attributes)."""
        handle_key = (name, _key(attributes)) if attributes else name
        handle = self._stats.get(handle_key)
        if handle is None:
            hits, misses = self.counters(name, attributes)
            handle = self._stats.setdefault(handle_key, CacheStats(name, dict(attributes or {}), hits, misses))
        return handle

    def count_lookups(self, name: str, attributes: Attributes | None = None) -> Callable[[F], F]:
        """Decorate a get-function (sync or ``async``) that returns None on a miss.

        Any other return value is a hit; an exception is neither and passes through.
        """
        stats = self.stats(name, attributes)
        hits, misses = stats._hits, stats._misses

        def decorate(func: F) -> F:
            if inspect.iscoroutinefunction(func):

                @functools.wraps(func)
                async def async_lookup(*args: Any, **kwargs: Any) -> Any:
                    value = await func(*args, **kwargs)
                    next(misses if value is None else hits)
                    return value

                return cast(F, async_lookup)

            @functools.wraps(func)
            def lookup(*args: Any, **kwargs: Any) -> Any:
                value = func(*args, **kwargs)
                next(misses if value is None else hits)
                return value

            return cast(F, lookup)

        return decorate

    def observe_lru_cache(self, func: _HasCacheInfo, name: str, attributes: Attributes | None = None) -> None:
        """Report ``func.cache_info()`` hits and misses, read at collection time: a
        ``functools.lru_cache`` (or ``cachetools`` with ``info=True``) pays nothing per call.
        ``func`` is held by a weak reference where possible."""
        observer = _InfoObserver(func, {**(attributes or {}), CACHE_NAME: name})
        with self._lock:
            self._ensure_instrument()
            self._observers.append(observer)

    def totals(self) -> dict[_Key, int]:
        """Current cumulative totals per attribute set (what the next collection reports)."""
        with self._lock:
            totals = {key: read_count(counter) for key, counter in self._counters.items()}
            for key, value in self._retired.items():
                totals[key] = totals.get(key, 0) + value
            alive = []
            for observer in self._observers:
                hits, misses = observer.totals()
                if observer.alive:
                    alive.append(observer)
                else:  # keep its last totals so the series never goes down
                    self._retired[observer.hit_key] = self._retired.get(observer.hit_key, 0) + hits
                    self._retired[observer.miss_key] = self._retired.get(observer.miss_key, 0) + misses
                totals[observer.hit_key] = totals.get(observer.hit_key, 0) + hits
                totals[observer.miss_key] = totals.get(observer.miss_key, 0) + misses
            self._observers = alive
        return totals

    def _observe(self, options: CallbackOptions) -> Iterable[Observation]:
        try:
            totals = self.totals()
        except Exception as exc:  # a broken cache_info() must not cost the other series
            process_failures.failed("cache_stats", exc)
            return
        process_failures.succeeded("cache_stats")
        for key, value in totals.items():
            yield Observation(value, dict(key))


_default: CacheMetrics | None = None
_default_lock = threading.Lock()


def default_cache_metrics() -> CacheMetrics:
    """The process-wide slots, reported through the global MeterProvider."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = CacheMetrics()
    return _default


def cache_stats(name: str, attributes: Attributes | None = None) -> CacheStats:
    """The handle of cache ``name`` on the global MeterProvider: ``stats.hit()``, ``stats.miss()``."""
    return default_cache_metrics().stats(name, attributes)


def record_hit(name: str, attributes: Attributes | None = None) -> None:
    """Count one hit of cache ``name``. Looks the handle up on each call (a dict lookup):
    in a hot loop keep ``cache_stats(name)`` instead."""
    default_cache_metrics().stats(name, attributes).hit()


def record_miss(name: str, attributes: Attributes | None = None) -> None:
    """Count one miss of cache ``name``."""
    default_cache_metrics().stats(name, attributes).miss()


def count_lookups(name: str, attributes: Attributes | None = None) -> Callable[[F], F]:
    """Decorator: the function returns None on a miss, anything else is a hit."""
    return default_cache_metrics().count_lookups(name, attributes)


def observe_lru_cache(func: _HasCacheInfo, name: str, attributes: Attributes | None = None) -> None:
    """Report ``func.cache_info()`` (``functools.lru_cache``) as cache ``name``, read at collection."""
    default_cache_metrics().observe_lru_cache(func, name, attributes)
