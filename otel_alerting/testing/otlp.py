"""A real OTLP/HTTP receiver for end-to-end tests: decodes the protobuf payloads
the SDK's exporters send, so a test can assert what reached "the collector"."""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["MetricPoint", "OtlpReceiver"]


@dataclass(frozen=True)
class MetricPoint:
    metric: str
    attributes: dict[str, Any]
    value: float
    resource: dict[str, Any]


def _any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _attributes(items: Any) -> dict[str, Any]:
    return {kv.key: _any_value(kv.value) for kv in items}


class OtlpReceiver:
    """Serves ``/v1/metrics``, ``/v1/traces`` and ``/v1/logs`` on 127.0.0.1."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        self._types: dict[str, Any] = {
            "/v1/metrics": ExportMetricsServiceRequest,
            "/v1/traces": ExportTraceServiceRequest,
            "/v1/logs": ExportLogsServiceRequest,
        }
        self.requests: dict[str, list[Any]] = {path: [] for path in self._types}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                message_type = receiver._types.get(self.path)
                if message_type is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                message = message_type()
                message.ParseFromString(body)
                with receiver._lock:
                    receiver.requests[self.path].append(message)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def metric_points(self) -> list[MetricPoint]:
        """Every number point received (sums and gauges; histograms as their count)."""
        with self._lock:
            requests = list(self.requests["/v1/metrics"])
        points = []
        for request in requests:
            for rm in request.resource_metrics:
                resource = _attributes(rm.resource.attributes)
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        kind = metric.WhichOneof("data")
                        data = getattr(metric, kind)
                        for p in data.data_points:
                            if kind == "histogram":
                                value = float(p.count)
                            else:
                                value = p.as_double if p.WhichOneof("value") == "as_double" else float(p.as_int)
                            points.append(MetricPoint(metric.name, _attributes(p.attributes), value, resource))
        return points

    def metric_names(self) -> set[str]:
        return {p.metric for p in self.metric_points()}

    def log_records(self) -> list[Any]:
        with self._lock:
            requests = list(self.requests["/v1/logs"])
        return [r for req in requests for rl in req.resource_logs for sl in rl.scope_logs for r in sl.log_records]

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``predicate`` until true; fail with ``what`` and what was received."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(
            f"timed out after {timeout:g}s waiting for {what}; metrics received: {sorted(self.metric_names())}"
        )
