"""End to end for the instrumentation: an LLM-backend-like app (Redis cache, ChromaDB,
an embeddings service over HTTP) under opentelemetry-instrument, with no code of ours
imported by the app, against a real redis-server and a real HTTP embeddings stub."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from otel_alerting.testing import OtlpReceiver

from ..instrumentation.servers import RedisServer
from .instrumented import ROOT, instrumented_env, run_instrumented

APP = ROOT / "examples" / "llm_backend" / "app.py"
_spec = importlib.util.spec_from_file_location("embeddings_stub", APP.parent / "embeddings_stub.py")
assert _spec is not None and _spec.loader is not None
_stub_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_stub_module)
EmbeddingsStub = _stub_module.EmbeddingsStub


def test_cache_hit_rate_collapse_fires_the_built_in_rule(receiver: OtlpReceiver, tmp_path: Path) -> None:
    assert "otel_alerting" not in APP.read_text()
    stub = EmbeddingsStub().start()
    try:
        with RedisServer(tmp_path / "redis") as redis:
            env = instrumented_env(
                receiver,
                REDIS_URL=redis.url,
                EMBEDDINGS_URL=stub.url,
                DEMO_STEP_SECONDS="0.25",
                DEMO_STEPS="10",
                DEMO_REQUESTS_PER_STEP="30",
                OTEL_PYTHON_ALERTING_EMBEDDINGS_URL=f"{stub.url}/health",
                OTEL_PYTHON_ALERTING_PROBE_INTERVAL="0.5s",
                # the built-in rule, on test time scales, through the environment
                OTEL_PYTHON_ALERTING_RULE_CACHEHITRATELOW_WINDOW="1.5s",
                OTEL_PYTHON_ALERTING_RULE_CACHEHITRATELOW_MIN_DENOMINATOR="20",
            )
            run = run_instrumented(APP, env, timeout=120)
    finally:
        stub.stop()
    ours = "\n".join(line for line in run.stderr.splitlines() if "httpx: HTTP Request" not in line)
    assert run.returncode == 0, ours[-5000:]
    fired = [line for line in run.stderr.splitlines() if "[FIRING:" in line and "] CacheHitRateLow" in line]
    assert fired, f"CacheHitRateLow never fired:\n{ours[-5000:]}"
    assert any("[FIRING:CRITICAL]" in line for line in fired), fired
    assert any("[RESOLVED:" in line and "] CacheHitRateLow" in line for line in run.stderr.splitlines()), ours[-3000:]
    assert not any("] DependencyDown" in line for line in run.stderr.splitlines()), "a healthy dependency alerted"

    points = receiver.metric_points()
    cache = [p for p in points if p.metric == "otel_alerting.cache.requests"]
    results = {p.attributes.get("otel_alerting.cache.result") for p in cache}
    assert results == {"hit", "miss"}, results
    assert all(p.attributes.get("db.system.name") == "redis" for p in cache)
    chroma = [p for p in points if p.metric == "db.client.operation.duration"]
    assert {p.attributes.get("db.operation.name") for p in chroma} >= {"add", "query"}
    http = [p for p in points if p.metric == "http.client.request.duration"]
    assert any(p.attributes.get("server.address") == "127.0.0.1" for p in http), "no stable HTTP client metric"
    up = {
        (p.attributes.get("otel_alerting.dependency.name"), p.value)
        for p in points
        if p.metric == "otel_alerting.dependency.up"
    }
    assert ("redis", 1) in up and ("embeddings", 1) in up, up
