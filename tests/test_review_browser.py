"""End to end in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from werkzeug.serving import make_server

from moderation.accounts.apikeys import create_key
from moderation.accounts.moderators import create_moderator
from moderation.config import PROJECT_ROOT
from moderation.web import create_app
from moderation.web.extension import services

CHROMIUM = "/usr/bin/chromium"


def whole_responses(app: Flask) -> Callable[[dict[str, Any], Any], list[bytes]]:
    """The app for werkzeug's test server, each response read whole and closed before the server
    writes it. When Chromium drops a connection, the server can fail while draining the request
    and skip closing the response: a static file's handle was then left to the garbage collector,
    whose ResourceWarning failed whichever test was running."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return list(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wrapped


OUTPUT = PROJECT_ROOT / "test-output"
PASSWORD = "correct horse battery"
SCRIPT_COMMENT = '<script>alert("xss")</script> you idiot'


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@contextmanager
def serving(
    sqlite_template: Path, tmp_path: Path, texts: list[str], model: str = "none"
) -> Iterator[tuple[str, Flask]]:
    """A real HTTP server over a fresh database, with one moderator and the given comments."""
    db = tmp_path / "e2e.db"
    shutil.copy(sqlite_template, db)
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{db}",
            "SECRET_KEY": "e2e",
            "LOG_LEVEL": "WARNING",
            "MODERATION_MODEL": model,
        }
    )
    with services(app).sessions() as session, session.begin():
        create_moderator(session, "mo", PASSWORD)
        key = create_key(session, "site")
    client = app.test_client()
    for n, text in enumerate(texts):
        client.post(
            "/api/v1/comments",
            json={
                "id": f"c{n}",
                "text": text,
                "author": {"id": f"u{n}"},
                "article": {"id": "a1", "title": "NATO talks"},
            },
            headers={"Authorization": f"Bearer {key}"},
        )
    httpd = make_server("127.0.0.1", 0, whole_responses(app), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", app
    finally:
        httpd.shutdown()
        services(app).engine.dispose()


@pytest.fixture
def server(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    texts = ["You are a total moron", "You utter clown", "You absolute imbecile", SCRIPT_COMMENT]
    with serving(sqlite_template, tmp_path, texts) as running:
        yield running


def console_errors(page: Page) -> list[str]:
    """Errors the page reports; Chromium logs every Content-Security-Policy violation as one."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def log_in(page: Page, base: str) -> None:
    response = page.goto("/review/")
    assert response is not None
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.fill("input[name=username]", "mo")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/review/queue/pending")


@pytest.fixture
def page(browser: Browser, server: tuple[str, Flask]) -> Iterator[Page]:
    base, _ = server
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors = console_errors(page)
    log_in(page, base)
    yield page
    assert dialogs == [], "a comment ran script in the page"
    assert errors == [], "the page broke its Content-Security-Policy or raised an error"
    context.close()


def status(app: Flask, cid: str) -> str:
    with app.test_request_context():
        from moderation.workflow.submission import get_comment

        with services(app).sessions() as session:
            return get_comment(session, cid).status


def test_work_the_queue_with_the_keyboard(page: Page, server: tuple[str, Flask]) -> None:
    _, app = server
    page.goto("/review/queue/flagged")
    expect(page.locator("[data-item].selected")).to_have_attribute("data-id", "c0")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "queue.png"), full_page=True)

    page.keyboard.press("j")
    expect(page.locator("[data-item].selected")).to_have_attribute("data-id", "c1")
    page.keyboard.press("a")
    expect(page.locator(".flash.success")).to_contain_text("Approved c1")
    assert status(app, "c1") == "approved"
    expect(page.locator("[data-item].selected")).to_be_visible()  # review.js (deferred) has run

    # Reject the first item with a site rule: r focuses the rule, Enter submits.
    page.keyboard.press("r")
    rule = page.locator("[data-item].selected select[data-reject-rule]")
    expect(rule).to_be_focused()
    rule.select_option("be_nice")
    page.keyboard.press("Enter")
    expect(page.locator(".flash.success")).to_contain_text("Rejected c0")
    assert status(app, "c0") == "rejected"
    expect(page.locator("[data-item].selected")).to_be_visible()

    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()


def test_undo_on_the_item_page(page: Page, server: tuple[str, Flask]) -> None:
    _, app = server
    page.goto("/review/comments/c2")
    page.keyboard.press("r")
    page.locator("select[data-reject-rule]:focus").select_option("keep_it_clean")
    page.keyboard.press("Enter")
    expect(page.locator(".flash.success")).to_contain_text("Rejected c2")
    assert status(app, "c2") == "rejected"
    page.goto("/review/comments/c2")
    page.keyboard.press("u")
    expect(page.locator(".flash.success")).to_contain_text("Undid your rejection of c2")
    assert status(app, "c2") == "flagged"


def test_script_in_a_comment_shows_as_text(page: Page) -> None:
    page.goto("/review/comments/c3")
    expect(page.locator(".main .text").first).to_contain_text('<script>alert("xss")</script>')
    assert page.locator(".main script").count() == 0
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "item.png"), full_page=True)


def test_works_without_javascript(browser: Browser, server: tuple[str, Flask]) -> None:
    base, app = server
    context = browser.new_context(base_url=base, java_script_enabled=False)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=username]", "mo")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/review/queue/flagged")
    page.locator("[data-item][data-id=c1] button.approve").click()
    expect(page.locator(".flash.success")).to_contain_text("Approved c1")
    assert status(app, "c1") == "approved"
    context.close()


def test_statistics_charts_draw_under_the_policy(page: Page) -> None:
    page.goto("/review/stats")
    expect(page.locator("figure.chart svg").first).to_be_visible()
    assert page.locator("figure.chart svg rect").count() > 0


def test_score_bars_draw_under_the_policy(
    browser: Browser, sqlite_template: Path, tmp_path: Path, tiny_model: Path
) -> None:
    with serving(sqlite_template, tmp_path, ["You are a total moron"], str(tiny_model)) as (base, _):
        context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors = console_errors(page)
        log_in(page, base)
        page.goto("/review/comments/c0")
        bars = page.locator(".main .scores li")
        expect(bars.first).to_be_visible()
        for n in range(bars.count()):
            score = float(bars.nth(n).locator(".value").inner_text())
            track = bars.nth(n).locator("svg.bar").bounding_box()
            fill = bars.nth(n).locator("svg.bar rect.fill").bounding_box()
            assert track is not None and track["width"] > 50
            # The filled part is the score's share of the bar, to within a pixel or so of rounding.
            assert abs((fill["width"] if fill else 0.0) - score * track["width"]) <= 2.0, (score, track, fill)
        assert errors == []
        context.close()


def test_review_pages_refuse_to_be_framed(browser: Browser, server: tuple[str, Flask]) -> None:
    """Clickjacking: another site framing the review page gets nothing to click."""
    base, _ = server
    context = browser.new_context()
    page = context.new_page()
    page.set_content(f'<iframe src="{base}/login" width="600" height="400"></iframe>', wait_until="load")
    frame = page.frames[1]
    assert frame.locator("input[name=username]").count() == 0
    context.close()
