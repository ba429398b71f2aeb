"""End to end: pre-fork servers (real gunicorn with 3 workers, with and without
``--preload``, and real uvicorn with ``--workers 3``) under opentelemetry-instrument,
each worker evaluating its own ``app.level``, a real webhook receiver.

With ``OTEL_PYTHON_ALERTING_STATE`` (an SQLite file or a Redis the workers share), an
alert that every worker trips arrives once as FIRING and once as RESOLVED, the RESOLVED
only when every worker has resolved, or once the lease of a worker that was SIGKILLed
holding it has expired; a silence posted to the Alertmanager API (to whichever worker
accepts the connection) mutes it in every worker, and its expiry, posted the same way,
unmutes it. A SIGTERM while the alert holds sends no RESOLVED, even from a master that
outlives its workers by more than a lease; the next start resolves it if it no longer
holds. Without it, each worker notifies (documented) and one warning says so.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from otel_alerting.testing import OtlpReceiver

from ..instrumentation.servers import RedisServer, redis_server_fixture
from ..support.files import replace_text
from ..support.http import HttpReceiver
from ..support.ports import free_port
from ..support.waiting import holds_for, wait_until
from .instrumented import APPS, BIN, ROOT, instrumented_env

__all__ = ["redis_server_fixture"]  # the module's redis-server

RULES = """
rules:
  - alert: WorkersLevelHigh
    expr:
      value: {metric: app.level, reduce: max}
      by: [proc]
    above: {high: 500}
