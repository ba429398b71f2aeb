"""The shared cache metric and its public API (no Redis here)."""

from __future__ import annotations

import asyncio
import functools
import gc
import itertools
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from otel_alerting.instrumentation import cache
from otel_alerting.instrumentation.cache import CACHE_NAME, CACHE_RESULT, read_count

from .cache_support import Harness, harness_fixture  # noqa: F401


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Make the interpreter switch threads as often as it can, to provoke races."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def test_read_count() -> None:
    counter = itertools.count()
    assert read_count(counter) == 0
    for _ in range(12345):
        next(counter)
    assert read_count(counter) == 12345


def test_hits_and_misses_are_reported_with_name_and_result(harness: Harness) -> None:
    stats = harness.metrics.stats("sessions", {"db.system.name": "memcached"})
    stats.hit()
    stats.hit()
    stats.record(True)
    stats.miss()
    harness.assert_shape()
    points = sorted(harness.points(), key=lambda p: p[CACHE_RESULT])
    assert points == [
        {CACHE_NAME: "sessions", CACHE_RESULT: "hit", "db.system.name": "memcached", "value": 3},
        {CACHE_NAME: "sessions", CACHE_RESULT: "miss", "db.system.name": "memcached", "value": 1},
    ]
    assert (stats.hits, stats.misses) == (3, 1)


def test_the_instrument_is_made_at_first_use(harness: Harness) -> None:
    assert harness.metric() is None
    harness.metrics.stats("a")
    harness.assert_shape()


def test_one_handle_per_name_and_attributes(harness: Harness) -> None:
    metrics = harness.metrics
    assert metrics.stats("a") is metrics.stats("a")
    assert metrics.stats("a", {"k": 1}) is metrics.stats("a", {"k": 1})
    assert metrics.stats("a", {"k": 1}) is not metrics.stats("a", {"k": 2})
    metrics.stats("a").hit()
    metrics.stats("a", {"k": 1}).hit()
    assert harness.counts() == {("a", "hit"): 2}
    assert len([p for p in harness.points() if p["value"]]) == 2


def test_counts_are_cumulative_across_collections(harness: Harness) -> None:
    stats = harness.metrics.stats("a")
    stats.hit()
    assert harness.counts() == {("a", "hit"): 1}
    stats.hit()
    stats.miss()
    assert harness.counts() == {("a", "hit"): 2, ("a", "miss"): 1}


