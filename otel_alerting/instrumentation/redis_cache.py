"""Redis cache hit/miss: ``RedisCacheInstrumentor`` (entry point ``otel_alerting_redis``).

Wraps redis-py's ``execute_command`` (``Redis``, ``RedisCluster``, sync and asyncio),
``Pipeline.immediate_execute_command`` (reads while WATCHing) and pipeline/transaction
``execute`` (the command stack is read before ``execute`` runs, since it resets it).
Each read command's reply is classified (see ``_redis_commands``) and counted into
``otel_alerting.cache.requests`` through slots resolved once per client.

Coexists with ``opentelemetry-instrumentation-redis``: our wrappers are spliced in
beneath its wrappers whatever the instrumentation order (``_wrapping``), so the Redis
span is current, recording and not yet ended when the reply arrives, and we add
``otel_alerting.cache.result`` (one key) or ``otel_alerting.cache.hits``/``.misses``
(several keys, pipelines) to it.

Nothing here raises into the application: the application's call and its exceptions
pass through untouched, and a failure of ours is logged once.
"""

from __future__ import annotations

import contextvars
import importlib.util
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from opentelemetry import context as context_api
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context, get_current
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.trace.propagation import _SPAN_KEY

from ..config import plugin_enabled
from ._redis_commands import KeyNamer, Kind, RedisCacheConfig, Tally, connection_attributes, tally
from ._wrapping import Patch, passthrough_name, unwrap_innermost, wrap_innermost
from .cache import CACHE_RESULT, HIT, MISS, CacheMetrics, default_cache_metrics

__all__ = ["RedisCacheInstrumentor"]

_logger = logging.getLogger("otel_alerting")

CACHE_HITS = "otel_alerting.cache.hits"
CACHE_MISSES = "otel_alerting.cache.misses"
# Spans we annotate: those of opentelemetry-instrumentation-redis (instrument() and
# instrument_client()). Any other current span (the application's request span when
# the contrib package is absent or suppressed) is left alone.
REDIS_SPAN_SCOPES = frozenset({"opentelemetry.instrumentation.redis"})
_SUPPRESS_PLAIN = "suppress_instrumentation"  # the legacy string key, still honoured by the contrib packages
_STATE = "_otel_alerting_cache_client"

Pair = tuple[Any, Any]  # (hit slot, miss slot): next(pair[is_miss])
_Plan = tuple[int, list[tuple[int, int, tuple[Any, ...]]]]  # (stack length, [(index, kind, args) of reads])
VALUE = Kind.VALUE
_SINGLE_KEY = frozenset({Kind.VALUE, Kind.HASH})  # one lookup: the span gets a result, not counts


class _Client:
    """One client's (or connection pool's) slots, resolved once."""

    __slots__ = ("_pairs", "attributes", "default", "recorder")

    def __init__(self, recorder: _Recorder, attributes: dict[str, Any]) -> None:
        self.recorder = recorder
        self.attributes = attributes
        self._pairs: dict[str, Pair] = {}
        # With no key prefixes every key is one cache: the hot path skips key matching.
        self.default: Pair | None = self.pair(recorder.namer.default) if recorder.namer.single else None

    def pair(self, name: str) -> Pair:
        pair = self._pairs.get(name)
        if pair is None:
            pair = self._pairs.setdefault(name, self.recorder.metrics.counters(name, self.attributes))
        return pair


def _context_getter() -> Callable[[], Context]:
    """``opentelemetry.context.get_current``, or the ``ContextVar.get`` behind it.

    With the default runtime context (contextvars) the current context is one
    ``ContextVar``; reading it directly saves two Python frames on every GET, which
    measured inside real GETs is a large part of what the hot path costs. Any other
    runtime context (``OTEL_PYTHON_CONTEXT``) goes through the API.
    """
    runtime = getattr(context_api, "_RUNTIME_CONTEXT", None)
    if type(runtime).__name__ == "ContextVarsRuntimeContext":
        var = getattr(runtime, "_current_context", None)
        if isinstance(var, contextvars.ContextVar):
            getter: Callable[[], Context] = var.get
            return getter
    return get_current


def _stack(pipeline: Any) -> list[Any]:
    """The queued commands of any redis-py pipeline, as a list of argument tuples."""
    strategy = getattr(pipeline, "_execution_strategy", None)  # cluster pipelines (sync and asyncio)
    if strategy is not None:
        queue = getattr(strategy, "_command_queue", None)
        if queue is None:
            queue = strategy.command_queue
        return [command.args for command in queue]
    return [command[0] for command in pipeline.command_stack]  # (args, options)


