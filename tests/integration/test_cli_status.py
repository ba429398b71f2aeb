"""``otel-alerting status`` when the service does not answer with a health report:
exit 2 with one line naming the URL, never a trace. The URL from the environment."""

from __future__ import annotations

import json

from otel_alerting.cli_status import default_url

from ..support.http import HttpReceiver, Reply
from ..support.ports import free_port
from .test_cli import run


def test_nothing_listening_exits_2_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = run("status", "--url", url)
    assert done.returncode == 2
    assert done.stderr == f"otel-alerting status: cannot reach {url}/health: connection refused or host unknown\n"


def test_an_answer_that_is_no_report_exits_2() -> None:
    with HttpReceiver(Reply(status=404, body="not here")) as receiver:
        done = run("alerts", "--url", receiver.url + "/health")
    assert done.returncode == 2
    assert done.stderr == f"otel-alerting alerts: {receiver.url}/health answered HTTP 404 without a health report\n"


def test_a_service_too_slow_to_answer_exits_2_after_the_timeout() -> None:
    with HttpReceiver(Reply(delay=5.0, body="{}")) as receiver:
        done = run("status", "--url", receiver.url)
    assert done.returncode == 2
    assert done.stderr == f"otel-alerting status: cannot reach {receiver.url}/health: no answer within 3s\n"
    assert "Traceback" not in done.stderr


def test_no_url_and_no_port_is_said_plainly() -> None:
    done = run("status")
    assert done.returncode == 2
    assert done.stderr == (
        "otel-alerting status: no service to ask: pass --url or set OTEL_PYTHON_ALERTING_HTTP_PORT\n"
    )


def test_a_failing_report_exits_1_whatever_the_http_status() -> None:
    report = {"status": "failing", "reasons": ["dependency redis is down"], "alerts": {"available": False}}
    with HttpReceiver(Reply(status=503, body=json.dumps(report))) as receiver:
        done = run("status", "--url", receiver.url)
    assert done.returncode == 1
    assert done.stdout.splitlines()[:3] == [
        f"{receiver.url}/health: FAILING",
        "  dependency redis is down",
        "Alerts: not available (no reason given)",
    ]


def test_the_default_url_is_the_standalone_server() -> None:
    assert default_url({}) is None
    assert default_url({"OTEL_PYTHON_ALERTING_HTTP_PORT": "9464"}) == "http://127.0.0.1:9464"
    wildcard = {"OTEL_PYTHON_ALERTING_HTTP_PORT": "9464", "OTEL_PYTHON_ALERTING_HTTP_HOST": "0.0.0.0"}
    assert default_url(wildcard) == "http://127.0.0.1:9464"
    v6 = {"OTEL_PYTHON_ALERTING_HTTP_PORT": "9464", "OTEL_PYTHON_ALERTING_HTTP_HOST": "::1"}
    assert default_url(v6) == "http://[::1]:9464"
