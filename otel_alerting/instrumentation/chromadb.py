"""ChromaInstrumentor: duration, errors and a CLIENT span for each ChromaDB collection
operation (``add``, ``query``, ``get``, ``upsert``, ``update``, ``delete``, ``count``),
for embedded and HTTP clients, sync and async.

chromadb is never imported here: importing it costs about half a second, which a
process that does not use it must not pay. ``instrument()`` registers wrapt post-import
hooks, and the methods are wrapped when the application imports chromadb.

Recorded: ``db.client.operation.duration`` with ``db.system.name=chroma``,
``db.operation.name``, ``db.collection.name``, ``db.namespace`` (``tenant|database``),
``server.address``/``server.port`` for HTTP clients and ``error.type`` on failure. Spans
also carry how many ids, queries and results an operation had, never a document, a
metadata value, an embedding or an exception message (a validation error can quote
the data it rejects).

Health of an embedded client: its backend calls (``RustBindingsAPI._add`` and so on)
are wrapped too, and their outcome feeds the ``chroma`` dependency on the shared
health board. Client errors (a missing collection, a bad argument: ChromaDB's 4xx
codes, ``ValueError``, ``TypeError``) do not make it unhealthy; other errors do, and the
next successful call ends the outage. An HTTP client's server is probed instead
(``GET /api/v2/heartbeat``), and added to the probes when none is configured.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from collections.abc import Callable, Collection, Coroutine, Mapping
from typing import Any
from urllib.parse import urlsplit

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.metrics import Histogram, get_meter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from ..config import plugin_enabled
from ..version import __version__
from .probes.runner import active_runner
from .probes.state import DependencyKey, HealthBoard, default_board, error_type_of
from .probes.targets import chroma_target

__all__ = ["EMBEDDED_CHROMA", "OPERATIONS", "ChromaInstrumentor"]

_logger = logging.getLogger("otel_alerting.chromadb")

OPERATIONS = ("add", "query", "get", "upsert", "update", "delete", "count")
EMBEDDED_CHROMA = DependencyKey("chroma")
"""The health-board key of an embedded (in-process) ChromaDB."""

DB_CLIENT_OPERATION_DURATION = "db.client.operation.duration"
# the semantic conventions' advisory buckets for db.client.operation.duration
DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)

DB_SYSTEM_NAME = "db.system.name"
DB_OPERATION_NAME = "db.operation.name"
DB_COLLECTION_NAME = "db.collection.name"
DB_NAMESPACE = "db.namespace"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"
RETURNED_ROWS = "db.response.returned_rows"
IDS_COUNT = "db.chroma.ids.count"
QUERY_COUNT = "db.chroma.query.count"
N_RESULTS = "db.chroma.n_results"
DELETED_COUNT = "db.chroma.deleted.count"
COUNT = "db.chroma.count"

_COLLECTION_MODULE = "chromadb.api.models.Collection"
_ASYNC_COLLECTION_MODULE = "chromadb.api.models.AsyncCollection"
_RUST_MODULE = "chromadb.api.rust"

Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]


class _Telemetry:
    def __init__(self, tracer: trace.Tracer, histogram: Histogram, board: HealthBoard) -> None:
        self.tracer = tracer
        self.histogram = histogram
        self.board = board
        self.seen_servers: set[str] = set()
        self.lock = threading.Lock()

    def begin(self, operation: str, collection: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call | None:
        try:
            name = str(collection.name)
            attributes: dict[str, AttributeValue] = {
                DB_SYSTEM_NAME: "chroma",
                DB_OPERATION_NAME: operation,
                DB_COLLECTION_NAME: name,
                DB_NAMESPACE: f"{collection.tenant}|{collection.database}",
            }
            api_url = getattr(collection._client, "get_api_url", None)
            if api_url is not None:
                url = str(api_url())
                attributes.update(_server_attributes(url))
                self._discover(url)
            span = self.tracer.start_span(
                f"{operation} {name}",
                kind=SpanKind.CLIENT,
                attributes={**attributes, **_request_counts(operation, args, kwargs)},
            )
            token = otel_context.attach(trace.set_span_in_context(span))
            return _Call(self, operation, attributes, span, token)
        except Exception:
            _logger.debug("otel-alerting: cannot trace a chroma %s", operation, exc_info=True)
            return None

    def _discover(self, url: str) -> None:
        if url in self.seen_servers:
            return
        with self.lock:
            if url in self.seen_servers:
                return
            self.seen_servers.add(url)
        runner = active_runner()
        target = chroma_target(url, discovered=True)
        if runner is not None and target is not None:
            runner.discover(target)


class _Call:
    __slots__ = ("attributes", "operation", "span", "started", "telemetry", "token")

    def __init__(
        self, telemetry: _Telemetry, operation: str, attributes: dict[str, AttributeValue], span: Span, token: object
    ) -> None:
        self.telemetry = telemetry
        self.operation = operation
        self.attributes = attributes
        self.span = span
        self.token = token
        self.started = time.perf_counter()

    def finish(self, result: Any, error: BaseException | None) -> None:
        duration = time.perf_counter() - self.started
        try:
            otel_context.detach(self.token)  # type: ignore[arg-type]
            attributes = self.attributes
            if error is not None:
                error_type = error_type_of(error)
                attributes = {**attributes, ERROR_TYPE: error_type}
                self.span.set_attribute(ERROR_TYPE, error_type)
                self.span.set_status(Status(StatusCode.ERROR, error_type))
            else:
                self.span.set_attributes(_result_counts(self.operation, result))
            self.span.end()
            self.telemetry.histogram.record(duration, attributes)
        except Exception:
            _logger.debug("otel-alerting: cannot record a chroma %s", self.operation, exc_info=True)


@functools.lru_cache(maxsize=64)
def _server_attributes(url: str) -> dict[str, AttributeValue]:
    parts = urlsplit(url)
    attributes: dict[str, AttributeValue] = {}
    if parts.hostname:
        attributes[SERVER_ADDRESS] = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
        attributes[SERVER_PORT] = port
    return attributes


def _inputs(value: Any) -> int | None:
    """How many items a ``OneOrMany`` argument holds, without reading them: a string
    or a single embedding (a flat list of numbers) is one."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        return 1
    ndim = getattr(value, "ndim", None)
    if isinstance(ndim, int):
        return 1 if ndim <= 1 else int(value.shape[0])
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], (int, float)):
            return 1
        return len(value)
    return None


