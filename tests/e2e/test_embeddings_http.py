"""End to end: an application calling an embeddings service with httpx, under
opentelemetry-instrument, with the plugin installed and none of its code imported by
the application. The distro's semantic-convention opt-in gives the httpx metric its
``server.address``; the dependency probe reports the service without adding to the
application's own HTTP telemetry."""

from __future__ import annotations

from typing import Any

from otel_alerting.testing import OtlpReceiver

from ..instrumentation.servers import EmbeddingsStub
from .instrumented import APPS, instrumented_env, run_instrumented

APP = APPS / "embeddings_app.py"


def spans(receiver: OtlpReceiver) -> list[Any]:
    return [
        span
        for request in receiver.requests["/v1/traces"]
        for rs in request.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]


def test_httpx_calls_carry_server_address_and_probes_stay_out_of_them(receiver: OtlpReceiver) -> None:
    with EmbeddingsStub() as stub:
        env = instrumented_env(
            receiver,
            EMBEDDINGS_BASE=stub.url,
            REQUESTS="5",
            RUN_SECONDS="1",
            OTEL_PYTHON_ALERTING_EMBEDDINGS_URL=f"{stub.url}/health",
            OTEL_PYTHON_ALERTING_PROBE_INTERVAL="100ms",
        )
        assert "OTEL_SEMCONV_STABILITY_OPT_IN" not in env  # the distro must set it
        run = run_instrumented(APP, env)
    assert run.returncode == 0, run.stderr
    assert "app: chromadb loaded: False" in run.stdout, run.stdout

    durations = [p for p in receiver.metric_points() if p.metric == "http.client.request.duration"]
    assert durations, f"no http.client.request.duration; metrics: {sorted(receiver.metric_names())}\n{run.stderr}"
    for point in durations:
        assert point.attributes["server.address"] == "127.0.0.1"
        assert point.attributes["server.port"] == stub.port
    # cumulative counts: the five application calls, none of the probe's
    assert max(p.value for p in durations) == 5

    probe_requests = [r for r in stub.requests if r.path == "/health"]
    assert probe_requests, "the embeddings probe never ran"
    up = [
        p
        for p in receiver.metric_points()
        if p.metric == "otel_alerting.dependency.up" and p.attributes["otel_alerting.dependency.name"] == "embeddings"
    ]
    assert up and up[-1].value == 1 and up[-1].attributes["server.port"] == stub.port
    names = [s.name for s in spans(receiver)]
    assert names.count("POST") == 5, names
    assert "otel_alerting.probe embeddings" in names
    assert "GET" not in names  # the probe's own GETs were suppressed
