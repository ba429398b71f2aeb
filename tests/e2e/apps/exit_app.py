"""A test application that uses only the OpenTelemetry API (never otel_alerting) and
whose level is high from its first line: only the final evaluation at exit can see it.

WAIT_FOR_SIGNAL=1: prints ``app: ready``, then waits (at most 60 s) for SIGTERM, which
it handles as servers such as gunicorn and uvicorn do, by exiting normally.
WAIT_FOR_SIGNAL=2: the same wait, with no handler of its own (a plain script).
Unset: the script ends at once.
"""

import os
import signal
import sys
import time
from types import FrameType

from opentelemetry import metrics
from opentelemetry.metrics import Observation

meter = metrics.get_meter("exit_app")
meter.create_observable_gauge("app.level", callbacks=[lambda options: [Observation(700.0, {"proc": "exit"})]])


def _exit_normally(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


if os.environ.get("WAIT_FOR_SIGNAL") in ("1", "2"):
    if os.environ["WAIT_FOR_SIGNAL"] == "1":
        signal.signal(signal.SIGTERM, _exit_normally)
    print("app: ready", flush=True)
    time.sleep(60)  # the signal cuts this short
print("app: done", flush=True)
