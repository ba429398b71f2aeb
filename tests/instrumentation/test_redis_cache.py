"""RedisCacheInstrumentor against real redis-server processes."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.client
import redis.cluster
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from redis.backoff import NoBackoff
from redis.retry import Retry

from otel_alerting.environment_variables import (
    OTEL_PYTHON_ALERTING_CACHE_COMMANDS,
    OTEL_PYTHON_ALERTING_CACHE_KEY_PREFIXES,
    OTEL_PYTHON_ALERTING_CACHE_NAME,
    OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES,
)
from otel_alerting.instrumentation import redis_cache
from otel_alerting.instrumentation._redis_commands import KeyNamer, Kind, RedisCacheConfig, tally
from otel_alerting.instrumentation.cache import CACHE_RESULT
from otel_alerting.instrumentation.redis_cache import CACHE_HITS, CACHE_MISSES, RedisCacheInstrumentor

from .cache_support import Harness, harness_fixture  # noqa: F401
from .servers import RedisCluster, RedisServer, redis_cluster_fixture, redis_server_fixture  # noqa: F401

PATCHED = [
    (redis.client.Redis, "execute_command"),
    (redis.client.Pipeline, "immediate_execute_command"),
    (redis.client.Pipeline, "execute"),
    (redis.cluster.RedisCluster, "execute_command"),
    (redis.cluster.ClusterPipeline, "execute"),
    (redis.asyncio.client.Redis, "execute_command"),
    (redis.asyncio.client.Pipeline, "immediate_execute_command"),
    (redis.asyncio.client.Pipeline, "execute"),
    (redis.asyncio.cluster.RedisCluster, "execute_command"),
    (redis.asyncio.cluster.ClusterPipeline, "execute"),
]
ORIGINALS = {(owner, name): owner.__dict__[name] for owner, name in PATCHED}


def originals_restored() -> bool:
    return all(owner.__dict__.get(name) is ORIGINALS[owner, name] for owner, name in PATCHED)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        OTEL_PYTHON_ALERTING_CACHE_COMMANDS,
        OTEL_PYTHON_ALERTING_CACHE_KEY_PREFIXES,
        OTEL_PYTHON_ALERTING_CACHE_NAME,
        OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES,
    ):
        monkeypatch.delenv(name, raising=False)
    # The span attribute is opt-in; these tests exercise it unless one turns it off.
    monkeypatch.setenv(OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES, "true")
    yield
    # Whatever a test did, the next one starts from redis-py as shipped.
    if RedisCacheInstrumentor().is_instrumented_by_opentelemetry:
        RedisCacheInstrumentor().uninstrument()
    if RedisInstrumentor().is_instrumented_by_opentelemetry:
        RedisInstrumentor().uninstrument()
    assert originals_restored()


@pytest.fixture
def server(redis_server: RedisServer) -> RedisServer:
    redis_server.flush()
    return redis_server


@pytest.fixture
def client(server: RedisServer) -> Iterator[redis.Redis]:
    r = redis.Redis.from_url(server.url)
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def instrumented(harness: Harness) -> Iterator[Harness]:
    RedisCacheInstrumentor().instrument(cache_metrics=harness.metrics, config=RedisCacheConfig())
    yield harness
    RedisCacheInstrumentor().uninstrument()


# -- sync client, reply classification -------------------------------------------------


def test_get_hit_miss_and_empty_string(server: RedisServer, client: redis.Redis, instrumented: Harness) -> None:
    client.set("full", "v")
    client.set("empty", "")
    assert client.get("full") == b"v"
    assert client.get("empty") == b""  # an empty string is a hit
    assert client.get("absent") is None
    instrumented.assert_shape()
    points = sorted(instrumented.points(), key=lambda p: str(p[CACHE_RESULT]))
    common = {
        "db.system.name": "redis",
        "db.namespace": "0",
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "otel_alerting.cache.name": "redis",
    }
    assert points == [{**common, CACHE_RESULT: "hit", "value": 2}, {**common, CACHE_RESULT: "miss", "value": 1}]


def test_db_namespace_is_the_database_index(server: RedisServer, instrumented: Harness) -> None:
    r = redis.Redis.from_url(f"redis://127.0.0.1:{server.port}/3")
    r.get("x")
    r.close()
    assert {p["db.namespace"] for p in instrumented.points()} == {"3"}


Setup = Callable[[redis.Redis], Any]
Call = Callable[[redis.Redis], Any]

REPLIES: list[tuple[str, Setup, Call, tuple[int, int]]] = [
    ("GETEX hit", lambda r: r.set("k", "v"), lambda r: r.getex("k", ex=60), (1, 0)),
    ("GETEX miss", lambda r: None, lambda r: r.getex("k"), (0, 1)),
    ("GETDEL hit then miss", lambda r: r.set("k", "v"), lambda r: [r.getdel("k"), r.getdel("k")], (1, 1)),
    ("HGET", lambda r: r.hset("h", "f", "v"), lambda r: [r.hget("h", "f"), r.hget("h", "g"), r.hget("x", "f")], (1, 2)),
    ("LINDEX", lambda r: r.rpush("l", "a", "b"), lambda r: [r.lindex("l", 1), r.lindex("l", 5)], (1, 1)),
    ("ZSCORE", lambda r: r.zadd("z", {"m": 0}), lambda r: [r.zscore("z", "m"), r.zscore("z", "n")], (1, 1)),
    ("MGET per key", lambda r: r.mset({"a": "1", "b": ""}), lambda r: r.mget("a", "b", "c", "d"), (2, 2)),
    ("HMGET per field", lambda r: r.hset("h", mapping={"f": "1"}), lambda r: r.hmget("h", ["f", "g", "i"]), (1, 2)),
    ("HMGET missing hash", lambda r: None, lambda r: r.hmget("h", ["f", "g"]), (0, 2)),
    ("EXISTS per key", lambda r: r.mset({"a": "1", "b": "2"}), lambda r: r.exists("a", "b", "c"), (2, 1)),
    ("EXISTS one", lambda r: None, lambda r: r.exists("a"), (0, 1)),
    ("HGETALL", lambda r: r.hset("h", "f", "v"), lambda r: [r.hgetall("h"), r.hgetall("none")], (1, 1)),
    ("writes are not lookups", lambda r: None, lambda r: [r.set("a", "1"), r.incr("n"), r.delete("a")], (0, 0)),
]


@pytest.mark.parametrize(("setup", "call", "expected"), [r[1:] for r in REPLIES], ids=[r[0] for r in REPLIES])
def test_reply_classification(
    client: redis.Redis, harness: Harness, setup: Setup, call: Call, expected: tuple[int, int]
) -> None:
    setup(client)  # before instrumenting: setup reads are not counted
    RedisCacheInstrumentor().instrument(cache_metrics=harness.metrics, config=RedisCacheConfig())
    call(client)
    counts = harness.counts()
    assert (counts.get(("redis", "hit"), 0), counts.get(("redis", "miss"), 0)) == expected


def test_json_get_classification() -> None:
    # redis-server 7.0 has no RedisJSON module: the reply rule is checked directly, and
    # the real server's "unknown command" is the error case below.
    namer = KeyNamer(RedisCacheConfig())
    counts: dict[str, list[int]] = {}
    tally(Kind.VALUE, ("JSON.GET", "doc", "$.a"), [1], namer, counts)
    tally(Kind.VALUE, ("JSON.GET", "doc"), None, namer, counts)
    assert counts == {"redis": [1, 1]}


def test_errors_are_neither_and_pass_through(client: redis.Redis, instrumented: Harness) -> None:
    client.hset("h", "f", "v")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        client.get("h")
    with pytest.raises(redis.ResponseError, match="unknown command"):
        client.json().get("doc")
    assert instrumented.counts() == {}


def test_connection_errors_pass_through_unchanged(instrumented: Harness) -> None:
    r = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    with pytest.raises(redis.ConnectionError):
        r.get("k")
    assert instrumented.counts() == {}


def test_suppressed_instrumentation_is_not_counted(client: redis.Redis, instrumented: Harness) -> None:
    with suppress_instrumentation():
        client.get("k")
        client.pipeline().get("k").execute()
    client.get("k")
    assert instrumented.counts() == {("redis", "miss"): 1}


def test_instrument_twice_counts_once(client: redis.Redis, harness: Harness) -> None:
    RedisCacheInstrumentor().instrument(cache_metrics=harness.metrics, config=RedisCacheConfig())
    RedisCacheInstrumentor().instrument(cache_metrics=harness.metrics, config=RedisCacheConfig())
    client.get("k")
    assert harness.counts() == {("redis", "miss"): 1}


def test_uninstrument_restores_redis_py(client: redis.Redis, harness: Harness) -> None:
    RedisCacheInstrumentor().instrument(cache_metrics=harness.metrics, config=RedisCacheConfig())
    assert not originals_restored()
    client.get("k")
    RedisCacheInstrumentor().uninstrument()
    assert originals_restored()
    client.get("k")
    client.pipeline().get("k").execute()
    assert harness.counts() == {("redis", "miss"): 1}


# -- pipelines and transactions ------------------------------------------------------------


def test_pipeline_counts_each_read_of_the_stack(client: redis.Redis, instrumented: Harness) -> None:
    client.set("a", "1")
    pipe = client.pipeline(transaction=False)
    pipe.get("a").set("b", "2").get("b").get("c").mget("a", "z").exists("a", "z").hgetall("none")
    assert pipe.execute() == [b"1", True, b"2", None, [b"1", None], 1, {}]
    assert instrumented.counts() == {("redis", "hit"): 4, ("redis", "miss"): 4}


def test_pipeline_errors_are_neither(client: redis.Redis, instrumented: Harness) -> None:
    client.hset("h", "f", "v")
    client.set("a", "1")
    pipe = client.pipeline(transaction=False)
    pipe.get("h").get("a")
    replies = pipe.execute(raise_on_error=False)
    assert isinstance(replies[0], redis.ResponseError)
    assert instrumented.counts() == {("redis", "hit"): 1}
    # raise_on_error (the default): the pipeline raises, nothing is counted
    with pytest.raises(redis.ResponseError):
        client.pipeline(transaction=False).get("h").get("a").execute()
    assert instrumented.counts() == {("redis", "hit"): 1}


def test_transaction_multi_exec(client: redis.Redis, instrumented: Harness) -> None:
    client.set("a", "1")
    with client.pipeline(transaction=True) as pipe:
        pipe.get("a").get("b").incr("n").hget("h", "f")
        assert pipe.execute() == [b"1", None, 1, None]
    assert instrumented.counts() == {("redis", "hit"): 1, ("redis", "miss"): 2}


def test_transaction_with_watch_counts_immediate_reads(client: redis.Redis, instrumented: Harness) -> None:
    client.set("balance", "10")

    def spend(pipe: redis.client.Pipeline) -> None:
        balance = int(pipe.get("balance") or 0)  # immediate: the pipeline is WATCHing
        pipe.multi()
        pipe.set("balance", balance - 1)
        pipe.get("audit")

    assert client.transaction(spend, "balance") == [True, None]
    assert client.get("balance") == b"9"
    assert instrumented.counts() == {("redis", "hit"): 2, ("redis", "miss"): 1}


def test_empty_pipeline(client: redis.Redis, instrumented: Harness) -> None:
    assert client.pipeline().execute() == []
    assert instrumented.counts() == {}


# -- asyncio -------------------------------------------------------------------------------


def test_asyncio_client_pipeline_and_transaction(server: RedisServer, instrumented: Harness) -> None:
    async def main() -> None:
        r = redis.asyncio.Redis.from_url(server.url)
        await r.set("a", "1")
        assert await r.get("a") == b"1"
        assert await r.get("b") is None
        assert await r.mget("a", "b") == [b"1", None]
        async with r.pipeline(transaction=False) as pipe:
            pipe.get("a").get("b").set("c", "3")
            assert await pipe.execute() == [b"1", None, True]
        async with r.pipeline(transaction=True) as pipe:
            pipe.get("a").hgetall("h")
            assert await pipe.execute() == [b"1", {}]
        await r.aclose()

    asyncio.run(main())
    assert instrumented.counts() == {("redis", "hit"): 4, ("redis", "miss"): 4}


def test_asyncio_watch_reads_and_errors(server: RedisServer, instrumented: Harness) -> None:
    async def main() -> None:
        r = redis.asyncio.Redis.from_url(server.url)
        await r.hset("h", "f", "v")
        async with r.pipeline() as pipe:
            await pipe.watch("k")
            assert await pipe.get("k") is None  # immediate while watching
            pipe.multi()
            pipe.set("k", "1")
            await pipe.execute()
        with pytest.raises(redis.ResponseError):
            await r.get("h")
        await r.aclose()

    asyncio.run(main())
    assert instrumented.counts() == {("redis", "miss"): 1}


def test_no_increment_is_lost_between_tasks(server: RedisServer, instrumented: Harness) -> None:
    tasks_n, per_task = 50, 40

    async def main() -> None:
        r = redis.asyncio.Redis.from_url(server.url)
        await r.set("hit", "1")

        async def work(n: int) -> None:
            for i in range(per_task):
                await r.get("hit" if (n + i) % 2 else "miss")

        await asyncio.gather(*(work(n) for n in range(tasks_n)))
        await r.aclose()

    asyncio.run(main())
    half = tasks_n * per_task // 2
    assert instrumented.counts() == {("redis", "hit"): half, ("redis", "miss"): half}


# -- threads -------------------------------------------------------------------------------


def test_no_increment_is_lost_between_threads(server: RedisServer, instrumented: Harness) -> None:
    threads_n, per_thread = 8, 500
    r = redis.Redis.from_url(server.url, max_connections=threads_n)
    r.set("hit", "1")
    start = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                r.get("hit" if (n + i) % 2 else "miss")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r.close()
    assert not errors
    half = threads_n * per_thread // 2
    assert instrumented.counts() == {("redis", "hit"): half, ("redis", "miss"): half}


# -- configuration ---------------------------------------------------------------------------


def test_key_prefixes_from_the_environment(
    client: redis.Redis, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(OTEL_PYTHON_ALERTING_CACHE_KEY_PREFIXES, "sess:, llm=llm:cache:, llm:cache:emb:")
    RedisCacheInstrumentor().instrument(cache_metrics=harness.metrics)
    client.set("sess:1", "s")
    client.get("sess:1")
    client.get(b"sess:2")  # bytes keys match too
    client.get("llm:cache:q")
    client.get("llm:cache:emb:q")  # the longest prefix wins: cache "llm:cache:emb"
    client.get("other")  # no prefix: not a cache lookup
    client.mget("sess:1", "llm:cache:x", "other")  # per key
    client.exists("sess:1", "sess:9")  # one cache: split
    client.exists("sess:1", "llm:cache:x")  # two caches: the count cannot be split
    assert harness.counts() == {
        ("sess", "hit"): 3,
        ("sess", "miss"): 2,
        ("llm", "miss"): 2,
        ("llm:cache:emb", "miss"): 1,
    }


def test_cache_name_and_commands_from_the_environment(
    client: redis.Redis, harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(OTEL_PYTHON_ALERTING_CACHE_NAME, "answers")
    monkeypatch.setenv(OTEL_PYTHON_ALERTING_CACHE_COMMANDS, "get, hgetall, SMEMBERS")
    with caplog.at_level(logging.WARNING, logger="otel_alerting"):
        RedisCacheInstrumentor().instrument(cache_metrics=harness.metrics)
    assert "SMEMBERS" in caplog.text
    client.get("a")
    client.mget("a", "b")  # not in the configured set
    client.hgetall("h")
    assert harness.counts() == {("answers", "miss"): 2}


def test_configuration_parsing(caplog: pytest.LogCaptureFixture) -> None:
    config = RedisCacheConfig.from_environ(
        {
            OTEL_PYTHON_ALERTING_CACHE_KEY_PREFIXES: "session:, llm=llm:cache: ,=x:, ,emb/",
            OTEL_PYTHON_ALERTING_CACHE_COMMANDS: "smembers",
            OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES: "maybe",
        }
    )
    assert config.prefixes == (("llm:cache:", "llm"), ("session:", "session"), ("emb/", "emb"))
    assert config.commands == RedisCacheConfig().commands  # nothing known left: the default
    assert config.span_attributes is False  # an invalid value falls back to the default: off
    assert config.cache_name == "redis"
    for fragment in ("'=x:'", "SMEMBERS", "no known command left", "'maybe'"):
        assert fragment in caplog.text
    assert RedisCacheConfig.from_environ({OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES: "False"}).span_attributes is False
    namer = KeyNamer(config)
    keys = ("llm:cache:1", b"session:2", "emb/3", "other", 42)
    assert [namer(k) for k in keys] == ["llm", "session", "emb", None, None]
    assert KeyNamer(RedisCacheConfig(prefixes=(("4", "numbers"),)))(42) == "numbers"  # redis-py sends str(42)


def test_lower_case_commands_sent_by_hand(client: redis.Redis, instrumented: Harness) -> None:
    client.execute_command("get", "a")
    client.execute_command("Get", "a")  # mixed case: redis accepts it, we do not look for it
    assert instrumented.counts() == {("redis", "miss"): 1}


# -- robustness ------------------------------------------------------------------------------


def test_a_failure_of_ours_never_reaches_the_application(
    client: redis.Redis, instrumented: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(instance: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(redis_cache, "connection_attributes", broken)
    client.set("a", "1")
    with caplog.at_level(logging.WARNING, logger="otel_alerting"):
        assert client.get("a") == b"1"
        assert client.pipeline().get("a").execute() == [b"1"]
    assert "counting a Redis cache lookup failed" in caplog.text


def test_a_failing_instrument_logs_and_leaves_redis_alone(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = redis_cache._targets

    def half_broken(recorder: Any) -> list[Any]:
        targets = real(recorder)
        return [*targets[:2], (object, "no_such_method", recorder.command)]

    monkeypatch.setattr(redis_cache, "_targets", half_broken)
    RedisCacheInstrumentor().instrument(cache_metrics=harness.metrics, config=RedisCacheConfig())
    assert "Redis cache instrumentation failed" in caplog.text
    assert originals_restored()


def test_the_dependency_is_declared() -> None:
    assert RedisCacheInstrumentor().instrumentation_dependencies() == ("redis >= 5",)


# -- with opentelemetry-instrumentation-redis --------------------------------------------------


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def _cache_attributes(span: ReadableSpan) -> dict[str, Any]:
    return {k: v for k, v in (span.attributes or {}).items() if k.startswith("otel_alerting.")}


@pytest.mark.parametrize("contrib_first", [True, False], ids=["contrib-then-ours", "ours-then-contrib"])
def test_coexists_with_the_redis_instrumentation(
    server: RedisServer,
    client: redis.Redis,
    harness: Harness,
    spans: tuple[TracerProvider, InMemorySpanExporter],
    contrib_first: bool,
) -> None:
    provider, exporter = spans

    def contrib() -> None:
        RedisInstrumentor().instrument(tracer_provider=provider)

    def ours() -> None:
        RedisCacheInstrumentor().instrument(
            cache_metrics=harness.metrics, config=RedisCacheConfig(span_attributes=True)
        )

    for instrument in (contrib, ours) if contrib_first else (ours, contrib):
        instrument()
    client.set("a", "1")
    client.get("a")
    client.get("b")
    client.mget("a", "b", "c")
    client.pipeline(transaction=True).get("a").get("b").set("c", "1").execute()
    client.pipeline(transaction=False).get("a").get("a").execute()

    async def main() -> None:
        r = redis.asyncio.Redis.from_url(server.url)
        await r.get("a")
        await r.aclose()

    asyncio.run(main())
    annotated = [(s.name, _cache_attributes(s)) for s in exporter.get_finished_spans()]
    assert annotated == [
        ("SET", {}),
        ("GET", {CACHE_RESULT: "hit"}),
        ("GET", {CACHE_RESULT: "miss"}),
        ("MGET", {CACHE_HITS: 1, CACHE_MISSES: 2}),
        ("GET GET SET", {CACHE_HITS: 1, CACHE_MISSES: 1}),
        ("GET GET", {CACHE_HITS: 2, CACHE_MISSES: 0, CACHE_RESULT: "hit"}),
        ("GET", {CACHE_RESULT: "hit"}),
    ]
    assert harness.counts() == {("redis", "hit"): 6, ("redis", "miss"): 4}
    # Each package's uninstrument removes its own layer, in either order.
    if contrib_first:
        RedisInstrumentor().uninstrument()
        client.get("a")
        assert harness.counts()[("redis", "hit")] == 7
        RedisCacheInstrumentor().uninstrument()
    else:
        RedisCacheInstrumentor().uninstrument()
        exporter.clear()
        client.get("a")
        assert [_cache_attributes(s) for s in exporter.get_finished_spans()] == [{}]
        RedisInstrumentor().uninstrument()
    assert originals_restored()


def test_span_attributes_can_be_turned_off(
    client: redis.Redis,
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    monkeypatch.setenv(OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES, "false")
    RedisInstrumentor().instrument(tracer_provider=provider)
    RedisCacheInstrumentor().instrument(cache_metrics=harness.metrics)
    client.get("a")
    client.mget("a", "b")
    client.pipeline().get("a").execute()
    assert [_cache_attributes(s) for s in exporter.get_finished_spans()] == [{}, {}, {}]
    assert harness.counts() == {("redis", "miss"): 4}


def test_unsampled_spans_are_left_alone_and_counts_still_made(client: redis.Redis, harness: Harness) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    RedisInstrumentor().instrument(tracer_provider=provider)
    RedisCacheInstrumentor().instrument(cache_metrics=harness.metrics, config=RedisCacheConfig())
    client.get("a")
    assert exporter.get_finished_spans() == ()
    assert harness.counts() == {("redis", "miss"): 1}


def test_the_application_span_is_not_annotated(
    client: redis.Redis, instrumented: Harness, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    with provider.get_tracer("app").start_as_current_span("request"):
        client.get("a")
        client.mget("a", "b")
    (span,) = exporter.get_finished_spans()
    assert _cache_attributes(span) == {}
    assert instrumented.counts() == {("redis", "miss"): 3}


# -- cluster -------------------------------------------------------------------------------------


def test_cluster_sync_client_and_pipeline(redis_cluster: RedisCluster, instrumented: Harness) -> None:
    redis_cluster.flush()
    rc = redis.cluster.RedisCluster(host="127.0.0.1", port=redis_cluster.port)
    keys = [f"k{i}" for i in range(12)]  # spread over the three nodes
    assert len({rc.get_node_from_key(k).name for k in keys}) == 3
    for k in keys[:6]:
        rc.set(k, "1")
    assert [rc.get(k) for k in keys] == [b"1"] * 6 + [None] * 6
    assert rc.mget("{u1}:a", "{u1}:b") == [None, None]  # one slot: an ordinary MGET
    with pytest.raises(redis.RedisClusterException):
        rc.mget("k0", "k11")  # two slots: an error, neither hit nor miss
    assert rc.mget_nonatomic(keys[4], keys[8]) == [b"1", None]  # a pipeline per slot
    pipe = rc.pipeline()
    pipe.get(keys[0]).get(keys[11]).set("y", "1").exists(keys[1])
    assert pipe.execute() == [b"1", None, True, 1]
    rc.close()
    assert instrumented.counts() == {("redis", "hit"): 6 + 1 + 2, ("redis", "miss"): 6 + 2 + 1 + 1}
    # One series per client, named after the node the client was given.
    assert {(p["server.address"], p["server.port"], p["db.namespace"]) for p in instrumented.points()} == {
        ("127.0.0.1", redis_cluster.port, "0")
    }


def test_cluster_asyncio_client_and_pipeline(redis_cluster: RedisCluster, instrumented: Harness) -> None:
    redis_cluster.flush()
    keys = [f"k{i}" for i in range(12)]

    async def main() -> None:
        rc = redis.asyncio.cluster.RedisCluster(host="127.0.0.1", port=redis_cluster.port)
        for k in keys[:6]:
            await rc.set(k, "1")
        assert [await rc.get(k) for k in keys] == [b"1"] * 6 + [None] * 6
        async with rc.pipeline() as pipe:
            pipe.get(keys[0]).get(keys[11]).hgetall("h")
            assert await pipe.execute() == [b"1", None, {}]
        async with rc.pipeline(transaction=True) as pipe:
            pipe.get("{t}:a").get("{t}:b")
            assert await pipe.execute() == [None, None]
        await rc.aclose()

    asyncio.run(main())
    assert instrumented.counts() == {("redis", "hit"): 7, ("redis", "miss"): 6 + 2 + 2}
    assert {p["server.port"] for p in instrumented.points()} == {redis_cluster.port}


# -- under opentelemetry-instrument ----------------------------------------------------------

_APP = textwrap.dedent(
    """
    import json, sys
    import redis
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    # The application imports nothing of otel_alerting: the entry point does the work.
    reader, spans = InMemoryMetricReader(), InMemorySpanExporter()
    metrics.get_meter_provider().add_metric_reader(reader)
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(spans))
    r = redis.Redis(port=int(sys.argv[1]))
    r.set("a", "1")
    r.get("a")
    r.get("b")
    points = [
        (dict(p.attributes)["otel_alerting.cache.result"], p.value)
        for rm in reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "otel_alerting.cache.requests"
        for p in m.data.data_points
    ]
    results = [s.attributes.get("otel_alerting.cache.result") for s in spans.get_finished_spans()]
    from importlib.metadata import entry_points
    order = [ep.name for ep in entry_points(group="opentelemetry_instrumentor")]
    order = [name for name in order if name in ("redis", "otel_alerting_redis")]
    print(json.dumps({"points": sorted(points), "spans": results, "order": order}))
    """
)


def _entry_point_registered() -> bool:
    entry_points = importlib.metadata.entry_points(group="opentelemetry_instrumentor")
    return any(ep.name == "otel_alerting_redis" for ep in entry_points)


@pytest.mark.parametrize("ours_first", [True, False], ids=["ours-loaded-first", "contrib-loaded-first"])
def test_under_opentelemetry_instrument(server: RedisServer, tmp_path: Path, ours_first: bool) -> None:
    # opentelemetry-instrument loads instrumentors in entry-point order, which follows
    # sys.path. A dist-info of our own declaring the entry point, put before or after
    # site-packages, fixes the order (and stands in for the installed one in an
    # environment installed before pyproject declared it).
    registered = _entry_point_registered()
    paths = []
    if not registered or not ours_first:
        info = tmp_path / "otel_alerting_redis_test-0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: otel-alerting-redis-test\nVersion: 0\n")
        (info / "entry_points.txt").write_text(
            "[opentelemetry_instrumentor]\n"
            "otel_alerting_redis = otel_alerting.instrumentation.redis_cache:RedisCacheInstrumentor\n"
        )
        site = str(Path(redis.__file__).parents[1])
        paths = [str(tmp_path)] if ours_first else [site, str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_PYTHON_ALERTING_CACHE_SPAN_ATTRIBUTES="true",
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="otel_alerting_chromadb,otel_alerting_dependencies,otel_alerting_memory",
    )
    if paths:
        env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    instrument = Path(sys.executable).parent / "opentelemetry-instrument"
    out = subprocess.run(
        [str(instrument), sys.executable, "-c", _APP, str(server.port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    order = result.pop("order")
    assert result == {"points": [["hit", 1], ["miss", 1]], "spans": [None, "hit", "miss"]}, out.stderr
    if not registered:  # the order is ours to choose only then
        assert order == (["otel_alerting_redis", "redis"] if ours_first else ["redis", "otel_alerting_redis"])


def test_the_plugin_switched_off_patches_nothing() -> None:
    instrumentor = RedisCacheInstrumentor()
    instrumentor.instrument(environ={"OTEL_PYTHON_ALERTING_ENABLED": "false"})
    try:
        assert instrumentor._patched == []
        assert instrumentor._recorder is None
    finally:
        instrumentor.uninstrument()


def test_span_attributes_are_off_by_default() -> None:
    assert RedisCacheConfig.from_environ({}).span_attributes is False
