"""A test application that logs at DEBUG (every record of the plugin and of httpx and
httpcore reaches standard error) and sets the gauge ``app.level`` to 1000 until the
file STOP_FILE exists, so every alert fires at once and stays firing."""

import logging
import os
import time
from pathlib import Path

from opentelemetry import metrics
from opentelemetry.metrics import Observation

logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s %(message)s")
stop_file = Path(os.environ["STOP_FILE"])
metrics.get_meter("canary_app").create_observable_gauge("app.level", callbacks=[lambda _: [Observation(1000.0)]])
print("app: started", flush=True)
while not stop_file.exists():
    time.sleep(0.05)
print("app: done", flush=True)
