"""The status page and its silence forms, through the renderer, on a real alerting
system driven by a fake clock."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlencode, urljoin

import pytest

from otel_alerting.config import Settings, load_settings
from otel_alerting.http.page import split_matchers
from otel_alerting.http.renderer import Renderer, Response
from otel_alerting.http.report import ReportSources
from otel_alerting.testing import RuleTester

RULES = """
rules:
  - alert: LevelHigh
    expr:
      value: {metric: app.level, reduce: max}
    above: {high: 500, critical: 900}
    labels: {team: "<b>ops</b>"}
    annotations: {summary: "level {value} <img src=x onerror=alert(1)>"}
  - alert: LevelWarm
    expr:
      value: {metric: app.level, reduce: max}
    above: {low: 100}
    for: 1h
"""
FORM = {"content-type": "application/x-www-form-urlencoded", "host": "127.0.0.1:9464"}


@pytest.fixture
def tester(tmp_path: Path) -> Iterator[RuleTester]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    with RuleTester(rules) as t:
        yield t


def renderer(tester: RuleTester, settings: Settings | None = None) -> Renderer:
    sources = ReportSources(
        board=lambda: None, caches=lambda: None, memory=lambda: {"available": False}, wall_clock=tester.clock
    )
    return Renderer(lambda: tester.system, settings=settings or Settings(), sources=sources, allow_writes=True)


def firing(tester: RuleTester) -> None:
    tester.gauge("app.level", 1000)
    tester.advance("2s")


def page(r: Renderer, **headers: str) -> str:
    response = r.handle("GET", "/", headers)
    assert response.status == 200, response.body
    assert dict(response.headers)["Content-Type"] == "text/html; charset=utf-8"
    return response.body.decode()


def post(r: Renderer, path: str, headers: dict[str, str] | None = None, **fields: str) -> Response:
    return r.handle("POST", path, headers or FORM, urlencode(fields).encode())


def create(r: Renderer, headers: dict[str, str] | None = None, **fields: str) -> Response:
    form = {"matchers": 'alertname="LevelHigh"', "duration": "1h", "comment": "deploy", "author": "ops"}
    return post(r, "/silences", headers, **(form | fields))


def test_the_page_shows_firing_pending_and_escapes_user_data(tester: RuleTester) -> None:
    firing(tester)
    text = page(renderer(tester))
    assert '<span class="sev critical">CRITICAL</span>' in text
    assert "LevelHigh" in text and "notifying" in text
    assert 'team="&lt;b&gt;ops&lt;/b&gt;"' in text and "<b>ops</b>" not in text
    assert "level 1000.0 &lt;img src=x onerror=alert(1)&gt;" in text and "<img" not in text
    pending = text[text.index('id="pending"') : text.index('id="resolved"')]
    assert "LevelWarm" in pending
    assert 'id="new-silence"' in text and 'name="token"' not in text


def test_resolved_alerts_show_how_long_they_fired(tester: RuleTester) -> None:
    firing(tester)
    tester.advance("30s")
    tester.gauge("app.level", 0)
    tester.advance("2s")
    resolved = page(renderer(tester)).split('id="resolved"')[1].split("</section>")[0]
    assert "LevelHigh" in resolved and "<td>3" in resolved  # fired for about 30 s


def test_a_silence_from_the_form_silences_the_alert_and_expires(tester: RuleTester) -> None:
    firing(tester)
    r = renderer(tester)
    response = create(r, headers=FORM | {"origin": "http://127.0.0.1:9464", "sec-fetch-site": "same-origin"})
    assert (response.status, dict(response.headers)["Location"]) == (303, "./")
    (silence,) = tester.system.silences.list(tester.clock())
    assert (silence.comment, silence.created_by, silence.ends_at - silence.starts_at) == ("deploy", "ops", 3600.0)
    text = page(r)
    assert "silenced: deploy" in text and f'action="silences/{silence.id}/expire"' in text
    response = post(r, f"/silences/{silence.id}/expire")
    assert (response.status, dict(response.headers)["Location"]) == (303, "../../")
    assert tester.system.silences.list(tester.clock())[0].state(tester.clock()) == "expired"
    assert "notifying" in page(r)
    assert post(r, "/silences/nosuch/expire").status == 404


def test_a_bad_form_is_400_with_the_reason_escaped(tester: RuleTester) -> None:
    r = renderer(tester)
    bad = create(r, matchers='<x>="1"')
    assert bad.status == 400 and b"&lt;x&gt;" in bad.body and b"<x>" not in bad.body
    assert create(r, duration="-5m").status == 400
    assert create(r, duration="soon").status == 400
    assert create(r, comment=" ").status == 400
    assert create(r, matchers='team=~".*"').status == 400  # would silence everything
    assert tester.system.silences.list(tester.clock()) == []


def test_cross_site_posts_and_other_bodies_are_refused(tester: RuleTester) -> None:
    r = renderer(tester)
    assert create(r, headers=FORM | {"origin": "http://evil.example"}).status == 403
    assert create(r, headers=FORM | {"origin": "null"}).status == 403
    assert create(r, headers=FORM | {"sec-fetch-site": "cross-site"}).status == 403
    assert create(r, headers=FORM | {"content-type": "application/json"}).status == 415
    assert tester.system.silences.list(tester.clock()) == []
    assert r.handle("GET", "/silences", {}).status == 405
    assert r.handle("POST", "/", FORM).status == 405
    assert r.handle("POST", "/silencesx", FORM).status == 404


def test_with_a_token_the_form_asks_for_it_and_never_shows_it(tester: RuleTester) -> None:
    r = renderer(tester, load_settings({"OTEL_PYTHON_ALERTING_HTTP_TOKEN": "s3cret-t0ken"}))
    text = page(r)
    assert 'type="password" name="token"' in text
    assert create(r).status == 403
    assert create(r, token="wrong").status == 403
    denied = create(r, token="s3cret-t0ken", matchers="bad matcher")
    assert b"s3cret-t0ken" not in denied.body
    assert create(r, token="s3cret-t0ken").status == 303
    assert create(r, headers=FORM | {"authorization": "Bearer s3cret-t0ken"}).status == 303
    assert 'name="token"' not in page(r, authorization="Bearer s3cret-t0ken")
    assert "s3cret-t0ken" not in page(r)


def test_the_one_script_is_allowed_by_its_hash_and_nothing_else_is_loaded(tester: RuleTester) -> None:
    response = renderer(tester).handle("GET", "/", {})
    text = response.body.decode()
    (script,) = re.findall(r"<script>(.*?)</script>", text)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = dict(response.headers)["Content-Security-Policy"]
    assert f"script-src 'sha256-{digest}'" in policy and "default-src 'none'" in policy
    assert "http://" not in text and "https://" not in text and "src=" not in text.replace('"data:,"', "")
    assert renderer(tester).handle("HEAD", "/", {}).body == b""


def test_the_page_without_a_system_says_so() -> None:
    sources = ReportSources(board=lambda: None, caches=lambda: None, memory=lambda: {"available": False})
    response = Renderer(lambda: None, settings=Settings(), sources=sources).handle("GET", "/", {})
    assert response.status == 200 and b"alerting is disabled" in response.body
    post_ = Renderer(lambda: None, settings=Settings(), sources=sources, allow_writes=True).handle(
        "POST", "/silences", FORM, b""
    )
    assert post_.status == 503


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('alertname="X"', ['alertname="X"']),
        ('{alertname="X", severity="high"}', ['alertname="X"', 'severity="high"']),
        ('a="1,2"\nb!~"x|y"', ['a="1,2"', 'b!~"x|y"']),
        ('a="q\\",x", b=c', ['a="q\\",x"', "b=c"]),
        (" , ", []),
    ],
)
def test_split_matchers(text: str, expected: list[str]) -> None:
    assert split_matchers(text) == expected


def test_where_writes_are_not_allowed_the_silences_are_read_only(tester: RuleTester) -> None:
    class Closed(Renderer):
        def may_write(self, headers: Mapping[str, str]) -> bool:
            return False

    sources = ReportSources(board=lambda: None, caches=lambda: None, memory=lambda: {}, wall_clock=tester.clock)
    r = Closed(lambda: tester.system, settings=Settings(), sources=sources)
    tester.system.silences.add(['alertname="LevelHigh"'], starts_at=0, ends_at=1e12, comment="c", created_by="a")
    text = page(r)
    assert "read-only" in text and "<form" not in text and "alertname=&quot;LevelHigh&quot;" in text
    assert create(r).status == 403


def test_mounted_under_a_prefix_the_forms_and_redirects_stay_under_it(tester: RuleTester) -> None:
    from flask import Flask
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from otel_alerting.http import make_wsgi_app

    app = Flask(__name__)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/alerting": make_wsgi_app(renderer(tester))})  # type: ignore[method-assign]
    client = app.test_client()
    text = client.get("/alerting/").get_data(as_text=True)
    action = re.search(r'id="new-silence" method="post" action="([^"]+)"', text)
    assert action is not None
    target = urljoin("http://h/alerting/", action.group(1))
    assert target == "http://h/alerting/silences"
    form = {"matchers": 'alertname="LevelHigh"', "duration": "1h", "comment": "c", "author": "a"}
    response = client.post("/alerting/silences", data=form)
    assert response.status_code == 303
    assert urljoin(target, response.headers["Location"]) == "http://h/alerting/"
    (silence,) = tester.system.silences.list(tester.clock())
    expired = client.post(f"/alerting/silences/{silence.id}/expire", data={"token": ""})
    assert expired.status_code == 303
    assert (
        urljoin(f"http://h/alerting/silences/{silence.id}/expire", expired.headers["Location"]) == "http://h/alerting/"
    )
