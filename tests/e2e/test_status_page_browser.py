"""The status page in a real headless browser (Debian's chromium, driven by
Playwright): a service under opentelemetry-instrument fires an alert, the page shows
it with no console error, a silence created from the page's form turns it to
silenced (the health report counts the escalation it muted), and the page's Expire
button ends the silence.

The test fails, never skips, without chromium or Playwright (``scripts/bootstrap``
installs both). With OTEL_ALERTING_UPDATE_SCREENSHOT=1 it also writes the
screenshot into docs/status-page.png.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otel_alerting.testing import OtlpReceiver

from ..support.waiting import wait_until
from .instrumented import ROOT, health_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = ROOT / "docs" / "status-page.png"
RULES = """
rules:
  - alert: LevelHigh
    expr:
      value: {metric: app.level, reduce: max}
    above: {high: 500, critical: 900}
    labels: {team: "storage"}
    annotations: {summary: "app.level is {value}, above {threshold}"}
  - alert: LevelWarm
    expr:
      value: {metric: app.level, reduce: max}
    above: {low: 100}
    for: 1h
"""


def health(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return dict(json.loads(error.read()))
    except OSError:
        return None


def alerts(port: int) -> dict[str, Any]:
    return (health(port) or {}).get("alerts", {})


@pytest.fixture
def service(receiver: OtlpReceiver, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The health app under opentelemetry-instrument, serving on a free port; yields
    (port, the file holding app.level)."""
    with health_app(receiver, tmp_path, RULES, "600") as app:
        port = app.port
        wait_until(
            lambda: alerts(port).get("active", {}).get("HIGH") == 1, "LevelHigh to fire", 30, seen=lambda: health(port)
        )
        yield port, app.level
    assert app.process.returncode == 0, app.stderr[-3000:]


def _playwright() -> Any:
    if shutil.which("chromium") is None or not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (scripts/bootstrap installs it with apt-get)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed (pip install -e '.[test]')")
    return sync_playwright()


def test_the_page_shows_the_alert_and_silences_it_from_the_form(service: tuple[int, Path], tmp_path: Path) -> None:
    port, level = service
    url = f"http://127.0.0.1:{port}/"
    problems: list[str] = []
    with _playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 760})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
            page.goto(url)
            row = page.locator("#firing tr.alert", has_text="LevelHigh")
            assert row.locator(".sev").inner_text() == "HIGH"
            assert "notifying" in row.inner_text() and 'team="storage"' in row.inner_text()
            assert "LevelWarm" in page.locator("#pending").inner_text()

            form = page.locator("#new-silence")
            form.locator("input[name=matchers]").fill('alertname="LevelHigh"')
            form.locator("input[name=duration]").fill("2h")
            form.locator("input[name=comment]").fill("disk swap <in progress>")
            form.locator("input[name=author]").fill("e2e")
            with page.expect_navigation():
                form.locator("button[type=submit]").click()
            assert page.url == url, page.inner_text("body")  # the 303 led back to the page
            page.locator("#firing tr.alert .state.silenced").wait_for(timeout=10_000)
            assert "silenced: disk swap <in progress>" in page.locator("#firing tr.alert").inner_text()
            assert "active" in page.locator("#silences tr.silence").inner_text()

            # an escalation while silenced is muted, not sent
            level.write_text("1000")
            wait_until(
                lambda: alerts(port).get("silenced", 0) >= 1,
                "the escalation to be silenced",
                15,
                seen=lambda: alerts(port),
            )
            page.reload()
            assert page.locator("#firing tr.alert .sev").inner_text() == "CRITICAL"
            assert page.locator("#firing tr.alert .state").inner_text().startswith("silenced")
            shot = page.screenshot(full_page=True, path=str(tmp_path / "status-page.png"))
            if os.environ.get("OTEL_ALERTING_UPDATE_SCREENSHOT") == "1":
                SCREENSHOT.write_bytes(shot)

            with page.expect_navigation():
                page.locator("#silences tr.silence button", has_text="Expire").click()
            page.locator("#firing tr.alert .state.notifying").wait_for(timeout=10_000)
            assert "expired" in page.locator("#silences tr.silence").inner_text()
        finally:
            browser.close()
    assert problems == []
