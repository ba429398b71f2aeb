"""Every channel failing at once for minutes, with the plugin's default delivery settings.

The scenario of ``tests/faults/test_failing_channels.py`` at full length: a service under
``opentelemetry-instrument`` (``tests/faults/apps/service_app.py``: two threads serving
requests of a few microseconds of work, the most sensitive measure of interference)
flaps ``--keys`` CRITICAL alerts (about 2 notifications per key per second, to every
configured channel) while its channels' real local peers (webhook, Slack, PagerDuty,
Alertmanager receivers, an SMTP server) answer healthy for ``--healthy`` seconds, then
all fail with transient errors (HTTP 503, SMTP 451) for ``--failing`` seconds, then
recover for ``--healthy`` seconds; then the alerts stop and the queues drain.
``OTEL_PYTHON_ALERTING_DELIVERY_DEADLINE`` (2 min), the backoff (0.5 s doubling to 15 s)
and ``OTEL_PYTHON_ALERTING_QUEUE_SIZE`` (10,000) keep their defaults.

Printed: the service's request latency per phase (healthy and failing side by side, in
one run), its RSS during the failure (sampled every 0.25 s from outside), and the
plugin's delivery counters per channel at the recovery and at the end (``/health``).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_failing_channels.py --failing 180
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import machine, table
from otel_alerting.testing import OtlpReceiver
from tests.faults.failing_channels import REMOTE, run_scenario

MB = 1 << 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--healthy", type=float, default=60.0, help="seconds of healthy channels, before and after")
    parser.add_argument("--failing", type=float, default=180.0, help="seconds of every channel failing")
    parser.add_argument("--keys", type=int, default=10, help="flapping alerts")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory, OtlpReceiver() as receiver:
        result = run_scenario(
            Path(directory),
            receiver,
            healthy_s=args.healthy,
            failing_s=args.failing,
            deadline_s=None,
            queue_size=None,
            keys=args.keys,
            drain_timeout=600.0,
        )
    print(machine())
    print(f"healthy {args.healthy:g} s, failing {args.failing:g} s, {args.keys} flapping CRITICAL alerts\n")
    phases = result.report["phases"]
    rows = []
    for name in ("healthy", "failing", "recovered"):
        phase = phases[name]
        rows.append([name, phase["requests"], f"{phase['p50'] * 1e6:.2f}", f"{phase['p99'] * 1e6:.2f}"])
    healthy, failing = phases["healthy"], phases["failing"]
    rows.append(
        ["failing / healthy", "", f"{failing['p50'] / healthy['p50']:.2f}", f"{failing['p99'] / healthy['p99']:.2f}"]
    )
    print(table(["phase", "requests", "p50 µs", "p99 µs"], rows))
    start, peak, end = result.rss[0][1], max(r for _, r in result.rss), result.rss[-1][1]
    print(
        f"\nRSS during the failure: {start / MB:.1f} MB at its start, peak {peak / MB:.1f} MB "
        f"(+{(peak - start) / MB:.1f}), {end / MB:.1f} MB at its end\n"
    )
    total = result.counts["console"]["delivered"]
    rows = []
    for channel in REMOTE:
        at, end_counts = result.counts_at_recovery[channel], result.counts[channel]
        accounted = sum(end_counts.get(k, 0) for k in ("delivered", "failed", "dropped"))
        rows.append(
            [
                channel,
                f"{at.get('delivered', 0)} / {at.get('failed', 0)} / {at.get('dropped', 0)}",
                f"{end_counts.get('delivered', 0)} / {end_counts.get('failed', 0)} / {end_counts.get('dropped', 0)}",
                f"{accounted} of {total}",
            ]
        )
    print(table(["channel", "at recovery: delivered / failed / dropped", "at the end", "accounted"], rows))
    print(f"\nwebhook alerts fired before the recovery and delivered after it: {result.backlog_delivered}")
    print(f"exceptions of the plugin in the service: {len(result.report['plugin_exceptions'])}")


if __name__ == "__main__":
    main()
