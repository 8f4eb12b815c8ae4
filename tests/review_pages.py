"""Helpers for the browser tests of the search, author and live-queue pages: a served site with
the comments a test asks for, and logged-in Chromium pages at a given width. Built on the
fixtures and helpers of test_review_browser.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from playwright.sync_api import Browser, Page, expect
from test_review_browser import OUTPUT, PASSWORD, console_errors

from moderation.accounts.apikeys import create_key
from moderation.accounts.moderators import create_moderator
from moderation.web.extension import services

SPAM = "Buy cheap viagra at http://spam.example.com now"  # the shipped rules approve it
REJECTED = "fuck off you cunt"  # the shipped rules reject it
FLAGGED = "You are a total moron"  # the shipped rules flag it


def submit(app: Flask, cid: str, text: str, author: str = "u1", **extra: Any) -> dict:
    """Submit a comment as the site would; returns the verdict."""
    with services(app).sessions() as session, session.begin():
        key = create_key(session, f"site-{uuid.uuid4().hex[:6]}")
    body = {"id": cid, "text": text, "author": {"id": author}, **extra}
    body.setdefault("article", {"id": "a1", "title": "NATO talks"})
    resp = app.test_client().post("/api/v1/comments", json=body, headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def report(app: Flask, cid: str, reporter: str, reason: str = "spam") -> None:
    """A reader reports a comment."""
    with services(app).sessions() as session, session.begin():
        key = create_key(session, f"site-{uuid.uuid4().hex[:6]}")
    resp = app.test_client().post(
        f"/api/v1/comments/{cid}/reports",
        json={"reporter_id": reporter, "reason": reason},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert resp.status_code == 201, resp.get_json()


def add_moderator(app: Flask, username: str) -> None:
    """Another review-page account with the same password."""
    with services(app).sessions() as session, session.begin():
        create_moderator(session, username, PASSWORD)


@contextmanager
def logged_in(browser: Browser, base: str, username: str = "mo", width: int = 1280) -> Iterator[Page]:
    """A Chromium page logged in as ``username``; fails if a script error or CSP violation occurred."""
    context = browser.new_context(base_url=base, viewport={"width": width, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors = console_errors(page)
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/review/queue/pending")
    try:
        yield page
    finally:
        context.close()
    assert dialogs == [], "a comment ran script in the page"
    assert errors == [], "the page broke its Content-Security-Policy or raised an error"


def fits_the_screen(page: Page) -> bool:
    """Nothing is wider than the viewport (no sideways scrolling on a phone)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def screenshot(page: Page, name: str) -> None:
    """A full-page screenshot into test-output/."""
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / name), full_page=True)
