"""A real Alertmanager on 127.0.0.1 (no cluster) whose receiver is a local webhook.

The binary is Debian's ``prometheus-alertmanager``, installed by scripts/bootstrap: a
missing binary FAILS the test instead of skipping it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ..support.http import HttpReceiver
from ..support.ports import free_port
from ..support.waiting import wait_until

CONFIG = """
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: {url}/hook
        send_resolved: true
"""


def binary() -> str:
    found = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if found is None:
        pytest.fail("the Alertmanager binary is not installed: run ./scripts/bootstrap (apt prometheus-alertmanager)")
    return found


@contextmanager
def alertmanager_with_webhook(directory: Path) -> Iterator[tuple[str, HttpReceiver]]:
    """Yield (Alertmanager's base URL, the webhook receiver behind it)."""
    executable = binary()
    with HttpReceiver() as hook:
        (directory / "am.yml").write_text(CONFIG.format(url=hook.url))
        port = free_port()
        log = (directory / "am.log").open("w")
        process = subprocess.Popen(
            [
                executable,
                f"--config.file={directory / 'am.yml'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                f"--storage.path={directory}",
                "--log.level=debug",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(
                lambda: _ready(base) or process.poll() is not None,
                "Alertmanager to become ready",
                15,
                seen=lambda: (directory / "am.log").read_text()[-2000:],
            )
            assert process.poll() is None, (directory / "am.log").read_text()
            yield base, hook
        finally:
            process.terminate()
            process.wait(10)
            log.close()


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/-/ready", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def am_log_count(directory: Path, words: str) -> int:
    """How many lines of Alertmanager's debug log hold ``words``: ``msg="Received alert"``
    for each alert of each POST it takes, ``msg=flushing`` for each tick of a group."""
    return sum(words in line for line in (directory / "am.log").read_text().splitlines())


def am_alerts(base: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{base}/api/v2/alerts", timeout=5) as response:
        alerts: list[dict[str, Any]] = json.loads(response.read())
    return alerts
