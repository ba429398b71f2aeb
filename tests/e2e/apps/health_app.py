"""A test application that uses only the OpenTelemetry API (never otel_alerting).

It sets the gauge ``app.level`` to the number in the file LEVEL_FILE (re-read at
each observation) until the file STOP_FILE exists, so a test drives an alert up and
down while it watches the plugin's /health.
"""

import os
import time
from pathlib import Path

from opentelemetry import metrics
from opentelemetry.metrics import Observation

level_file = Path(os.environ["LEVEL_FILE"])
stop_file = Path(os.environ["STOP_FILE"])


def observe(options: object) -> list[Observation]:
    try:
        return [Observation(float(level_file.read_text() or 0))]
    except (OSError, ValueError):
        return [Observation(0.0)]


metrics.get_meter("health_app").create_observable_gauge("app.level", callbacks=[observe])
print("app: started", flush=True)
while not stop_file.exists():
    time.sleep(0.05)  # the application's idle loop, the load under test
print("app: done", flush=True)
