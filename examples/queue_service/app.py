"""A queue worker that falls behind and catches up again.

It uses only the OpenTelemetry API: run it under ``opentelemetry-instrument`` with
otel-alerting installed and the rules in ``rules.yaml`` watch it from inside::

    OTEL_PYTHON_ALERTING_RULES=examples/queue_service/rules.yaml \
        opentelemetry-instrument python examples/queue_service/app.py

``DEMO_STEP_SECONDS`` (default 1) sets the length of each simulated step.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-8s %(name)s: %(message)s")
log = logging.getLogger("queue_service")

STEP = float(os.environ.get("DEMO_STEP_SECONDS", "1"))
# (steps, jobs arriving per step, jobs done per step, share of jobs that fail)
PHASES = [
    ("steady", 4, 50, 50, 0.01),
    ("a burst arrives", 4, 400, 50, 0.02),
    ("the backlog keeps growing", 3, 300, 60, 0.4),
    ("workers catch up", 6, 20, 400, 0.01),
    ("steady again", 3, 50, 50, 0.01),
]

meter = metrics.get_meter("queue_service")
depth = 0


def observe_depth(options: CallbackOptions) -> Iterable[Observation]:
    yield Observation(depth, {"queue": "ingest"})


meter.create_observable_gauge("app.queue.depth", callbacks=[observe_depth], unit="{job}")
jobs = meter.create_counter("app.jobs", unit="{job}", description="Jobs handled, by outcome")


def main() -> None:
    global depth
    rng = random.Random(7)
    for name, steps, arriving, capacity, failure_share in PHASES:
        log.info("phase: %s", name)
        for _ in range(steps):
            depth += arriving
            done = min(depth, capacity)
            depth -= done
            failed = sum(1 for _ in range(done) if rng.random() < failure_share)
            jobs.add(done - failed, {"queue": "ingest", "outcome": "ok"})
            jobs.add(failed, {"queue": "ingest", "outcome": "error"})
            log.info("queue depth %d (%d done, %d failed)", depth, done, failed)
            time.sleep(STEP)
    log.info("done")


if __name__ == "__main__":
    main()
