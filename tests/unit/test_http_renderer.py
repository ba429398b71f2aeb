"""The renderer every way of serving shares: routes, statuses, token, limits, errors."""

from __future__ import annotations

import json

import pytest

from otel_alerting.config import Settings, load_settings
from otel_alerting.http.renderer import MAX_BODY, Renderer, bearer_token_matches, declared_too_large
from otel_alerting.http.report import ReportSources
from otel_alerting.instrumentation.probes.state import DependencyKey, HealthBoard
from otel_alerting.secrets import Secret


def renderer(down: bool = False, settings: Settings | None = None) -> Renderer:
    board = HealthBoard()
    board.record(DependencyKey("redis"), not down)
    src = ReportSources(board=lambda: board, caches=lambda: None, memory=lambda: {"available": True})
    return Renderer(lambda: None, settings=settings or Settings(), sources=src)


def test_health_is_200_json_when_ok_and_503_when_failing() -> None:
    ok = renderer().handle("GET", "/health", {})
    assert ok.status == 200 and dict(ok.headers)["Content-Type"] == "application/json"
    assert json.loads(ok.body)["status"] == "ok"
    failing = renderer(down=True).handle("GET", "/health/", {})
    assert failing.status == 503 and json.loads(failing.body)["status"] == "failing"


def test_the_failing_status_is_a_setting() -> None:
    settings = load_settings({"OTEL_PYTHON_ALERTING_HTTP_HEALTH_FAILING_STATUS": "200"})
    response = renderer(down=True, settings=settings).handle("GET", "/health", {})
    assert response.status == 200 and json.loads(response.body)["status"] == "failing"


def test_a_bad_failing_status_is_named_and_falls_back() -> None:
    settings = load_settings({"OTEL_PYTHON_ALERTING_HTTP_HEALTH_FAILING_STATUS": "99"})
    assert settings.http_failing_status == 503
    assert [e.variable for e in settings.errors] == ["OTEL_PYTHON_ALERTING_HTTP_HEALTH_FAILING_STATUS"]


def test_http_settings_are_read_and_the_token_is_not_shown() -> None:
    settings = load_settings(
        {
            "OTEL_PYTHON_ALERTING_HTTP_PORT": "9464",
            "OTEL_PYTHON_ALERTING_HTTP_HOST": "0.0.0.0",
            "OTEL_PYTHON_ALERTING_HTTP_TOKEN": "t0ken",
        }
    )
    assert (settings.http_port, settings.http_host) == (9464, "0.0.0.0")
    assert settings.http_token == Secret("t0ken")
    assert "t0ken" not in repr(settings) and "t0ken" not in str(settings.describe())
    assert Settings().http_host == "127.0.0.1" and Settings().http_port is None


def test_head_has_the_status_and_no_body() -> None:
    response = renderer(down=True).handle("HEAD", "/health", {})
    assert (response.status, response.body) == (503, b"")


@pytest.mark.parametrize("path", ["/nope", "/health/x", "/api/v1/alerts"])
def test_unknown_paths_are_404_json(path: str) -> None:
    response = renderer().handle("GET", path, {})
    assert (response.status, json.loads(response.body)) == (404, {"error": "not found"})


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_writes_to_health_are_405_with_allow(method: str) -> None:
    response = renderer().handle(method, "/health", {}, b"{}")
    assert response.status == 405 and dict(response.headers)["Allow"] == "GET, HEAD"


def test_a_body_over_the_limit_is_413() -> None:
    assert renderer().handle("POST", "/health", {}, b"x" * (MAX_BODY + 1)).status == 413
    assert declared_too_large(str(MAX_BODY + 1)).status == 413  # type: ignore[union-attr]
    assert declared_too_large("12x").status == 400  # type: ignore[union-attr]
    assert declared_too_large(str(MAX_BODY)) is None and declared_too_large(None) is None


def test_an_error_is_json_without_a_stack_trace(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("secret detail")

    response = Renderer(broken, settings=Settings()).handle("GET", "/health", {})  # type: ignore[arg-type]
    assert (response.status, json.loads(response.body)) == (500, {"error": "internal error"})
    assert b"Traceback" not in response.body and b"secret detail" not in response.body


def test_the_token_check_is_bearer_and_exact() -> None:
    assert bearer_token_matches("Bearer t0ken", "t0ken")
    assert bearer_token_matches("bearer  t0ken ", "t0ken")
    assert not bearer_token_matches("Bearer t0ke", "t0ken")
    assert not bearer_token_matches("Basic t0ken", "t0ken")
    assert not bearer_token_matches(None, "t0ken")
    guarded = renderer(settings=Settings(http_token=Secret("t0ken")))
    assert guarded.may_write({"authorization": "Bearer t0ken"})
    assert not guarded.may_write({}) and not guarded.may_write({"authorization": "Bearer nope"})
    # reads of /health never need it
    assert guarded.handle("GET", "/health", {}).status == 200
