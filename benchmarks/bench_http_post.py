"""CPU per webhook POST, with and without ``sniffio`` importable.

httpcore asks ``sniffio`` which async library runs each time it creates an async lock
(several times per request). When ``sniffio`` is not installed the import fails every
time, and a failed import searches ``sys.path`` again: it is not cached. otel-alerting
depends on ``sniffio`` for that reason; this measures what it saves.

The real ``WebhookChannel`` posts one batch of one notification at a time to a local
HTTP/1.1 server (a thread of this process; keep-alive), on one event loop. Variants,
interleaved in rounds, each timed as CPU of the posting thread:

* *sniffio installed*: as shipped;
* *sniffio not installed*: a finder first in ``sys.meta_path`` makes ``import sniffio``
  search ``sys.path`` for a module that does not exist, then fail, as a missing package
  does.

    python benchmarks/bench_http_post.py [--posts 300] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import importlib.abc
import importlib.machinery
import socketserver
import sys
import threading
import time
from types import ModuleType
from typing import Any

from _common import machine, median, table

from otel_alerting.channels.webhook import WebhookChannel, load_webhook_config
from otel_alerting.notify.model import Batch, Change, Notification, Severity, Status


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True


class _NotInstalled(importlib.abc.MetaPathFinder):
    """``import sniffio`` fails after the search of ``sys.path`` a missing module costs."""

    def find_spec(self, name: str, path: Any, target: ModuleType | None = None) -> None:
        if name == "sniffio":
            importlib.machinery.PathFinder.find_spec("sniffio_is_not_installed")
            raise ModuleNotFoundError("No module named 'sniffio'", name="sniffio")
        return None


def _notification() -> Notification:
    return Notification(
        alert="BenchAlert",
        status=Status.FIRING,
        change=Change.FIRED,
        severity=Severity.HIGH,
        labels={"alertname": "BenchAlert", "service": "bench"},
        annotations={"summary": "a benchmark"},
        value=640.0,
        threshold=500.0,
        starts_at=1_750_000_000.0,
        at=1_750_000_000.0,
    )


async def _post(channel: WebhookChannel, batch: Batch, posts: int) -> float:
    """CPU seconds of this thread per POST, after one warm-up POST."""
    await channel.send(batch)
    start = time.thread_time()
    for _ in range(posts):
        result = await channel.send(batch)
        assert result.ok, result
    return (time.thread_time() - start) / posts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    server = _Server(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config, errors = load_webhook_config(
        {"OTEL_PYTHON_ALERTING_WEBHOOK_URL": f"http://127.0.0.1:{server.server_address[1]}/hook"}
    )
    assert config is not None and not errors, errors
    batch = Batch("webhook", (_notification(),))
    finder = _NotInstalled()
    cpu: dict[str, list[float]] = {"sniffio installed": [], "sniffio not installed": []}
    print(f"machine: {machine()}")
    for _ in range(args.rounds):
        for variant in cpu:
            sys.modules.pop("sniffio", None)
            if variant == "sniffio not installed":
                sys.meta_path.insert(0, finder)
            try:
                cpu[variant].append(asyncio.run(_post(WebhookChannel(config), batch, args.posts)))
            finally:
                if finder in sys.meta_path:
                    sys.meta_path.remove(finder)
    base = median(cpu["sniffio installed"])
    rows = [
        [
            variant,
            f"{median(values) * 1e6:.0f}",
            f"{min(values) * 1e6:.0f}-{max(values) * 1e6:.0f}",
            f"{median(values) / base:.2f}x",
        ]
        for variant, values in cpu.items()
    ]
    print(f"\nCPU per webhook POST, medians of {args.rounds} interleaved rounds of {args.posts} POSTs\n")
    print(table(["variant", "µs per POST", "range", "ratio"], rows))
    server.shutdown()


if __name__ == "__main__":
    main()
