"""Many rules: what N rules cost at start-up, in memory, per evaluation and in ``check``.

N rules (``--rules``, default 1, 1,000 and 10,000) over a handful of metrics (five
counters, 50 routes each): rule ``i`` watches ``app.m{i % 5}`` for route ``r{i % 50}``,
a ``value`` rule with a ladder and a ``for``, like a generated rule pack. Per N, in
fresh processes, interleaved in a new random order each round:

* *start-up*: ``opentelemetry-instrument python app.py`` (SDK, OTLP to a closed port,
  otel-alerting in its default mode), from the launch to the app's first line on stdout;
  the app prints it as its first statement, so this is what the host's start-up waits for;
* *rules ready*: from the launch until the plugin's first evaluation with the rules
  loaded (the app polls ``reader.system``'s evaluations; loading may go on after the
  host's start-up, on the plugin's thread);
* *RSS*: the app's resident memory once the rules are loaded and it has evaluated;
* *eval ms*: ``AlertingSystem.evaluate`` per tick, median over the app's ticks at
  ``OTEL_PYTHON_ALERTING_INTERVAL=200`` (ms), 250 series recorded;
* *check s*: ``otel-alerting check`` over the same rules file.

*per rule* columns subtract the 1-rule row. Medians of ``--rounds`` rounds.

    python benchmarks/bench_many_rules.py [--rules 1,1000,10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import machine, median, table

VENV_BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
METRICS = 5
ROUTES = 50

APP = r"""
import sys, time
print("app: first line", flush=True)
from opentelemetry import metrics
from otel_alerting import active

meter = metrics.get_meter("bench")
counters = [meter.create_counter(f"app.m{m}") for m in range(METRICS)]
for c in counters:
    for r in range(ROUTES):
        c.add(1, {"route": f"r{r}"})
reader = active._active() if active._active is not None else None
assert reader is not None, "otel-alerting is not active"
deadline = time.monotonic() + 300
system = None
while time.monotonic() < deadline:
    system = reader._system
    if system is not None and system.last_evaluation is not None:
        break
    time.sleep(0.005)
assert system is not None, "no evaluation within 300 s"
print("app: rules ready", len(system.rule_set.rules), flush=True)
durations = []
while len(durations) < TICKS:
    before = system.last_evaluation
    while system.last_evaluation == before:
        time.sleep(0.01)
    durations.append(system.last_evaluation_duration)
with open("/proc/self/statm") as f:
    rss = int(f.read().split()[1]) * 4096
print("app: result", json.dumps({"eval": sorted(durations)[len(durations) // 2], "rss": rss}), flush=True)
"""


def write_rules(path: Path, count: int) -> None:
    lines = ["rules:"]
    for i in range(count):
        lines.append(
            f"  - alert: Generated{i}\n"
            f"    expr:\n"
            f"      value: {{metric: app.m{i % METRICS}, match: {{route: r{i % ROUTES}}}}}\n"
            f"      by: [route]\n"
            f"    above: {{medium: {1000 + i}, high: {2000 + i}}}\n"
            f"    for: 30s\n"
            f'    annotations: {{summary: "route {{labels[route]}} at {{value:.0f}}"}}\n'
        )
    path.write_text("\n".join(lines))


def environment(rules: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ALERT_"))}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        OTEL_SERVICE_NAME="bench-many-rules",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",  # nothing listens
        OTEL_TRACES_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_PYTHON_ALERTING_RULES=str(rules),
        OTEL_PYTHON_ALERTING_DEFAULT_RULES="false",
        OTEL_PYTHON_ALERTING_CHANNELS="log",
        OTEL_PYTHON_ALERTING_INTERVAL="200",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_up(app: Path, rules: Path, ticks: int) -> dict[str, Any]:
    command = [str(VENV_BIN / "opentelemetry-instrument"), sys.executable, str(app)]
    started = time.monotonic()
    process = subprocess.Popen(
        command, env=environment(rules), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
    )
    assert process.stdout is not None
    out: dict[str, Any] = {}
    for line in process.stdout:
        if line.startswith("app: first line"):
            out["first"] = time.monotonic() - started
        elif line.startswith("app: rules ready"):
            out["ready"] = time.monotonic() - started
        elif line.startswith("app: result"):
            out.update(json.loads(line.split("app: result", 1)[1]))
    stderr = process.stderr.read() if process.stderr is not None else ""
    process.wait(60)
    if "eval" not in out:
        raise RuntimeError(f"the app did not finish: {out}\n{stderr[-3000:]}")
    return out


def check(rules: Path) -> float:
    started = time.monotonic()
    done = subprocess.run(
        [str(VENV_BIN / "otel-alerting"), "check"], env=environment(rules), capture_output=True, text=True, cwd=REPO
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"check failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", default="1,1000,10000", help="rule counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ticks", type=int, default=9, help="evaluations timed per run")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.rules.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="bench-many-rules-"))
    app = workdir / "app.py"
    app.write_text(f"import json\nMETRICS, ROUTES, TICKS = {METRICS}, {ROUTES}, {args.ticks}\n" + APP)
    files = {}
    for count in counts:
        files[count] = workdir / f"rules-{count}.yaml"
        write_rules(files[count], count)
    print(f"machine: {machine()}")
    print(f"command: python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}".rstrip())
    results: dict[int, list[dict[str, Any]]] = {c: [] for c in counts}
    rng = random.Random()
    started = time.monotonic()
    for _ in range(args.rounds):
        order = list(counts)
        rng.shuffle(order)
        for count in order:
            run = start_up(app, files[count], args.ticks)
            run["check"] = check(files[count])
            results[count].append(run)
    print(f"({time.monotonic() - started:.0f} s)")
    base = counts[0]

    def med(count: int, key: str) -> float:
        return median([r[key] for r in results[count]])

    rows = []
    for count in counts:
        extra = count - base
        rss = med(count, "rss") / 2**20
        ev = med(count, "eval") * 1000
        rows.append(
            [
                f"{count:,}",
                f"{med(count, 'first'):.2f}",
                f"{med(count, 'ready'):.2f}",
                f"{rss:.1f}",
                f"{(rss - med(base, 'rss') / 2**20) * 1024 / extra:.1f}" if extra else "-",
                f"{ev:.2f}",
                f"{(ev - med(base, 'eval') * 1000) * 1000 / extra:.1f}" if extra else "-",
                f"{med(count, 'check'):.2f}",
            ]
        )
    headers = [
        "rules",
        "start-up s (app's first line)",
        "rules ready s",
        "RSS MiB",
        "KiB per rule",
        "eval ms per tick",
        "µs per rule per tick",
        "check s",
    ]
    print()
    print(table(headers, rows))


if __name__ == "__main__":
    main()
