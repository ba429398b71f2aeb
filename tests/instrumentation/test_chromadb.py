"""ChromaDB operations against real ChromaDB: embedded (EphemeralClient, and a
PersistentClient whose storage the test breaks and repairs) and ``chroma run`` as a
server the test stops and starts, with the sync and async HTTP clients.

Every collection gets the test's own embedding function: chromadb's default one
downloads a model, and there is no network here.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import wrapt
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.errors import InternalError, InvalidArgumentError
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from otel_alerting.instrumentation.chromadb import DURATION_BUCKETS, EMBEDDED_CHROMA, ChromaInstrumentor
from otel_alerting.instrumentation.dependencies import DependencyHealthInstrumentor
from otel_alerting.instrumentation.probes import DependencyKey, HealthBoard
from otel_alerting.testing import RuleTester

from .servers import ChromaServer

SECRET_DOC = "TOP-SECRET-document-text"
SECRET_META = "confidential-metadata-value"
SECRET_VALUE = 0.123456789
DB = {"db.system.name": "chroma", "db.namespace": "default_tenant|default_database"}


class TestEmbeddings(EmbeddingFunction[Documents]):
    """A deterministic embedding function: three numbers per text, no model."""

    __test__ = False

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:
        return [np.array([float(len(text)), float(text.count("e")), 1.0], dtype=np.float32) for text in input]

    @staticmethod
    def name() -> str:
        return "otel-alerting-test"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> TestEmbeddings:
        return TestEmbeddings()


def embeddings() -> Any:
    """chromadb's stubs want ``EmbeddingFunction[Embeddable]``; texts are all these tests embed."""
    return TestEmbeddings()


@dataclass
class Telemetry:
    spans: InMemorySpanExporter
    reader: InMemoryMetricReader
    board: HealthBoard
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def durations(self) -> list[HistogramDataPoint]:
        data = self.reader.get_metrics_data()
        found: list[HistogramDataPoint] = []
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == "db.client.operation.duration":
                        found += [p for p in metric.data.data_points if isinstance(p, HistogramDataPoint)]
        return found

    def counts(self) -> dict[tuple[str, str | None], int]:
        """(operation, error.type) -> number of recorded durations."""
        out: dict[tuple[str, str | None], int] = {}
        for p in self.durations():
            attributes = dict(p.attributes or {})
            error = attributes.get("error.type")
            key = (str(attributes["db.operation.name"]), None if error is None else str(error))
            out[key] = out.get(key, 0) + p.count
        return out


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    board = HealthBoard()
    instrumentor = ChromaInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, board=board)
    yield Telemetry(spans, reader, board, tracer_provider, meter_provider)
    instrumentor.uninstrument()
    tracer_provider.shutdown()
    meter_provider.shutdown()


def settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def text_of_everything(spans: list[ReadableSpan]) -> str:
    parts = []
    for span in spans:
        parts += [span.name, span.status.description or ""]
        parts += [f"{k}={v!r}" for k, v in (span.attributes or {}).items()]
        parts += [f"{k}={v!r}" for e in span.events for k, v in (e.attributes or {}).items()]
    return "\n".join(parts)


