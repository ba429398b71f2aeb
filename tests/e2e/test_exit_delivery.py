"""End to end: what is due at a clean exit is delivered by every channel that sends over
the network, each addressed by host name (``localhost``: the name is resolved at exit),
when the script ends and when it exits on SIGTERM, within the shutdown timeout.

The application's level is high from its first line and the alerting interval is far
longer than its life: only the final evaluation, during the SDK's shutdown at exit, sees
the alert.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from otel_alerting.testing import OtlpReceiver

from ..channels.fake_smtp_service import SmtpServer
from ..channels.services import PAGERDUTY_PATH, SLACK_PATH, pagerduty_service, slack_service
from ..support.http import HttpReceiver
from ..support.ports import free_port
from ..support.waiting import wait_until
from .instrumented import APPS, BIN, ROOT, instrumented_env

RULES = """
rules:
  - alert: ExitLevelHigh
    expr:
      value: {metric: app.level, reduce: max}
    above: {critical: 500}
"""

#: the plugin's share of the SDK's shutdown; the test's bound on the time to exit
SHUTDOWN_TIMEOUT_S = 5.0

#: a channel's peer: (the variables that configure the channel, what reached the peer
#: about the alert, in order: "firing" or "resolved")
Peer = tuple[dict[str, str], Callable[[], list[str]]]


def _statuses(bodies: list[str]) -> list[str]:
    return ["resolved" if "resolved" in b.lower() else "firing" for b in bodies if "ExitLevelHigh" in b]


@contextmanager
def _email() -> Iterator[Peer]:
    with SmtpServer(free_port()) as smtp:
        env = {
            "OTEL_PYTHON_ALERTING_EMAIL_SMTP_HOST": "localhost",
            "OTEL_PYTHON_ALERTING_EMAIL_SMTP_PORT": str(smtp.port),
            "OTEL_PYTHON_ALERTING_EMAIL_TLS": "none",
            "OTEL_PYTHON_ALERTING_EMAIL_FROM": "alerts@example.test",
            "OTEL_PYTHON_ALERTING_EMAIL_TO": "oncall@example.test",
        }
        yield env, lambda: _statuses([str(mail.message.get("Subject")) for mail in smtp.received])


def _http_peer(receiver: HttpReceiver, variables: Callable[[str], dict[str, str]]) -> Iterator[Peer]:
    with receiver:
        base = receiver.url.replace("127.0.0.1", "localhost")
        yield variables(base), lambda: _statuses([r.body.decode(errors="replace") for r in receiver.requests])


@contextmanager
def _webhook() -> Iterator[Peer]:
    yield from _http_peer(HttpReceiver(), lambda base: {"OTEL_PYTHON_ALERTING_WEBHOOK_URL": f"{base}/hook"})


@contextmanager
def _slack() -> Iterator[Peer]:
    yield from _http_peer(slack_service(), lambda base: {"OTEL_PYTHON_ALERTING_SLACK_WEBHOOK_URL": base + SLACK_PATH})


@contextmanager
def _pagerduty() -> Iterator[Peer]:
    yield from _http_peer(
        pagerduty_service(),
        lambda base: {
            "OTEL_PYTHON_ALERTING_PAGERDUTY_ROUTING_KEY": "R0UTINGKEY0123456789abcdef012345",
            "OTEL_PYTHON_ALERTING_PAGERDUTY_URL": base + PAGERDUTY_PATH,
        },
    )


@contextmanager
def _alertmanager() -> Iterator[Peer]:
    yield from _http_peer(HttpReceiver(), lambda base: {"OTEL_PYTHON_ALERTING_ALERTMANAGER_URLS": base})


CHANNELS: dict[str, Callable[[], AbstractContextManager[Peer]]] = {
    "email": _email,
    "webhook": _webhook,
    "slack": _slack,
    "pagerduty": _pagerduty,
    "alertmanager": _alertmanager,
}


#: how the application exits: (WAIT_FOR_SIGNAL, the line awaited before the signal or the
#: end, whether SIGTERM is sent, the exit status expected)
EXITS: dict[str, tuple[str, str, bool, int]] = {
    "end": ("0", "app: done", False, 0),
    # handled by the application as servers do, by exiting normally
    "sigterm": ("1", "app: ready", True, 0),
    # a plain script: the plugin's handler shuts the SDK down, then the process ends by SIGTERM
    "sigterm-unhandled": ("2", "app: ready", True, -signal.SIGTERM),
}


def _run_exit_app(receiver: OtlpReceiver, rules: Path, how: str, variables: dict[str, str]) -> tuple[int, str, float]:
    """The exit application run until it exits as ``how`` says: its exit status, its
    stderr and how long it took to exit after the signal or its last line."""
    wait_for_signal, awaited, send_signal, _ = EXITS[how]
    env = instrumented_env(
        receiver,
        OTEL_PYTHON_ALERTING_RULES=str(rules),
        OTEL_PYTHON_ALERTING_INTERVAL="600s",
        OTEL_PYTHON_ALERTING_SHUTDOWN_TIMEOUT=f"{SHUTDOWN_TIMEOUT_S:g}s",
        WAIT_FOR_SIGNAL=wait_for_signal,
        **variables,
    )
    command = [str(BIN / "opentelemetry-instrument"), sys.executable, str(APPS / "exit_app.py")]
    app = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert app.stdout is not None
        lines = []
        for line in app.stdout:  # bounded: the app ends or sleeps at most 60 s
            lines.append(line)
            if line.startswith(awaited):
                break
        assert any(line.startswith(awaited) for line in lines), (lines, app.stderr.read() if app.stderr else "")
        if send_signal:
            app.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, err = app.communicate(timeout=60)
        took = time.monotonic() - started
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    return app.returncode, err, took


@pytest.mark.parametrize("how", sorted(EXITS))
@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_the_final_evaluation_is_delivered_at_a_clean_exit(
    receiver: OtlpReceiver, tmp_path: Path, channel: str, how: str
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    with CHANNELS[channel]() as (variables, received):
        status, err, took = _run_exit_app(receiver, rules, how, variables)
        assert status == EXITS[how][3], err[-3000:]
        # the peers have answered before the process could exit: nothing is in flight
        wait_until(lambda: "firing" in received(), f"the FIRING by {channel}", 2, seen=received)
    assert received() == ["firing"], err[-3000:]
    assert took < SHUTDOWN_TIMEOUT_S, f"exit took {took:.2f}s\n{err[-3000:]}"


def test_a_plain_script_keeps_the_default_sigterm_when_told_to(receiver: OtlpReceiver, tmp_path: Path) -> None:
    """With OTEL_PYTHON_ALERTING_HANDLE_SIGTERM=false, SIGTERM ends a plain script at once,
    as without the plugin: no shutdown, so the final evaluation never runs."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    with _webhook() as (variables, received):
        status, err, _ = _run_exit_app(
            receiver, rules, "sigterm-unhandled", {**variables, "OTEL_PYTHON_ALERTING_HANDLE_SIGTERM": "false"}
        )
        assert status == -signal.SIGTERM, err[-3000:]
        assert received() == [], err[-3000:]


