"""gunicorn settings (``-c``) for a master that outlives its workers: once they have
stopped, its ``on_exit`` waits until ``LEVEL_DIR/release`` exists (at most 60 s), as a
master slow to exit would; its own alerting (``--preload``) keeps evaluating meanwhile.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

__all__ = ["on_exit"]


def on_exit(server: Any) -> None:
    release = Path(os.environ["LEVEL_DIR"]) / "release"
    deadline = time.monotonic() + 60
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