def test_no_increment_is_lost_between_threads(harness: Harness, fast_switching: None) -> None:
    threads_n, per_thread = 8, 50_000
    stats = harness.metrics.stats("threads")
    start = threading.Barrier(threads_n)

    def work(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            stats.record(bool((i + n) % 2))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = threads_n * per_thread
    assert harness.counts() == {("threads", "hit"): total // 2, ("threads", "miss"): total // 2}


def test_no_increment_is_lost_between_tasks(harness: Harness) -> None:
    tasks_n, per_task = 200, 500
    stats = harness.metrics.stats("tasks")

    async def work() -> None:
        for _ in range(per_task):
            stats.hit()
            await asyncio.sleep(0)  # a yield to the other tasks, the interleaving under test

    async def main() -> None:
        await asyncio.gather(*(work() for _ in range(tasks_n)))

    asyncio.run(main())
    assert harness.counts() == {("tasks", "hit"): tasks_n * per_task}


def test_decorator_counts_none_as_miss(harness: Harness) -> None:
    store = {"a": "x", "empty": ""}

    @harness.metrics.count_lookups("dict")
    def lookup(key: str) -> str | None:
        """Docstring kept."""
        return store.get(key)

    assert lookup("a") == "x"
    assert lookup("empty") == ""  # a falsy value is still a hit
    assert lookup("b") is None
    assert lookup.__doc__ == "Docstring kept."
    assert harness.counts() == {("dict", "hit"): 2, ("dict", "miss"): 1}


def test_decorator_lets_exceptions_through_uncounted(harness: Harness) -> None:
    @harness.metrics.count_lookups("dict")
    def lookup(key: str) -> str | None:
        raise KeyError(key)

    with pytest.raises(KeyError, match="a"):
        lookup("a")
    assert harness.counts() == {}


def test_decorator_on_coroutine_functions(harness: Harness) -> None:
    @harness.metrics.count_lookups("remote")
    async def lookup(key: str) -> str | None:
        await asyncio.sleep(0)  # a real suspension point in the coroutine under test
        return "v" if key == "a" else None

    async def main() -> list[str | None]:
        return [await lookup("a"), await lookup("b"), await lookup("a")]

    assert asyncio.run(main()) == ["v", None, "v"]
    assert harness.counts() == {("remote", "hit"): 2, ("remote", "miss"): 1}


def test_lru_cache_observer_reads_cache_info_at_collection(harness: Harness) -> None:
    @functools.lru_cache(maxsize=2)
    def square(n: int) -> int:
        return n * n

    harness.metrics.observe_lru_cache(square, "squares", {"kind": "lru"})
    for n in (1, 2, 1, 1, 3, 1):
        square(n)
    info = square.cache_info()
    assert harness.counts() == {("squares", "hit"): info.hits, ("squares", "miss"): info.misses}
    assert {p["kind"] for p in harness.points()} == {"lru"}


def test_lru_cache_clear_keeps_the_counter_monotonic(harness: Harness) -> None:
    @functools.lru_cache
    def ident(n: int) -> int:
        return n

    harness.metrics.observe_lru_cache(ident, "ident")
    ident(1)
    ident(1)
    assert harness.counts() == {("ident", "hit"): 1, ("ident", "miss"): 1}
    ident.cache_clear()
    ident(2)
    assert harness.counts() == {("ident", "hit"): 1, ("ident", "miss"): 2}


def test_a_collected_function_keeps_its_totals(harness: Harness) -> None:
    @functools.lru_cache
    def ident(n: int) -> int:
        return n

    harness.metrics.observe_lru_cache(ident, "gone")
    ident(1)
    ident(1)
    assert harness.counts() == {("gone", "hit"): 1, ("gone", "miss"): 1}
    del ident
    gc.collect()
    assert harness.counts() == {("gone", "hit"): 1, ("gone", "miss"): 1}
    assert harness.counts() == {("gone", "hit"): 1, ("gone", "miss"): 1}


@dataclass
class _Info:
    hits: int
    misses: int


class _CachetoolsLike:
    def __init__(self) -> None:
        self.info = _Info(0, 0)

    def cache_info(self) -> _Info:
        return self.info


def test_any_cache_info_source_and_handles_share_a_series(harness: Harness) -> None:
    source = _CachetoolsLike()
    harness.metrics.observe_lru_cache(source, "shared")
    source.info = _Info(5, 2)
    harness.metrics.stats("shared").hit()
    assert harness.counts() == {("shared", "hit"): 6, ("shared", "miss"): 2}
    # one data point per attribute set, not one per source
    assert len(harness.points()) == 2


def test_a_broken_cache_info_does_not_raise_into_collection(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def cache_info(self) -> _Info:
            raise RuntimeError("broken")

    broken = Broken()
    harness.metrics.observe_lru_cache(broken, "broken")
    assert harness.counts() == {}
    assert "reading cache statistics failed" in caplog.text


def test_module_functions_use_the_global_provider_even_when_set_later() -> None:
    # The global MeterProvider can be set once per process: run in a fresh one.
    script = textwrap.dedent(
        """
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from otel_alerting.instrumentation.cache import record_hit, record_miss, cache_stats

        record_hit("early")  # before the application sets its provider
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        record_hit("early")
        record_miss("early")
        cache_stats("early").hit()
        points = reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics[0].data.data_points
        print(sorted((p.attributes["otel_alerting.cache.result"], p.value) for p in points))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[('hit', 3), ('miss', 1)]", out.stderr


def test_module_level_api_is_bound_to_one_default_instance() -> None:
    assert cache.default_cache_metrics() is cache.default_cache_metrics()
    assert cache.cache_stats("x") is cache.default_cache_metrics().stats("x")