def _argument(args: tuple[Any, ...], kwargs: dict[str, Any], name: str, position: int) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[position] if len(args) > position else None


def _request_counts(operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, AttributeValue]:
    counts: dict[str, AttributeValue] = {}
    try:
        if operation == "query":
            for name, position in (("query_embeddings", 0), ("query_texts", 1), ("query_images", 2), ("query_uris", 3)):
                found = _inputs(_argument(args, kwargs, name, position))
                if found is not None:
                    counts[QUERY_COUNT] = found
                    break
            n_results = _argument(args, kwargs, "n_results", 5)
            counts[N_RESULTS] = n_results if isinstance(n_results, int) else 10
            ids = _inputs(_argument(args, kwargs, "ids", 4))
        elif operation == "count":
            ids = None
        else:  # add, upsert, update, get, delete: ids come first
            ids = _inputs(_argument(args, kwargs, "ids", 0))
        if ids is not None:
            counts[IDS_COUNT] = ids
    except Exception:
        _logger.debug("otel-alerting: cannot count the request of a chroma %s", operation, exc_info=True)
    return counts


def _result_counts(operation: str, result: Any) -> dict[str, AttributeValue]:
    try:
        if operation == "get":
            return {RETURNED_ROWS: len(result["ids"])}
        if operation == "query":
            return {RETURNED_ROWS: sum(len(ids) for ids in result["ids"])}
        if operation == "count" and isinstance(result, int):
            return {COUNT: result}
        if operation == "delete" and isinstance(result, Mapping) and isinstance(result.get("deleted"), int):
            return {DELETED_COUNT: result["deleted"]}
    except Exception:
        _logger.debug("otel-alerting: cannot count the result of a chroma %s", operation, exc_info=True)
    return {}


def _is_outage(error: BaseException) -> bool:
    """Whether a backend error says the database is unhealthy, not the request wrong."""
    if not isinstance(error, Exception):  # KeyboardInterrupt, cancellation, ... but a Rust panic is one
        return type(error).__name__ == "PanicException"
    from chromadb.errors import ChromaError

    if isinstance(error, ChromaError):
        return error.code() >= 500
    return not isinstance(error, (ValueError, TypeError, LookupError))


_active: _Telemetry | None = None


def _sync_wrapper(operation: str) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        telemetry = _active
        call = (
            telemetry.begin(operation, instance, args, kwargs) if telemetry and is_instrumentation_enabled() else None
        )
        if call is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            call.finish(None, exc)
            raise
        call.finish(result, None)
        return result

    return wrapper


