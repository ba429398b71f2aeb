"""Alertmanager's API v2 of a service under opentelemetry-instrument, driven by the
real ``amtool``: alert query, silence add / query / expire, and their effect on the
notifications a real webhook receives. The shapes are compared with the real
Alertmanager 0.25's answers to the same requests. A missing amtool or Alertmanager
FAILS the tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from otel_alerting.testing import OtlpReceiver

from ..channels.alertmanager_server import alertmanager_with_webhook
from ..support.http import HttpReceiver
from ..support.waiting import wait_until
from .instrumented import health_app

RULES = """
rules:
  - alert: LevelHigh
    expr:
      value: {metric: app.level, reduce: max}
    above: {high: 900}
    annotations:
      summary: "level {value:g} above {threshold:g}"
  - alert: LevelSlow
    expr:
      value: {metric: app.level, reduce: max}
    above: {medium: 500}
    for: 1h
"""


def amtool_binary() -> str:
    found = shutil.which("amtool")
    if found is None:
        pytest.fail("amtool is not installed: run ./scripts/bootstrap (apt prometheus-alertmanager)")
    return found


def amtool(port: int, *args: str) -> str:
    done = subprocess.run(
        [amtool_binary(), f"--alertmanager.url=http://127.0.0.1:{port}", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, f"amtool {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


def get(base: str, path: str) -> Any:
    with urllib.request.urlopen(f"{base}{path}", timeout=5) as response:
        return json.loads(response.read())


@contextmanager
def service(tmp_path: Path, otlp: OtlpReceiver, hook: HttpReceiver) -> Iterator[tuple[int, Path]]:
    """The service running, its alert firing; yields (its API port, its level file)."""
    with health_app(
        otlp,
        tmp_path,
        RULES,
        "1000",
        OTEL_PYTHON_ALERTING_WEBHOOK_URL=f"{hook.url}/hook",
        OTEL_PYTHON_ALERTING_GROUP_WAIT="0s",
        OTEL_PYTHON_ALERTING_GROUP_INTERVAL="1s",
        OTEL_PYTHON_ALERTING_REPEAT_INTERVAL="1s",
    ) as app:
        hook.wait_for(1, timeout=30)
        yield app.port, app.level
    assert app.process.returncode == 0, app.stderr[-3000:]


def firing_count(hook: HttpReceiver) -> int:
    return sum(1 for body in hook.bodies if body and body.get("status") == "firing")


def test_amtool_silences_mute_the_webhook_until_expired(receiver: OtlpReceiver, tmp_path: Path) -> None:
    amtool_binary()
    with HttpReceiver() as hook, service(tmp_path, receiver, hook) as (port, _):
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: firing_count(hook) >= 2, "a repeat of the firing notification", 15)
        listed = amtool(port, "alert", "query")
        assert "LevelHigh" in listed and "level 1000 above 900" in listed

        silence_id = amtool(
            port, "silence", "add", "alertname=LevelHigh", "--comment=maintenance", "--duration=1h"
        ).strip()
        assert silence_id and silence_id in amtool(port, "silence", "query", "--quiet")
        alerts = {a["labels"]["alertname"]: a for a in get(base, "/api/v2/alerts")}
        assert alerts["LevelHigh"]["status"] == {"state": "suppressed", "silencedBy": [silence_id], "inhibitedBy": []}
        assert "LevelHigh" in amtool(port, "alert", "query", "--silenced")

        time.sleep(1.0)  # a delivery already on its way when the silence came
        muted_at = firing_count(hook)
        time.sleep(3.0)  # three repeat intervals
        assert firing_count(hook) == muted_at, "the silenced alert was notified"

        amtool(port, "silence", "expire", silence_id)
        assert get(base, f"/api/v2/silence/{silence_id}")["status"]["state"] == "expired"
        assert silence_id not in amtool(port, "silence", "query", "--quiet")
        wait_until(lambda: firing_count(hook) > muted_at, "notifications once the silence expired", 10)


def test_pending_alerts_are_listed_as_unprocessed_and_amtool_reads_them(receiver: OtlpReceiver, tmp_path: Path) -> None:
    amtool_binary()
    with HttpReceiver() as hook, service(tmp_path, receiver, hook) as (port, _):
        base = f"http://127.0.0.1:{port}"
        alerts = {a["labels"]["alertname"]: a for a in get(base, "/api/v2/alerts")}
        slow = alerts["LevelSlow"]
        assert slow["status"]["state"] == "unprocessed" and slow["labels"]["alertstate"] == "pending"
        assert alerts["LevelHigh"]["status"]["state"] == "active"
        assert "LevelSlow" in amtool(port, "alert", "query", "alertstate=pending", "--unprocessed")
        assert "LevelSlow" not in amtool(port, "alert", "query", "--active")
        groups = get(base, "/api/v2/alerts/groups")
        assert {g["receiver"]["name"] for g in groups} >= {"webhook"}


def _shape(document: Any) -> Any:
    """The field names of a document, nested; label sets and values left out."""
    if isinstance(document, dict):
        return {k: None if k in ("labels", "annotations") else _shape(v) for k, v in document.items()}
    if isinstance(document, list):
        return [_shape(document[0])] if document else []
    return None


SILENCE = {"matchers": [{"name": "alertname", "value": "LevelHigh", "isRegex": False, "isEqual": True}]}


def _post_silence(base: str) -> str:
    body = {**SILENCE, "startsAt": "2030-01-01T00:00:00Z", "endsAt": "2030-01-02T00:00:00.000Z"}
    body |= {"createdBy": "test", "comment": "shape"}
    request = urllib.request.Request(
        f"{base}/api/v2/silences", json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer: dict[str, str] = json.loads(response.read())
    assert set(answer) == {"silenceID"}
    return answer["silenceID"]


def _post_alert(base: str) -> None:
    alert = [{"labels": {"alertname": "LevelHigh", "severity": "high"}, "annotations": {"summary": "s"}}]
    request = urllib.request.Request(
        f"{base}/api/v2/alerts", json.dumps(alert).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    urllib.request.urlopen(request, timeout=5).close()


def test_the_shapes_are_alertmanagers(receiver: OtlpReceiver, tmp_path: Path) -> None:
    (tmp_path / "am").mkdir()
    with alertmanager_with_webhook(tmp_path / "am") as (am, _), HttpReceiver() as hook:
        _post_alert(am)
        wait_until(lambda: bool(get(am, "/api/v2/alerts/groups")), "Alertmanager to group the alert", 10)
        am_silence = _post_silence(am)
        with service(tmp_path, receiver, hook) as (port, _):
            ours = f"http://127.0.0.1:{port}"
            our_silence = _post_silence(ours)
            for path in ("/api/v2/alerts", "/api/v2/alerts/groups", "/api/v2/silences", "/api/v2/receivers"):
                assert _shape(get(ours, path)) == _shape(get(am, path)), path
            assert _shape(get(ours, f"/api/v2/silence/{our_silence}")) == _shape(
                get(am, f"/api/v2/silence/{am_silence}")
            )
            status, am_status = get(ours, "/api/v2/status"), get(am, "/api/v2/status")
            assert set(status) == set(am_status)
            for key in ("versionInfo", "config"):
                assert set(status[key]) == set(am_status[key]), key
            assert status["cluster"]["status"] == "disabled" and set(status["cluster"]) == set(am_status["cluster"])
