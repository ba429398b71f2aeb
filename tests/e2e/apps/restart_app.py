"""A test application that uses only the OpenTelemetry API (never otel_alerting): an
observable gauge ``app.level`` (attribute ``proc``) read from the file LEVEL_FILE at each
collection, so the test changes it while the process runs. Prints ``app: ready``, then
waits (at most 60 s) for SIGTERM, which it handles as servers do, by exiting normally.
"""

import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from opentelemetry import metrics
from opentelemetry.metrics import Observation

LEVEL_FILE = Path(os.environ["LEVEL_FILE"])
meter = metrics.get_meter("restart_app")
meter.create_observable_gauge(
    "app.level", callbacks=[lambda options: [Observation(float(LEVEL_FILE.read_text()), {"proc": "web"})]]
)


def _exit_normally(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


signal.signal(signal.SIGTERM, _exit_normally)
print("app: ready", flush=True)
time.sleep(60)  # the signal cuts this short