class _Recorder:
    """The patches of one ``instrument()`` call, with their configuration and slots."""

    def __init__(self, metrics: CacheMetrics, config: RedisCacheConfig) -> None:
        self.metrics = metrics
        self.kinds = config.kinds()
        self.namer = KeyNamer(config)
        self.annotate = config.span_attributes
        self._warned = False
        self._known_scope: list[Any] = [object()]  # the contrib tracer's scope object, once seen
        # The hot path keeps the client's slots in the client's __dict__ under a name of
        # this recorder's own, so a client seen by an earlier instrument() is resolved again.
        self._pair_key = f"{_STATE}_{id(self):x}"

    # -- shared ------------------------------------------------------------------

    def _failed(self) -> None:
        if not self._warned:
            self._warned = True
            _logger.warning("otel-alerting: counting a Redis cache lookup failed", exc_info=True)

    def _client(self, instance: Any) -> _Client:
        client: _Client | None = instance.__dict__.get(_STATE)
        if client is not None and client.recorder is self:
            return client
        # Pipelines are made per use and share their client's pool (or cluster client,
        # or nodes manager): keep the resolved slots there so that a new pipeline finds
        # them in one lookup.
        anchor = getattr(instance, "cluster_client", None)  # asyncio ClusterPipeline
        if anchor is None:
            anchor = getattr(instance, "nodes_manager", None)
        if anchor is None:
            anchor = getattr(instance, "connection_pool", None)
        shared = getattr(anchor, _STATE, None) if anchor is not None else None
        if isinstance(shared, _Client) and shared.recorder is self:
            client = shared
        else:
            client = _Client(self, connection_attributes(instance))
            if anchor is not None:
                try:
                    setattr(anchor, _STATE, client)
                except (AttributeError, TypeError):
                    pass
        try:
            instance.__dict__[_STATE] = client
        except (AttributeError, TypeError):
            pass
        return client

    def _default_pair(self, instance: Any) -> Pair | tuple[()]:
        """The slots every lookup of this client goes to, or () when key prefixes decide."""
        pair = self._client(instance).default or ()
        try:
            instance.__dict__[self._pair_key] = pair
        except (AttributeError, TypeError):
            pass
        return pair

    def _is_redis_scope(self, scope: Any) -> bool:
        if scope is None:
            return False
        if scope is self._known_scope[0]:
            return True
        if getattr(scope, "name", None) in REDIS_SPAN_SCOPES:
            self._known_scope[0] = scope
            return True
        return False

    def _redis_span(self, ctx: Context) -> Any:
        """The current span if it is a recording span of opentelemetry-instrumentation-redis
        and spans are to be annotated."""
        span: Any = ctx.get(_SPAN_KEY) if self.annotate else None
        if span is None or not span.is_recording():
            return None
        return span if self._is_redis_scope(getattr(span, "instrumentation_scope", None)) else None

    def _record_reply(self, instance: Any, kind: int, args: tuple[Any, ...], reply: Any, ctx: Context) -> None:
        """What the sync patch does inline, for the asyncio one."""
        pair = instance.__dict__.get(self._pair_key)
        if pair is None:
            pair = self._default_pair(instance)
        if kind == VALUE and pair:
            miss = reply is None
            next(pair[miss])
            span = self._redis_span(ctx)
            if span is not None:
                span.set_attribute(CACHE_RESULT, MISS if miss else HIT)
        else:
            self._record_any(instance, kind, args, reply, ctx)

    def _record_any(self, instance: Any, kind: int, args: tuple[Any, ...], reply: Any, ctx: Context) -> None:
        self._record(self._client(instance), kind, args, reply, ctx)

    @staticmethod
    def _suppressed(ctx: Context) -> bool:
        return bool(ctx.get(_SUPPRESS_INSTRUMENTATION_KEY) or ctx.get(_SUPPRESS_PLAIN))

    def _record(self, client: _Client, kind: int, args: tuple[Any, ...], reply: Any, ctx: Context) -> None:
        counts: Tally = {}
        tally(kind, args, reply, self.namer, counts)
        self._add(client, counts, ctx, single=kind in _SINGLE_KEY)

    def _add(self, client: _Client, counts: Tally, ctx: Context, single: bool = False) -> None:
        hits = misses = 0
        for name, (name_hits, name_misses) in counts.items():
            hit_slot, miss_slot = client.pair(name)
            for _ in range(name_hits):
                next(hit_slot)
            for _ in range(name_misses):
                next(miss_slot)
            hits += name_hits
            misses += name_misses
        if not hits and not misses:
            return
        span = self._redis_span(ctx)
        if span is not None:
            if not single:
                span.set_attribute(CACHE_HITS, hits)
                span.set_attribute(CACHE_MISSES, misses)
            if not hits or not misses:
                span.set_attribute(CACHE_RESULT, MISS if not hits else HIT)

    def _plan(self, pipeline: Any) -> _Plan | None:
        """The read commands of a pipeline about to run: (stack length, [(index, kind, args)])."""
        stack = _stack(pipeline)
        kinds = self.kinds
        reads = [(i, kinds[args[0]], args) for i, args in enumerate(stack) if args and args[0] in kinds]
        return (len(stack), reads) if reads else None

    def _record_pipeline(self, instance: Any, plan: _Plan, replies: Any, ctx: Context) -> None:
        size, reads = plan
        if not isinstance(replies, list) or len(replies) != size:
            return  # not the shape we planned for (a WATCH-only execute, a future redis-py): count nothing
        counts: Tally = {}
        for index, kind, args in reads:
            reply = replies[index]
            if not isinstance(reply, BaseException):  # errors are neither hits nor misses
                tally(kind, args, reply, self.namer, counts)
        self._add(self._client(instance), counts, ctx)

    # -- patches: made per wrapped function, hot path inlined -------------------------

    def command(self, original: Callable[..., Any]) -> Callable[..., Any]:
        # Every name the hot path uses is a local of this closure: a GET costs a dict
        # lookup, the context lookups, an instance-dict lookup and one next().
        kinds, suppress, plain, span_key = self.kinds, _SUPPRESS_INSTRUMENTATION_KEY, _SUPPRESS_PLAIN, _SPAN_KEY
        pair_key, resolve, record, failed = self._pair_key, self._default_pair, self._record_any, self._failed
        redis_scope, known, get_current = self._is_redis_scope, self._known_scope, _context_getter()
        annotate = self.annotate
        # redis-py 8's execute_command only forwards to _execute_command: call that
        # directly, one frame and one argument repacking fewer (see passthrough_name).
        forward = passthrough_name(original)

        def execute_command(instance: Any, *args: Any, **options: Any) -> Any:
            try:
                kind = kinds.get(args[0])
            except Exception:  # no command name, an unhashable one: not ours to judge
                kind = None
            if kind is None:
                return getattr(instance, forward)(*args, **options) if forward else original(instance, *args, **options)
            ctx = get_current()
            if ctx.get(suppress) or ctx.get(plain):
                return original(instance, *args, **options)
            reply = getattr(instance, forward)(*args, **options) if forward else original(instance, *args, **options)
            try:
                pair = instance.__dict__.get(pair_key)
                if pair is None:
                    pair = resolve(instance)
                if kind == VALUE and pair:  # GET and friends, every key a cache key
                    miss = reply is None
                    next(pair[miss])
                    span: Any = ctx.get(span_key) if annotate else None
                    if span is not None and span.is_recording():
                        scope = getattr(span, "instrumentation_scope", None)  # SDK spans have one
                        if scope is known[0] or redis_scope(scope):
                            span.set_attribute(CACHE_RESULT, MISS if miss else HIT)
                else:
                    record(instance, kind, args, reply, ctx)
            except Exception:
                failed()
            return reply

        return execute_command

    def async_command(self, original: Callable[..., Any]) -> Callable[..., Any]:
        kinds, suppress, plain = self.kinds, _SUPPRESS_INSTRUMENTATION_KEY, _SUPPRESS_PLAIN

        # Synchronous on purpose: a command that is not a read gets the library's own
        # coroutine back, with no extra coroutine frame to drive.
        def execute_command(instance: Any, *args: Any, **options: Any) -> Any:
            try:
                kind = kinds.get(args[0])
                ctx = get_current() if kind is not None else None
            except Exception:
                kind = None
            if kind is None or ctx is None or ctx.get(suppress) or ctx.get(plain):
                return original(instance, *args, **options)
            return self._await_command(original(instance, *args, **options), instance, kind, args, ctx)

        return execute_command

    async def _await_command(
        self, call: Awaitable[Any], instance: Any, kind: int, args: tuple[Any, ...], ctx: Context
    ) -> Any:
        reply = await call
        try:
            self._record_reply(instance, kind, args, reply, ctx)
        except Exception:
            self._failed()
        return reply

    def _pipeline_plan(self, instance: Any) -> tuple[_Plan | None, Context | None]:
        try:
            ctx = get_current()
            if self._suppressed(ctx):
                return None, None
            return self._plan(instance), ctx
        except Exception:
            self._failed()
            return None, None

    def pipeline(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def execute(instance: Any, *args: Any, **kwargs: Any) -> Any:
            plan, ctx = self._pipeline_plan(instance)  # before execute() resets the stack
            if plan is None or ctx is None:
                return original(instance, *args, **kwargs)
            replies = original(instance, *args, **kwargs)
            try:
                self._record_pipeline(instance, plan, replies, ctx)
            except Exception:
                self._failed()
            return replies

        return execute

    def async_pipeline(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def execute(instance: Any, *args: Any, **kwargs: Any) -> Any:
            plan, ctx = self._pipeline_plan(instance)  # now, before the coroutine runs and resets the stack
            if plan is None or ctx is None:
                return original(instance, *args, **kwargs)
            return self._await_pipeline(original(instance, *args, **kwargs), instance, plan, ctx)

        return execute

    async def _await_pipeline(self, call: Awaitable[Any], instance: Any, plan: _Plan, ctx: Context) -> Any:
        replies = await call
        try:
            self._record_pipeline(instance, plan, replies, ctx)
        except Exception:
            self._failed()
        return replies


def _targets(recorder: _Recorder) -> list[tuple[type, str, Callable[[Patch], Patch]]]:
    """(class, method, patch factory) for every part of redis-py this version has."""
    import redis.client

    targets: list[tuple[type, str, Callable[[Patch], Patch]]] = [
        (redis.client.Redis, "execute_command", recorder.command),
        (redis.client.Pipeline, "immediate_execute_command", recorder.command),
        (redis.client.Pipeline, "execute", recorder.pipeline),
    ]
    try:
        import redis.cluster

        targets += [
            (redis.cluster.RedisCluster, "execute_command", recorder.command),
            (redis.cluster.ClusterPipeline, "execute", recorder.pipeline),
        ]
    except ImportError:
        pass
    try:
        import redis.asyncio.client

        targets += [
            (redis.asyncio.client.Redis, "execute_command", recorder.async_command),
            (redis.asyncio.client.Pipeline, "immediate_execute_command", recorder.async_command),
            (redis.asyncio.client.Pipeline, "execute", recorder.async_pipeline),
        ]
    except ImportError:
        pass
    try:
        import redis.asyncio.cluster

        targets += [
            (redis.asyncio.cluster.RedisCluster, "execute_command", recorder.async_command),
            (redis.asyncio.cluster.ClusterPipeline, "execute", recorder.async_pipeline),
        ]
    except ImportError:
        pass
    return targets


class RedisCacheInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Counts Redis cache hits and misses into ``otel_alerting.cache.requests``.

    ``instrument()`` with no argument is what ``opentelemetry-instrument`` does: the
    global MeterProvider and the ``OTEL_PYTHON_ALERTING_CACHE_*`` variables. Tests and
    applications may pass ``meter_provider``, ``cache_metrics`` (a :class:`CacheMetrics`)
    or ``config`` (a :class:`RedisCacheConfig`).
    """

    _recorder: _Recorder | None = None
    _patched: list[tuple[type, str]]

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("redis >= 5",)

    def _instrument(self, **kwargs: Any) -> None:
        self._patched = []
        if not plugin_enabled(kwargs.get("environ")):
            return
        if importlib.util.find_spec("redis") is None:
            # opentelemetry-instrument loads every instrumentor; a service without
            # redis-py has nothing for this one to do, and nothing to complain about.
            _logger.debug("otel-alerting: redis-py is not installed; no Redis cache instrumentation")
            return
        try:
            metrics = kwargs.get("cache_metrics")
            if not isinstance(metrics, CacheMetrics):
                provider = kwargs.get("meter_provider")
                metrics = CacheMetrics(provider) if provider is not None else default_cache_metrics()
            config = kwargs.get("config")
            if not isinstance(config, RedisCacheConfig):
                config = RedisCacheConfig.from_environ()
            self._recorder = recorder = _Recorder(metrics, config)
            for owner, name, make in _targets(recorder):
                wrap_innermost(owner, name, make, recorder)
                self._patched.append((owner, name))
        except Exception:
            # One exception here would end every instrumentation of the process
            # (opentelemetry-instrument runs them all in one try): log and carry on.
            _logger.exception("otel-alerting: Redis cache instrumentation failed; it is off")
            self._undo()

    def _undo(self) -> None:
        recorder = self._recorder
        if recorder is None:
            return
        # An empty command table turns every patch into a pass-through, including one
        # that cannot be removed because another library patched over it.
        recorder.kinds.clear()
        for owner, name in reversed(self._patched):
            try:
                if not unwrap_innermost(owner, name, recorder):
                    _logger.warning(
                        "otel-alerting: %s.%s was re-patched by another library; our patch stays as a pass-through",
                        owner.__qualname__,
                        name,
                    )
            except Exception:
                _logger.exception("otel-alerting: could not unpatch %s.%s", owner.__qualname__, name)
        self._patched = []
        self._recorder = None

    def _uninstrument(self, **kwargs: Any) -> None:
        self._undo()