def _async_wrapper(operation: str) -> Wrapper:
    async def traced(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        telemetry = _active
        call = (
            telemetry.begin(operation, instance, args, kwargs) if telemetry and is_instrumentation_enabled() else None
        )
        if call is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            call.finish(None, exc)
            raise
        call.finish(result, None)
        return result

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Coroutine[Any, Any, Any]:
        return traced(wrapped, instance, args, kwargs)

    return wrapper


def _backend_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    telemetry = _active
    if telemetry is None:
        return wrapped(*args, **kwargs)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        try:
            if _is_outage(exc):
                telemetry.board.record(EMBEDDED_CHROMA, False, error_type=error_type_of(exc))
        except Exception:
            _logger.debug("otel-alerting: cannot record the health of chroma", exc_info=True)
        raise
    telemetry.board.record(EMBEDDED_CHROMA, True)
    return result


_SYNC_WRAPPERS = {op: _sync_wrapper(op) for op in OPERATIONS}
_ASYNC_WRAPPERS = {op: _async_wrapper(op) for op in OPERATIONS}

# (module, class, method, wrapper) of every wrap
_TARGETS: tuple[tuple[str, str, str, Wrapper], ...] = (
    *((_COLLECTION_MODULE, "Collection", op, _SYNC_WRAPPERS[op]) for op in OPERATIONS),
    *((_ASYNC_COLLECTION_MODULE, "AsyncCollection", op, _ASYNC_WRAPPERS[op]) for op in OPERATIONS),
    *((_RUST_MODULE, "RustBindingsAPI", f"_{op}", _backend_wrapper) for op in OPERATIONS),
)
_MODULES = (_COLLECTION_MODULE, _ASYNC_COLLECTION_MODULE, _RUST_MODULE)
_hooks_registered = False
_wrap_lock = threading.Lock()


def _is_ours(attribute: Any, wrapper: Wrapper) -> bool:
    return isinstance(attribute, wrapt.FunctionWrapper) and attribute._self_wrapper is wrapper


def _wrap_module(module: Any) -> None:
    """The post-import hook: wrap what ``module`` defines, once, while instrumented."""
    if _active is None:
        return
    with _wrap_lock:
        for module_name, class_name, method, wrapper in _TARGETS:
            if module_name != module.__name__:
                continue
            owner = getattr(module, class_name, None)
            if owner is None or method not in owner.__dict__ or _is_ours(owner.__dict__[method], wrapper):
                continue
            try:
                wrapt.wrap_function_wrapper(owner, method, wrapper)
            except Exception:
                _logger.exception("otel-alerting: cannot instrument %s.%s", class_name, method)


def _unwrap_all() -> None:
    with _wrap_lock:
        for module_name, class_name, method, wrapper in _TARGETS:
            owner = getattr(sys.modules.get(module_name), class_name, None)
            if owner is None:
                continue
            attribute = owner.__dict__.get(method)
            # Another instrumentation may have wrapped outside ours: then ours stays, as a
            # pass-through (``_active`` is None), rather than taking theirs off with it.
            if _is_ours(attribute, wrapper):
                setattr(owner, method, attribute.__wrapped__)


class ChromaInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    def instrumentation_dependencies(self) -> Collection[str]:
        return ("chromadb >= 1.0",)

    def _instrument(self, **kwargs: Any) -> None:
        global _active, _hooks_registered
        if not plugin_enabled(kwargs.get("environ")):
            return
        try:
            tracer = trace.get_tracer("otel_alerting.chromadb", __version__, kwargs.get("tracer_provider"))
            meter = get_meter("otel_alerting.chromadb", __version__, kwargs.get("meter_provider"))
            histogram = meter.create_histogram(
                DB_CLIENT_OPERATION_DURATION,
                unit="s",
                description="Duration of database client operations.",
                explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
            )
            _active = _Telemetry(tracer, histogram, kwargs.get("board") or default_board())
            if not _hooks_registered:
                _hooks_registered = True
                for name in _MODULES:  # runs the hook now for a module already imported
                    wrapt.register_post_import_hook(_wrap_module, name)
            else:
                for name in _MODULES:
                    if name in sys.modules:
                        _wrap_module(sys.modules[name])
        except Exception:
            _logger.exception("otel-alerting: cannot instrument chromadb")

    def _uninstrument(self, **kwargs: Any) -> None:
        global _active
        _active = None
        try:
            _unwrap_all()
        except Exception:
            _logger.exception("otel-alerting: cannot uninstrument chromadb")
