"""Every channel failing at once (webhook, Slack, PagerDuty, Alertmanager, email, all
real peers answering with a transient error) while the service serves traffic and
alerts flap, shortened: 8 s of failure with a 2 s delivery deadline and a queue of 40
notifications per channel (``benchmarks/bench_failing_channels.py`` runs the real
minutes with the default settings).

Held: the service's memory stays bounded; its request latency does not change
measurably; no exception reaches it; the notifications still within their deadline
are delivered after the recovery; every other one is counted as failed or dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_alerting.testing import OtlpReceiver

from .failing_channels import REMOTE, run_scenario

MB = 1 << 20


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


def test_every_channel_failing_at_once(receiver: OtlpReceiver, tmp_path: Path) -> None:
    result = run_scenario(tmp_path, receiver, healthy_s=3.0, failing_s=8.0, deadline_s=2.0, queue_size=40)
    phases = result.report["phases"]
    print("phases:", phases)
    print("rss MB:", [round(rss / MB, 1) for _, rss in result.rss])
    print("counts at recovery:", result.counts_at_recovery)
    print("counts:", result.counts)
    print("backlog delivered:", result.backlog_delivered)
    assert result.report["plugin_exceptions"] == [] and result.report["thread_deaths"] == []

    total = result.counts["console"]["delivered"]
    assert total > 50, f"too few notifications to test anything: {result.counts}"
    for channel in REMOTE:
        counts = result.counts[channel]
        at_recovery = result.counts_at_recovery[channel]
        # nothing vanished: what the console (which cannot fail) got, every channel
        # delivered, failed or dropped
        accounted = counts.get("delivered", 0) + counts.get("failed", 0) + counts.get("dropped", 0)
        assert accounted == total, f"{channel}: {counts} against {total} notifications"
        assert at_recovery.get("failed", 0) + at_recovery.get("dropped", 0) > 0, f"{channel} never failed"
        assert counts["delivered"] > at_recovery.get("delivered", 0), f"{channel} delivered nothing after recovery"
    assert result.backlog_delivered > 0, "no notification from before the recovery reached the webhook after it"

    # bounded memory: what the failing phase added to the service's RSS
    start, peak = result.rss[0][1], max(rss for _, rss in result.rss)
    assert peak - start < 20 * MB, f"RSS grew {(peak - start) / MB:.1f} MB while every channel failed"

    healthy, failing = phases["healthy"], phases["failing"]
    assert failing["p50"] < 2 * healthy["p50"] + 0.001, (healthy, failing)
    assert failing["p99"] < 3 * healthy["p99"] + 0.005, (healthy, failing)
