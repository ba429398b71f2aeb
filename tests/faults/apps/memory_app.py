"""A service that grows towards its memory limit and never imports otel_alerting.

GROW=address (the default): towards its address-space limit (RLIMIT_AS, set by the test
before exec). It maps STEP_MB of anonymous memory at a time every 50 ms (address space
only: the pages are never touched, so the machine's memory is not used) until a mapping
fails (ENOMEM: the limit), prints ``app: limit hit at <time.monotonic()> after <MB> MB``,
and lets the memory go.

GROW=resident: towards its memory cgroup's limit (the test starts it in the cgroup),
with memory in use. A child process (``memory_grower.py``, in the same cgroup) writes
INITIAL_MB, then STEP_MB every 50 ms (``app: grown to <MB> MB at <time.monotonic()>``
after each), until the cgroup's OOM killer ends it, as it would end a worker; this
process then prints ``app: limit hit at <time.monotonic()> after <MB>
MB (grower ended by <returncode>, last step at <time.monotonic()>)``, and the memory is
gone with the child.

Either way it then idles until the file STOP_FILE exists.
"""

from __future__ import annotations

import mmap
import os
import subprocess
import sys
import time
from pathlib import Path

stop_file = Path(os.environ["STOP_FILE"])
start_file = Path(os.environ["START_FILE"])
step = int(os.environ.get("STEP_MB", "8")) << 20
GROWER = Path(__file__).resolve().with_name("memory_grower.py")


def grow_address_space() -> None:
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


def grow_resident() -> None:
    initial = os.environ.get("INITIAL_MB", "0")
    grower = subprocess.Popen(
        [sys.executable, "-I", str(GROWER), str(step >> 20), initial, str(stop_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert grower.stdout is not None
    last_at, grown = "none", 0
    for line in grower.stdout:
        last_at, megabytes = line.split()
        grown = int(megabytes)
        print(f"app: grown to {grown} MB at {last_at}", flush=True)
    grower.wait()
    # printed whatever ended the grower (its return code says what): the test may write
    # the stop file while the kernel is still freeing what the killed grower held
    print(
        f"app: limit hit at {time.monotonic():.3f} after {grown} MB "
        f"(grower ended by {grower.returncode}, last step at {last_at})",
        flush=True,
    )


print("app: started", flush=True)
while not start_file.exists() and not stop_file.exists():
    time.sleep(0.05)  # waiting for the test to start the growth
if os.environ.get("GROW", "address") == "resident":
    grow_resident()
else:
    grow_address_space()
while not stop_file.exists():
    time.sleep(0.05)  # the application's idle loop
print("app: report {}", flush=True)
