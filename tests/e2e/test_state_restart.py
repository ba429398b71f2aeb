"""End to end: a deploy (SIGTERM, start again) with OTEL_PYTHON_ALERTING_STATE keeps one
alert one alert. A webhook receiver gets exactly one FIRING and one RESOLVED, with the
same startsAt, across the restart; a silence made through the HTTP API before the
restart still mutes after it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
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
  - alert: RestartLevelHigh
    expr:
      value: {metric: app.level, reduce: max}
      by: [proc]
    above: {high: 500}
    for: 1s
"""


@pytest.fixture(params=["sqlite", "redis"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """OTEL_PYTHON_ALERTING_STATE: an SQLite file, or a real redis-server."""
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    server: RedisServer = request.getfixturevalue("redis_server")
    server.flush()
    return server.url


@contextmanager
def running(env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """The app under opentelemetry-instrument until the block ends, then SIGTERM."""
    command = [str(BIN / "opentelemetry-instrument"), sys.executable, str(APPS / "restart_app.py")]
    app = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "app: ready"
        yield app
    finally:
        app.send_signal(signal.SIGTERM)
        _, err = app.communicate(timeout=30)
        assert app.returncode == 0, err[-3000:]
        assert "Traceback" not in err, err[-3000:]


def _alerts(hook: HttpReceiver) -> list[dict[str, Any]]:
    return [
        {"status": alert["status"], "startsAt": alert["startsAt"], "fingerprint": alert["fingerprint"]}
        for request in hook.requests
        for alert in request.json()["alerts"]
        if alert["labels"].get("alertname") == "RestartLevelHigh"
    ]


def _setup(
    tmp_path: Path, receiver: OtlpReceiver, hook: HttpReceiver, state: str, **extra: str
) -> tuple[dict[str, str], Path]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    level = tmp_path / "level"
    level.write_text("700")
    env = instrumented_env(
        receiver,
        OTEL_PYTHON_ALERTING_RULES=str(rules),
        OTEL_PYTHON_ALERTING_DEFAULT_RULES="false",
        OTEL_PYTHON_ALERTING_CHANNELS="webhook",
        OTEL_PYTHON_ALERTING_WEBHOOK_URL=f"{hook.url}/hook",
        OTEL_PYTHON_ALERTING_STATE=state,
        LEVEL_FILE=str(level),
        **extra,
    )
    return env, level


def test_a_deploy_sends_one_firing_and_one_resolved(receiver: OtlpReceiver, tmp_path: Path, state: str) -> None:
    with HttpReceiver() as hook:
        env, level = _setup(tmp_path, receiver, hook, state)
        with running(env):
            wait_until(lambda: _alerts(hook), "the FIRING", 20, seen=lambda: _alerts(hook))
        # stopped while the value is still high: no RESOLVED
        assert [a["status"] for a in _alerts(hook)] == ["firing"]
        with running(env):
            # started again with the value still high: not announced again, not resolved
            holds_for(lambda: len(_alerts(hook)) == 1, "no second notification", 5, seen=lambda: _alerts(hook))
            replace_text(level, "1")
            wait_until(lambda: len(_alerts(hook)) == 2, "the RESOLVED", 20, seen=lambda: _alerts(hook))
        time.sleep(0.5)  # anything else would have come by now
        firing, resolved = _alerts(hook)
    assert [firing["status"], resolved["status"]] == ["firing", "resolved"]
    assert resolved["startsAt"] == firing["startsAt"]
    assert resolved["fingerprint"] == firing["fingerprint"]
    assert len(hook.requests) == 2


def test_a_silence_made_before_a_restart_mutes_after_it(receiver: OtlpReceiver, tmp_path: Path, state: str) -> None:
    port = free_port()
    with HttpReceiver() as hook:
        env, level = _setup(tmp_path, receiver, hook, state, OTEL_PYTHON_ALERTING_HTTP_PORT=str(port))
        replace_text(level, "1")
        now = time.time()
        body = {
            "matchers": [{"name": "alertname", "value": "RestartLevelHigh", "isRegex": False, "isEqual": True}],
            "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60)),
            "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600)),
            "createdBy": "deployer",
            "comment": "deploy window",
        }
        with running(env):
            url = f"http://127.0.0.1:{port}/api/v2/silences"
            wait_until(lambda: _answers(url), "the HTTP API", 20)
            request = urllib.request.Request(
                url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                silence_id = json.loads(response.read())["silenceID"]
            time.sleep(1.0)  # an evaluation or two: the silence is saved with them
        replace_text(level, "700")
        with running(env):
            wait_until(lambda: _answers(url), "the HTTP API after the restart", 20)
            with urllib.request.urlopen(f"{url[: -len('s')]}/{silence_id}", timeout=5) as response:
                assert json.loads(response.read())["status"]["state"] == "active"
            holds_for(lambda: not _alerts(hook), "no notification while silenced", 4, seen=lambda: _alerts(hook))


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False