def test_embedded_operations_record_spans_and_durations_without_data(telemetry: Telemetry) -> None:
    import chromadb

    client = chromadb.EphemeralClient(settings=settings())
    name = unique("docs")
    collection = client.get_or_create_collection(name, embedding_function=embeddings())
    collection.add(
        ids=["a", "b", "c"],
        documents=[SECRET_DOC, "plain", "three"],
        metadatas=[{"tag": SECRET_META}, {"tag": "x"}, {"tag": "y"}],
    )
    collection.upsert(ids="d", embeddings=[SECRET_VALUE, 1.0, 2.0])
    collection.update(ids=["d"], documents=["updated"])
    assert collection.count() == 4
    found = collection.query(query_texts=["plain", "three"], n_results=2)
    assert len(found["ids"]) == 2
    assert collection.get(ids=["a", "b"])["ids"] == ["a", "b"]
    assert collection.delete(ids=["c"]) == {"deleted": 1}
    with pytest.raises(InvalidArgumentError, match="dimension"):
        collection.add(ids=["bad"], embeddings=[[1.0, 2.0]])  # type: ignore[arg-type]  # wrong dimension

    spans = telemetry.finished()
    by_name = {s.name.split()[0]: s for s in spans}
    assert [s.name for s in spans] == [
        f"{op} {name}" for op in ("add", "upsert", "update", "count", "query", "get", "delete", "add")
    ]
    assert all(s.kind is SpanKind.CLIENT for s in spans)
    expected = {
        "add": {"db.chroma.ids.count": 3},
        "upsert": {"db.chroma.ids.count": 1},
        "update": {"db.chroma.ids.count": 1},
        "count": {"db.chroma.count": 4},
        "query": {"db.chroma.query.count": 2, "db.chroma.n_results": 2, "db.response.returned_rows": 4},
        "get": {"db.chroma.ids.count": 2, "db.response.returned_rows": 2},
        "delete": {"db.chroma.ids.count": 1, "db.chroma.deleted.count": 1},
    }
    for operation, extra in expected.items():
        attributes = dict(spans[list(expected).index(operation)].attributes or {})
        assert attributes == {**DB, "db.operation.name": operation, "db.collection.name": name, **extra}, operation
    failed = spans[-1]
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "chromadb.errors.InvalidArgumentError"
    assert "query" in by_name

    everything = text_of_everything(spans)
    for secret in (SECRET_DOC, SECRET_META, str(SECRET_VALUE), "plain", "updated"):
        assert secret not in everything

    counts = telemetry.counts()
    assert counts == {
        ("add", None): 1,
        ("upsert", None): 1,
        ("update", None): 1,
        ("count", None): 1,
        ("query", None): 1,
        ("get", None): 1,
        ("delete", None): 1,
        ("add", "chromadb.errors.InvalidArgumentError"): 1,
    }
    point = telemetry.durations()[0]
    assert tuple(point.explicit_bounds) == DURATION_BUCKETS
    attributes = dict(point.attributes or {})
    assert "server.address" not in attributes and attributes["db.collection.name"] == name

    # a client error is the caller's, not the database's: the embedded chroma stays up
    health = telemetry.board.get(EMBEDDED_CHROMA)
    assert health is not None and health.up


def test_embedded_storage_failure_makes_chroma_down_until_an_operation_succeeds(
    tmp_path: Path, telemetry: Telemetry
) -> None:
    import chromadb

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        textwrap.dedent(
            """
            rules:
              - alert: ChromaDown
                expr:
                  value: {metric: otel_alerting.dependency.downtime, match: {otel_alerting.dependency.name: chroma}}
                above: {medium: 60, high: 300}
            """
        )
    )
    with RuleTester(rules, environ={"OTEL_PYTHON_ALERTING_RULE_CHROMADOWN_ABOVE": "medium:1,high:2"}) as tester:
        board = HealthBoard(clock=tester.clock)
        ChromaInstrumentor().uninstrument()
        ChromaInstrumentor().instrument(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider, board=board
        )
        DependencyHealthInstrumentor().instrument(meter_provider=tester.provider, board=board, environ={}, start=False)
        try:
            client = chromadb.PersistentClient(path=str(tmp_path / "chroma"), settings=settings())
            collection = client.get_or_create_collection(unique("kb"), embedding_function=embeddings())
            collection.add(ids=["a"], documents=["hello"])
            database = tmp_path / "chroma" / "chroma.sqlite3"
            healthy = database.read_bytes()

            database.write_bytes(b"\0" * len(healthy))  # the storage under the database breaks
            with pytest.raises(InternalError):
                collection.count()
            health = board.get(EMBEDDED_CHROMA)
            assert health is not None and not health.up
            assert health.last_error_type == "chromadb.errors.InternalError"
            tester.evaluate()
            tester.clock.advance(1)
            tester.evaluate()
            tester.assert_firing("ChromaDown", "medium")
            tester.clock.advance(1)
            with pytest.raises(InternalError):
                collection.get(ids=["a"])
            tester.evaluate()
            tester.assert_firing("ChromaDown", "high")

            database.write_bytes(healthy)  # repaired: the next operation succeeds
            tester.clock.advance(0.5)
            assert collection.count() == 1
            health = board.get(EMBEDDED_CHROMA)
            assert health is not None and health.up and health.downtime == 0
            tester.evaluate()
            assert tester.assert_resolved("ChromaDown").fired_for == pytest.approx(1.5)
        finally:
            DependencyHealthInstrumentor().uninstrument()
    assert telemetry.counts()[("count", "chromadb.errors.InternalError")] == 1