@pytest.mark.parametrize("handle", ["true", "false"])
def test_uvicorn_in_one_process_delivers_at_sigterm_through_the_handler(
    receiver: OtlpReceiver, tmp_path: Path, handle: str
) -> None:
    """Uvicorn (one process) shuts down gracefully at SIGTERM, then puts back the handler it
    found and raises the signal again. With the plugin's handler the SDK's shutdown then
    runs, and the final evaluation is delivered; with the default disposition the process
    ends there, before any ``atexit`` hook."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    levels = tmp_path / "levels"
    levels.mkdir()
    (levels / "level").write_text("700")
    with _webhook() as (variables, received):
        env = instrumented_env(
            receiver,
            OTEL_PYTHON_ALERTING_RULES=str(rules),
            OTEL_PYTHON_ALERTING_INTERVAL="600s",
            OTEL_PYTHON_ALERTING_SHUTDOWN_TIMEOUT=f"{SHUTDOWN_TIMEOUT_S:g}s",
            OTEL_PYTHON_ALERTING_HANDLE_SIGTERM=handle,
            LEVEL_DIR=str(levels),
            **variables,
        )
        command = [
            str(BIN / "opentelemetry-instrument"),
            "uvicorn",
            "--app-dir",
            str(APPS),
            "--port",
            str(free_port()),
            "prefork_app:asgi",
        ]
        server = subprocess.Popen(
            command, env=env, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        try:
            assert server.stderr is not None
            lines = []
            for line in server.stderr:  # bounded: uvicorn starts or ends
                lines.append(line)
                if "Application startup complete" in line:
                    break
            assert "Application startup complete" in "".join(lines), "".join(lines)
            server.send_signal(signal.SIGTERM)
            err = "".join(lines) + server.communicate(timeout=60)[1]
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        assert server.returncode == -signal.SIGTERM, err[-3000:]
        if handle == "true":
            wait_until(lambda: "firing" in received(), "the FIRING at uvicorn's exit", 2, seen=received)
            assert received() == ["firing"], err[-3000:]
        else:
            assert received() == [], err[-3000:]
