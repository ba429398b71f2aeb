"""A test application that uses only the OpenTelemetry API (never otel_alerting).

PHASES="value:seconds,..." drives an observable gauge ``app.level`` (attribute
``proc``), from START_AT (Unix time) if set; FORK=1 forks after start-up and the child reports its own level
(PHASES_CHILD), as a pre-fork server's worker would.
"""

import os
import sys
import time

from opentelemetry import metrics
from opentelemetry.metrics import Observation

meter = metrics.get_meter("level_app")
state = {"level": 0.0, "proc": "parent"}
meter.create_observable_gauge(
    "app.level", callbacks=[lambda options: [Observation(state["level"], {"proc": state["proc"]})]]
)
requests = meter.create_counter("app.requests")


def run(phases: str) -> None:
    start_at = os.environ.get("START_AT")  # align the phases of several processes
    if start_at:
        # the application's schedule under test: every replica starts its phases together
        time.sleep(max(float(start_at) - time.time(), 0.0))
    for phase in phases.split(","):
        value, seconds = phase.split(":")
        state["level"] = float(value)
        end = time.monotonic() + float(seconds)
        while time.monotonic() < end:
            requests.add(1, {"proc": state["proc"]})
            time.sleep(0.01)  # the application's pace of work, the load under test


print(f"app: OTEL_METRICS_EXPORTER={os.environ.get('OTEL_METRICS_EXPORTER')}", flush=True)
print(f"app: loaded modules include otel_alerting: {'otel_alerting' in sys.modules}", flush=True)
if os.environ.get("FORK") == "1":
    pid = os.fork()
    if pid == 0:
        state["proc"] = "child"
        run(os.environ["PHASES_CHILD"])
        metrics.get_meter_provider().shutdown()  # type: ignore[attr-defined]
        os._exit(0)
    run(os.environ["PHASES"])
    os.waitpid(pid, 0)
else:
    run(os.environ["PHASES"])
print("app: done", flush=True)
