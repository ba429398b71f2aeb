"""A storm against a full queue, in a process whose standard error is a pipe nobody
reads: the drops are counted and logged in a few lines, so the thread submitting them
(the evaluation thread, in the plugin) never blocks on the full pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from ..support.http import HttpReceiver, Reply

REPO = Path(__file__).resolve().parents[2]
DROPS = 20_000

CHILD = r"""
import json, logging, sys, time
from otel_alerting.channels.webhook import WebhookChannel, load_webhook_config
from otel_alerting.notify.dispatcher import Dispatcher
from otel_alerting.notify.model import Batch
from otel_alerting.rules.model import Severity
from tests.unit.helpers import notification

logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
config, errors = load_webhook_config({"OTEL_PYTHON_ALERTING_WEBHOOK_URL": sys.argv[1]})
assert not errors, errors
channel = WebhookChannel(config)
dispatcher = Dispatcher([channel], queue_size=1, deadline=60.0)
dispatcher.submit([Batch(channel.name, (notification(Severity.LOW, alert="InFlight"),))])
started = time.monotonic()
for i in range(int(sys.argv[2])):
    # one batch per submit, as evaluations hand them over; each a lane's worth of text
    dispatcher.submit([Batch(channel.name, (notification(Severity.LOW, alert=f"Storm{i:05d}" + "x" * 60),))])
print(json.dumps({"seconds": time.monotonic() - started, "counts": dispatcher.counts()}), flush=True)
"""


def test_a_storm_of_drops_does_not_block_on_an_unread_stderr_pipe() -> None:
    with HttpReceiver(default=Reply(delay=30.0)) as hook:  # holds the first delivery: the queue stays full
        env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, f"{hook.url}/hook", str(DROPS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,  # never read while the child runs: a 64 KiB pipe, full after ~700 lines
            env=env,
            cwd=REPO,
            text=True,
        )
        assert child.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(child.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(60.0)
        try:
            assert result and result[0], (
                f"the child did not finish {DROPS:,} drops within 60 s: blocked writing to its full stderr pipe?"
            )
            report = json.loads(result[0])
            assert report["counts"] == {
                "webhook": {"dropped": DROPS - 1}
            }  # the first submit queued; every other dropped
        finally:
            child.kill()
            _, stderr = child.communicate(timeout=30)
    drop_lines = [line for line in stderr.splitlines() if "dropped for channel" in line]
    assert len(drop_lines) == 1, drop_lines[:5]
