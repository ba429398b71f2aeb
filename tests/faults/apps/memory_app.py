"""A service that grows towards its address-space limit (RLIMIT_AS, set by the test
before exec) and never imports otel_alerting.

It maps STEP_MB of anonymous memory at a time every 50 ms (address space only: the
pages are never touched, so the machine's memory is not used) until a mapping fails
(ENOMEM: the limit), prints ``app: limit hit at <time.monotonic()> after <MB> MB``, lets the
memory go, and idles until the file STOP_FILE exists.
"""

from __future__ import annotations

import mmap
import os
import time
from pathlib import Path

stop_file = Path(os.environ["STOP_FILE"])
start_file = Path(os.environ["START_FILE"])
step = int(os.environ.get("STEP_MB", "8")) << 20

print("app: started", flush=True)
while not start_file.exists() and not stop_file.exists():
    time.sleep(0.05)  # waiting for the test to start the growth
held: list[mmap.mmap] = []
try:
    while not stop_file.exists():
        held.append(mmap.mmap(-1, step))
        time.sleep(0.05)  # the pace of the growth under test
except (MemoryError, OSError):
    print(f"app: limit hit at {time.monotonic():.3f} after {len(held) * step >> 20} MB", flush=True)
for mapping in held:
    mapping.close()
held.clear()
while not stop_file.exists():
    time.sleep(0.05)  # the application's idle loop
print("app: report {}", flush=True)
