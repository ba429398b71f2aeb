"""The part of ``memory_app.py`` that holds memory in use (resident), in a child process
run with ``python -I`` (so not under opentelemetry-instrument).

Arguments: STEP_MB INITIAL_MB STOP_FILE. It writes every page of INITIAL_MB of
anonymous memory, then of STEP_MB more every 50 ms, printing ``<time.monotonic()> <MB>``
after each, until the kernel's OOM killer ends it at its cgroup's limit (its
``oom_score_adj`` of 1000 makes it the first chosen), an allocation fails, STOP_FILE
exists, or its parent has gone.
"""

from __future__ import annotations

import mmap
import os
import sys
import time
from pathlib import Path

step, initial = int(sys.argv[1]) << 20, int(sys.argv[2]) << 20
stop_file = Path(sys.argv[3])
parent = os.getppid()
Path("/proc/self/oom_score_adj").write_text("1000")
PAGE = mmap.PAGESIZE
held: list[mmap.mmap] = []


def grow(size: int) -> None:
    mapping = mmap.mmap(-1, size)
    mapping[::PAGE] = b"\1" * (size // PAGE)  # one byte per page: every page in use
    held.append(mapping)
    print(f"{time.monotonic():.3f} {sum(len(m) for m in held) >> 20}", flush=True)


if initial:
    grow(initial)
while not stop_file.exists() and os.getppid() == parent:
    grow(step)
    time.sleep(0.05)  # the pace of the growth under test
