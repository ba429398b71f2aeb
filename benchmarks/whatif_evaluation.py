"""What the trade-offs of docs/performance.md would give at 1,000 series (not a feature).

The evaluation target (at most 5 % of the SDK collect) is missed at 1,000 series on cold
caches. This script measures what the ways to close it that were not taken would give,
by removing the part each one would remove from otherwise unchanged variants:

* ``no duration record``: the plugin's own ``otel_alerting.evaluation.duration`` record
  (as if it were recorded in batches, or replaced by observable instruments);
* ``no reset check``: the per-collection reset check of counters (as if resets were
  checked only when a window takes a snapshot); the rate bound then grows by 1 per
  collection, which is right for this benchmark's increments;
* ``both``, and ``both, no manager/pipeline`` (the lifecycles and the notification
  pipeline removed too: not an option, a floor).

Variants are those of ``bench_evaluation.py`` (same rules, same increments, same split of
one ``_collect_once()``), at 1,000 series, interleaved with the 50,000-series variants so
that every collection starts on cold caches, as in that benchmark's first command.

    .venv/bin/python benchmarks/whatif_evaluation.py [--blocks 40]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from typing import Any

import bench_evaluation as bench
from _common import machine, median, table
from opentelemetry.context import attach

from otel_alerting.engine import series
from otel_alerting.own_work import OWN_WORK

#: layouts (by id) whose reset check is skipped
_NO_RESET_CHECK: set[int] = set()
_extremes = series._Layout.extremes


def _extremes_unless_removed(layout: Any, values: list[Any], previous: list[Any]) -> tuple[Any, Any]:
    if id(layout) in _NO_RESET_CHECK:
        return 0, 1
    return _extremes(layout, values, previous)


def _no_duration_record(v: bench.Variant) -> None:
    system = v.reader.system
    assert system is not None
    system._telemetry = None


def _no_lifecycles(v: bench.Variant) -> None:
    system = v.reader.system
    assert system is not None
    system.pipeline.process = lambda notifications, now: []  # type: ignore[method-assign]
    system.pipeline.idle = lambda: True  # type: ignore[method-assign]
    system.manager.process = lambda results, now: []  # type: ignore[method-assign]


#: removal -> (removes the duration record, removes the reset check, removes the manager)
REMOVALS: dict[str, tuple[bool, bool, bool]] = {
    "as is": (False, False, False),
    "no duration record": (True, False, False),
    "no reset check": (False, True, False),
    "both": (True, True, False),
    "both, no manager/pipeline": (True, True, True),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    series._Layout.extremes = _extremes_unless_removed  # type: ignore[method-assign]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(bench.rules(), f)
    print(f"machine: {machine()}", flush=True)
    print("building variants...", file=sys.stderr, flush=True)
    measured: list[tuple[str, bench.Variant]] = []
    no_reset: list[bench.Variant] = []
    for case in ("value by series", "rate by series", "rate by route"):
        for name, (duration, reset, lifecycles) in REMOVALS.items():
            if reset and case.startswith("value"):
                continue  # a value rule reads no increases: nothing to remove
            v = bench.Variant(case, 1000, f.name)
            if duration:
                _no_duration_record(v)
            if lifecycles:
                _no_lifecycles(v)
            if reset:
                no_reset.append(v)
            measured.append((name, v))
    fillers = [bench.Variant(case, 50_000, f.name) for case in bench.CASES]
    variants = [v for _, v in measured] + fillers
    attach(OWN_WORK)  # as on the reader's timer thread
    for _ in range(3):  # warm-up: every series' state and layout
        for v in variants:
            v.run(record=False)
    for v in no_reset:
        system = v.reader.system
        assert system is not None
        for state in system.evaluator._metrics.values():
            _NO_RESET_CHECK.update(id(layout) for layout in state._layouts.values())
    bench.run_blocks(variants, args.blocks, random.Random(args.seed))
    rows = [
        [
            v.case,
            name,
            f"{median(v.collects) * 1e3:.2f}",
            f"{median(v.plugins) * 1e6:.1f}",
            f"{median(v.plugin_ratios) * 100:.1f} %",
        ]
        for name, v in measured
    ]
    print(
        f"\nWhat removing each part would give, 1,000 series, medians of {args.blocks} blocks "
        "interleaved with the 50,000-series variants\n"
    )
    print(table(["case", "removed", "SDK collect ms", "plugin µs", "plugin / collect"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
