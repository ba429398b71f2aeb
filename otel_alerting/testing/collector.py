"""A stand-in collector for demos: prints what reaches it over OTLP/HTTP."""

from __future__ import annotations

import time

from .otlp import OtlpReceiver

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """``python -m otel_alerting.testing.collector``: a stand-in collector that prints a
    line for each metrics export it receives (used by the README's demo)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--seconds", type=float, default=float("inf"), help="stop after this long")
    args = parser.parse_args(argv)
    receiver = OtlpReceiver(port=args.port).start()
    sys.stdout.write(f"OTLP/HTTP receiver on {receiver.endpoint}\n")
    sys.stdout.flush()
    seen = 0
    end = time.monotonic() + args.seconds
    try:
        while time.monotonic() < end:
            time.sleep(0.2)
            with receiver._lock:
                requests = receiver.requests["/v1/metrics"][seen:]
            seen += len(requests)
            for request in requests:
                names = sorted(
                    {m.name for rm in request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
                )
                sys.stdout.write(f"collector: received {len(names)} metrics over OTLP: {', '.join(names)}\n")
                sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