"""

WARNING = "runs in a pre-fork server"
LEASE_S = 2.0

SERVERS = {
    "gunicorn": ["gunicorn", "--workers", "3", "--chdir", str(APPS), "prefork_app:application"],
    # the app with the plugin's HTTP surface mounted under /alerting
    "gunicorn api": ["gunicorn", "--workers", "3", "--chdir", str(APPS), "prefork_api_app:application"],
    "gunicorn --preload": ["gunicorn", "--workers", "3", "--preload", "--chdir", str(APPS), "prefork_app:application"],
    # a worker slow to start under load is not taken for a hung one
    "uvicorn": [
        "uvicorn",
        "--workers",
        "3",
        "--timeout-worker-healthcheck",
        "60",
        "--app-dir",
        str(APPS),
        "prefork_app:asgi",
    ],
}


@dataclass
class Server:
    process: subprocess.Popen[str]
    levels: Path
    hook: HttpReceiver
    port: int = 0
    stderr: str = ""

    def workers(self) -> list[int]:
        """The pids of the processes that report ``app.level``, the master left out
        (under --preload it reports it too)."""
        return sorted(
            pid
            for pid in (int(p.name.split("-")[1]) for p in self.levels.glob("seen-*"))
            if pid != self.process.pid and _alive(pid)
        )

    def level(self, value: float, pid: int | None = None) -> None:
        replace_text(self.levels / ("level" if pid is None else f"level-{pid}"), f"{value:g}")

    def alerts(self) -> list[dict[str, Any]]:
        return [
            {"status": alert["status"], "fingerprint": alert["fingerprint"], "startsAt": alert["startsAt"]}
            for request in self.hook.requests
            for alert in request.json()["alerts"]
            if alert["labels"].get("alertname") == "WorkersLevelHigh"
        ]

    def statuses(self) -> list[str]:
        return [a["status"] for a in self.alerts()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start(
    kind: str, receiver: OtlpReceiver, tmp_path: Path, state: str | None, hook: HttpReceiver, *args: str, **extra: str
) -> Server:
    """``kind`` serving the app with 3 workers (the level low, ``args`` added to its
    command line), once all 3 workers evaluate."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    levels = tmp_path / "levels"
    levels.mkdir(exist_ok=True)  # a restart: the pids seen before are dead
    (levels / "level").write_text("1")
    env = instrumented_env(
        receiver,
        OTEL_PYTHON_ALERTING_RULES=str(rules),
        OTEL_PYTHON_ALERTING_DEFAULT_RULES="false",
        OTEL_PYTHON_ALERTING_CHANNELS="webhook",
        OTEL_PYTHON_ALERTING_WEBHOOK_URL=f"{hook.url}/hook",
        OTEL_PYTHON_ALERTING_STATE_LEASE=f"{LEASE_S:g}s",
        LEVEL_DIR=str(levels),
        TMPDIR=str(tmp_path),  # where spawned workers leave their once-only marker
        **extra,
    )
    if state is not None:
        env["OTEL_PYTHON_ALERTING_STATE"] = state
    port = free_port()
    command = [str(BIN / "opentelemetry-instrument"), *SERVERS[kind], *args]
    command += ["--bind", f"127.0.0.1:{port}"] if kind.startswith("gunicorn") else ["--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = Server(process, levels, hook, port)
    try:
        wait_until(lambda: len(server.workers()) == 3, "3 workers evaluating", 60, seen=server.workers)
    except BaseException:
        process.kill()
        process.communicate()
        raise
    return server


def stop(server: Server, kind: str, signalled: bool = False) -> None:
    """SIGTERM (unless ``signalled`` already) and wait at most 45 s for the exit; the
    server's stderr then in ``server.stderr``."""
    if not signalled:
        server.process.send_signal(signal.SIGTERM)
    try:
        server.stderr = server.process.communicate(timeout=45)[1]
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.stderr = server.process.communicate()[1]
        raise AssertionError(f"{kind} did not stop within 45 s after SIGTERM:\n{server.stderr[-3000:]}") from None


@contextmanager
def serving(kind: str, receiver: OtlpReceiver, tmp_path: Path, state: str | None, **extra: str) -> Iterator[Server]:
    """``kind`` serving the app with 3 workers until the block ends, then SIGTERM; the
    block starts once all 3 workers evaluate (the level low)."""
    with HttpReceiver() as hook:
        server = start(kind, receiver, tmp_path, state, hook, **extra)
        try:
            yield server
        finally:
            stop(server, kind)
    assert "Traceback" not in server.stderr, server.stderr[-3000:]


def _state(store: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """OTEL_PYTHON_ALERTING_STATE: an SQLite file, or the module's redis-server."""
    if store == "sqlite":
        return str(tmp_path / "state.db")
    server: RedisServer = request.getfixturevalue("redis_server")
    server.flush()
    return server.url


@pytest.mark.parametrize(
    ("kind", "store"),
    [*((kind, "sqlite") for kind in SERVERS), ("gunicorn", "redis"), ("uvicorn", "redis")],
)
def test_every_worker_trips_it_one_firing_and_one_resolved(
    kind: str, store: str, receiver: OtlpReceiver, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with serving(kind, receiver, tmp_path, _state(store, request, tmp_path)) as server:
        server.level(700)
        wait_until(server.alerts, "the FIRING", 20, seen=server.alerts)
        # every worker evaluates it firing (several intervals): still one notification
        holds_for(lambda: len(server.alerts()) == 1, "one FIRING", 3, seen=server.alerts)
        first, *others = server.workers()
        server.level(1, first)  # one worker recovers while the others still fire
        holds_for(lambda: server.statuses() == ["firing"], "no RESOLVED while two still fire", 3, seen=server.alerts)
        server.level(1)
        for pid in others:
            server.level(1, pid)
        wait_until(lambda: len(server.alerts()) == 2, "the RESOLVED", 20, seen=server.alerts)
        holds_for(lambda: len(server.alerts()) == 2, "nothing more", 2, seen=server.alerts)
    firing, resolved = server.alerts()
    assert [firing["status"], resolved["status"]] == ["firing", "resolved"]
    assert resolved["fingerprint"] == firing["fingerprint"]
    assert resolved["startsAt"] == firing["startsAt"]
    assert WARNING not in server.stderr


def _api(server: Server, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """One request to the Alertmanager API mounted in the app: the worker that answered, and the JSON."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/alerting/api/v2/{path}",
        None if body is None else json.dumps(body).encode(),
        {"Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read()
        return int(response.headers["X-Worker-Pid"]), json.loads(text) if text else None


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_a_silence_posted_to_one_worker_mutes_the_alert_in_every_worker(
    store: str, receiver: OtlpReceiver, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with serving("gunicorn api", receiver, tmp_path, _state(store, request, tmp_path)) as server:
        now = time.time()
        silence = {
            "matchers": [{"name": "alertname", "value": "WorkersLevelHigh", "isRegex": False, "isEqual": True}],
            "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60)),
            "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600)),
            "createdBy": "ops",
            "comment": "maintenance",
        }
        posted_to, answer = _api(server, "POST", "silences", silence)
        silence_id = answer["silenceID"]
        knowing: set[int] = set()

        def every_worker_knows_it() -> bool:
            # the connections land on the workers in turn or at random: each says if it knows it
            try:
                pid, found = _api(server, "GET", f"silence/{silence_id}")
            except OSError:  # 404 from a worker that has not read it yet
                return False
            if found["status"]["state"] == "active":
                knowing.add(pid)
            return set(server.workers()) <= knowing

        wait_until(every_worker_knows_it, "every worker knowing the silence", 20, seen=lambda: (posted_to, knowing))
        server.level(700)  # every worker trips the alert, and every worker mutes it
        holds_for(lambda: not server.alerts(), "no FIRING from any worker while silenced", 4, seen=server.alerts)
        expired_by, _ = _api(server, "DELETE", f"silence/{silence_id}")
        wait_until(server.alerts, "the FIRING once the silence expired", 20, seen=lambda: (expired_by, server.alerts()))
        holds_for(lambda: len(server.alerts()) == 1, "one FIRING", 2, seen=server.alerts)
        assert server.statuses() == ["firing"]


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_a_worker_killed_holding_the_alert_is_resolved_after_its_lease(
    store: str, receiver: OtlpReceiver, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with serving("gunicorn", receiver, tmp_path, _state(store, request, tmp_path)) as server:
        server.level(700)
        wait_until(server.alerts, "the FIRING", 20, seen=server.alerts)
        victim = server.workers()[0]
        server.level(700, victim)
        server.level(1)  # the two others (and any worker started later) recover
        holds_for(lambda: server.statuses() == ["firing"], "no RESOLVED while one holds it", 2 * LEASE_S)
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        wait_until(lambda: len(server.alerts()) == 2, "the RESOLVED after the lease", 30, seen=server.alerts)
        after = time.monotonic() - killed
        holds_for(lambda: len(server.alerts()) == 2, "nothing more", 2, seen=server.alerts)
    assert server.statuses() == ["firing", "resolved"]
    # the holder's last heartbeat came at most one interval (0.1 s) before the kill
    assert after >= LEASE_S - 0.2, f"RESOLVED {after:.2f}s after the kill, before the {LEASE_S:g}s lease expired"


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_without_a_store_each_worker_notifies_and_one_warning_says_so(
    kind: str, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    with serving(kind, receiver, tmp_path, None) as server:
        server.level(700)
        wait_until(lambda: len(server.alerts()) == 3, "one FIRING per worker", 20, seen=server.alerts)
        holds_for(lambda: len(server.alerts()) == 3, "no fourth", 2, seen=server.alerts)
    assert len({a["fingerprint"] for a in server.alerts()}) == 1
    warnings = [line for line in server.stderr.splitlines() if WARNING in line]
    assert len(warnings) == 1, server.stderr[-3000:]


def test_a_sigterm_while_the_alert_holds_sends_no_resolved_and_the_next_start_resolves_it(
    receiver: OtlpReceiver, tmp_path: Path
) -> None:
    # The master (--preload: it runs the plugin too, its own level low) outlives its stopped
    # workers by more than a lease, searching the log for orphans all along.
    kind, state = "gunicorn --preload", str(tmp_path / "state.db")
    slow_exit = ("-c", str(APPS / "slow_exit_gunicorn.py"))
    with HttpReceiver() as hook:
        server = start(kind, receiver, tmp_path, state, hook, *slow_exit)
        master = server.process.pid
        server.level(1, master)
        server.level(700)
        wait_until(server.alerts, "the FIRING", 20, seen=server.alerts)
        holds_for(lambda: len(server.alerts()) == 1, "one FIRING", 2, seen=server.alerts)
        workers = server.workers()
        server.process.send_signal(signal.SIGTERM)  # a deploy: the alert still holds
        wait_until(lambda: not any(map(_alive, workers)), "the workers' exit", 30, seen=workers)
        holds_for(
            lambda: server.statuses() == ["firing"] and server.process.poll() is None,
            "no RESOLVED from the master for 3 leases after its workers stopped",
            3 * LEASE_S,
            seen=lambda: (server.alerts(), server.process.poll()),
        )
        (server.levels / "release").touch()
        stop(server, kind, signalled=True)
        assert "Traceback" not in server.stderr, server.stderr[-3000:]
        assert server.statuses() == ["firing"]
        (server.levels / "release").unlink()
        # the next start, the level low: the restored alert is resolved, once
        again = start(kind, receiver, tmp_path, state, hook, *slow_exit)
        try:
            wait_until(lambda: len(again.alerts()) == 2, "the RESOLVED from the restart", 20, seen=again.alerts)
            holds_for(lambda: len(again.alerts()) == 2, "nothing more", 2, seen=again.alerts)
        finally:
            (again.levels / "release").touch()
            stop(again, kind)
    assert "Traceback" not in again.stderr, again.stderr[-3000:]
    firing, resolved = again.alerts()
    assert [firing["status"], resolved["status"]] == ["firing", "resolved"]
    assert resolved["fingerprint"] == firing["fingerprint"]
    assert resolved["startsAt"] == firing["startsAt"]