def test_http_clients_record_the_server_and_its_outage(tmp_path: Path, telemetry: Telemetry) -> None:
    import chromadb

    dependencies = DependencyHealthInstrumentor()
    dependencies.instrument(board=telemetry.board, environ={}, start=False)  # no chroma configured
    try:
        with ChromaServer(tmp_path / "server") as server:
            client = chromadb.HttpClient(host="127.0.0.1", port=server.port, settings=settings())
            name = unique("remote")
            collection = client.get_or_create_collection(name, embedding_function=embeddings())
            collection.add(ids=["a", "b"], documents=["one", "two"])
            assert collection.count() == 2

            # the server in use is probed although no variable names it
            runner = dependencies.runner
            assert runner is not None
            assert [t.key for t in runner.targets] == [DependencyKey("chroma", "127.0.0.1", server.port)]
            assert [r.ok for r in runner.check_now()] == [True]

            server.stop()
            with pytest.raises(httpx.ConnectError):
                collection.count()
            assert [r.error_type for r in runner.check_now()] == ["httpx.ConnectError"]
            server.start()
            assert collection.count() == 2
            assert [r.ok for r in runner.check_now()] == [True]

            async def use_async_client() -> int:
                async_client = await chromadb.AsyncHttpClient(host="127.0.0.1", port=server.port, settings=settings())
                async_collection = await async_client.get_collection(name, embedding_function=embeddings())
                await async_collection.upsert(ids=["c"], documents=["three"])
                found = await async_collection.query(query_texts=["one"], n_results=3)
                return sum(len(ids) for ids in found["ids"])

            assert asyncio.run(use_async_client()) == 3
    finally:
        dependencies.uninstrument()

    server_attributes = {"server.address": "127.0.0.1", "server.port": server.port}
    spans = telemetry.finished()
    assert [s.name.split()[0] for s in spans] == ["add", "count", "count", "count", "upsert", "query"]
    for span in spans:
        assert {k: (span.attributes or {})[k] for k in server_attributes} == server_attributes
    assert (spans[2].attributes or {})["error.type"] == "httpx.ConnectError"
    assert (spans[-1].attributes or {})["db.response.returned_rows"] == 3
    for point in telemetry.durations():
        assert {k: (point.attributes or {}).get(k) for k in server_attributes} == server_attributes
    assert telemetry.counts()[("count", "httpx.ConnectError")] == 1
    # an HTTP client's errors are not the embedded database's health
    assert telemetry.board.get(EMBEDDED_CHROMA) is None
    print(f"chroma run: heartbeat answered after {', '.join(f'{s:.2f}s' for s in server.start_seconds)}")


def test_uninstrument_restores_the_methods(telemetry: Telemetry) -> None:
    import chromadb
    from chromadb.api.models.Collection import Collection
    from chromadb.api.rust import RustBindingsAPI

    assert isinstance(Collection.__dict__["query"], wrapt.FunctionWrapper)
    ChromaInstrumentor().uninstrument()
    try:
        assert not isinstance(Collection.__dict__["query"], wrapt.FunctionWrapper)
        assert not isinstance(RustBindingsAPI.__dict__["_query"], wrapt.FunctionWrapper)
        collection = chromadb.EphemeralClient(settings=settings()).get_or_create_collection(
            unique("plain"),
            embedding_function=embeddings(),
        )
        collection.add(ids=["a"], documents=["x"])
        assert telemetry.finished() == [] and telemetry.durations() == []
    finally:
        ChromaInstrumentor().instrument(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider, board=telemetry.board
        )
    assert isinstance(Collection.__dict__["query"], wrapt.FunctionWrapper)


LAZY_SCRIPT = """
import sys, time
import wrapt
from otel_alerting.instrumentation.chromadb import ChromaInstrumentor

started = time.perf_counter()
ChromaInstrumentor().instrument()
took = time.perf_counter() - started
if "chromadb" in sys.modules:
    sys.exit("instrument() imported chromadb")
from chromadb.api.models.AsyncCollection import AsyncCollection
from chromadb.api.models.Collection import Collection
from chromadb.api.rust import RustBindingsAPI
wrapped = [isinstance(c.__dict__[m], wrapt.FunctionWrapper)
           for c, m in ((Collection, "add"), (AsyncCollection, "query"), (RustBindingsAPI, "_count"))]
print(f"instrument {took:.4f}s wrapped {wrapped}")
"""


def test_chromadb_is_imported_only_when_the_application_imports_it(tmp_path: Path) -> None:
    script = tmp_path / "lazy.py"
    script.write_text(LAZY_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "wrapped [True, True, True]" in done.stdout, done.stdout
    took = float(done.stdout.split()[1].rstrip("s"))
    assert took < 0.1, f"instrument() took {took}s"
