"""The SIGTERM handler (``otel_alerting.sigterm``), each case in a Python process of its
own: a SIGTERM here would end the test run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

#: a process that installs the handler with providers that say when they are shut down
#: (and, with HANG set, never finish), then prints what it did and waits for SIGTERM
PRELUDE = """
import os, signal, sys, threading, time
from otel_alerting.sigterm import flush_on_sigterm

class Provider:
    def __init__(self, name, hang=False):
        self.name, self.hang = name, hang
    def shutdown(self):
        print(f"shutdown {self.name} in {os.getpid()}", flush=True)
        if os.environ.get("SECOND") == "1":
            os.kill(os.getpid(), signal.SIGTERM)
        if self.hang:
            threading.Event().wait()

def providers():
    return [Provider("meter", hang=os.environ.get("HANG") == "1"), Provider("logger")]
"""


def _run(body: str, env: dict[str, str] | None = None, signal_after: str | None = "ready") -> tuple[int, str, float]:
    """Run PRELUDE + ``body``; send SIGTERM once it prints ``signal_after``; return its
    exit status, its output and the seconds from the signal to its end."""
    code = PRELUDE + textwrap.dedent(body)
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert process.stdout is not None
    output = []
    try:
        if signal_after is not None:
            for line in process.stdout:  # bounded: every body ends within 30 s
                output.append(line)
                if line.strip() == signal_after:
                    break
            process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        rest, _ = process.communicate(timeout=30)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, "".join(output) + rest, took


def test_a_process_without_a_handler_shuts_the_providers_down_then_ends_by_sigterm() -> None:
    status, output, _ = _run("""
        print(flush_on_sigterm(5.0, providers), flush=True)
        print("ready", flush=True)
        time.sleep(30)
        print("not ended", flush=True)
    """)
    assert status == -signal.SIGTERM, output
    assert output.splitlines()[0] == "True"
    shut = [line.split(" in ")[0] for line in output.splitlines() if line.startswith("shutdown")]
    assert shut == ["shutdown meter", "shutdown logger"], output
    assert "not ended" not in output


def test_a_shutdown_that_hangs_delays_the_end_by_at_most_the_timeout_and_the_margin() -> None:
    status, output, took = _run(
        """
        flush_on_sigterm(1.0, providers)
        print("ready", flush=True)
        time.sleep(30)
        """,
        env={**_env(), "HANG": "1"},
    )
    assert status == -signal.SIGTERM, output
    assert "took more than 2s" in output, output
    assert 2.0 <= took < 10.0, took


@pytest.mark.parametrize(
    "setup",
    [
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
        "signal.signal(signal.SIGTERM, lambda *_: print('own handler', flush=True) or sys.exit(3))",
    ],
    ids=["ignored", "own handler"],
)
def test_a_process_that_set_sigterm_itself_is_left_alone(setup: str) -> None:
    status, output, _ = _run(f"""
        {setup}
        print(flush_on_sigterm(5.0, providers), flush=True)
        print("ready", flush=True)
        time.sleep(2)
        print("slept", flush=True)
    """)
    assert output.splitlines()[0] == "False", output
    assert "shutdown" not in output
    if "IGN" in setup:
        assert status == 0 and "slept" in output, output
    else:
        assert status == 3 and "own handler" in output, output


def test_only_the_main_thread_installs_it() -> None:
    status, output, _ = _run(
        """
        found = []
        thread = threading.Thread(target=lambda: found.append(flush_on_sigterm(5.0, providers)))
        thread.start(); thread.join()
        print(found, signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, flush=True)
        """,
        signal_after=None,
    )
    assert status == 0 and output.strip() == "[False] True", output


def test_a_forked_child_ends_at_once_without_shutting_the_parents_providers_down() -> None:
    status, output, _ = _run(
        """
        flush_on_sigterm(5.0, providers)
        ready_in, ready_out = os.pipe()
        child = os.fork()
        if child == 0:
            os.write(ready_out, b"1")  # a signal before the child runs Python is dropped by CPython
            time.sleep(30)
            os._exit(0)
        os.read(ready_in, 1)
        os.kill(child, signal.SIGTERM)
        _, child_status = os.waitpid(child, 0)
        print("child signalled", os.WIFSIGNALED(child_status) and os.WTERMSIG(child_status), flush=True)
        """,
        signal_after=None,
    )
    assert status == 0, output
    assert f"child signalled {int(signal.SIGTERM)}" in output, output
    assert "shutdown" not in output, output


def test_a_second_sigterm_during_the_shutdown_ends_the_process_at_once() -> None:
    # the meter provider's shutdown sends the second SIGTERM, then hangs
    status, output, took = _run(
        """
        flush_on_sigterm(20.0, providers)
        print("ready", flush=True)
        time.sleep(30)
        """,
        env={**_env(), "HANG": "1", "SECOND": "1"},
    )
    assert status == -signal.SIGTERM, output
    assert "shutdown meter" in output and "took more than" not in output, output
    assert took < 10.0, took


def _env() -> dict[str, str]:
    return dict(os.environ)
