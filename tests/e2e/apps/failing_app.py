"""The health app (``app.level`` read from LEVEL_FILE until STOP_FILE exists), plus a
cache whose statistics cannot be read: its ``cache_info()`` raises at every collection."""

import os
import time
from pathlib import Path

from opentelemetry import metrics
from opentelemetry.metrics import Observation

from otel_alerting.instrumentation.cache import observe_lru_cache

level_file = Path(os.environ["LEVEL_FILE"])
stop_file = Path(os.environ["STOP_FILE"])


class BrokenCache:
    def cache_info(self) -> object:
        raise RuntimeError("the cache's statistics are gone")


def observe(options: object) -> list[Observation]:
    try:
        return [Observation(float(level_file.read_text() or 0))]
    except (OSError, ValueError):
        return [Observation(0.0)]


broken = BrokenCache()
observe_lru_cache(broken, "broken")
metrics.get_meter("failing_app").create_observable_gauge("app.level", callbacks=[observe])
print("app: started", flush=True)
while not stop_file.exists():
    time.sleep(0.05)
print("app: done", flush=True)
