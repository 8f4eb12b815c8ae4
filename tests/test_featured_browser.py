""" "Candidates to feature" in headless Chromium: the listing, the highlighted span, the f / d keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect
from review_pages import logged_in, screenshot
from sqlalchemy import select
from test_contribution import TOXIC_UBLA, UBLA
from test_review_browser import browser, serving  # noqa: F401  (the module's browser fixture)

from moderation.models import Comment
from moderation.web.extension import services

BACKGROUND = (
    "The 1997 Founding Act already committed NATO not to station substantial combat forces in new members."
)


@pytest.fixture
def site(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    """Served with the shipped rules and contribution head (the default): c0 the Ubla account,
    c1 the same claim wrapped in abuse, c2 background, c3 nothing to feature."""
    with serving(sqlite_template, tmp_path, [UBLA, TOXIC_UBLA, BACKGROUND, "ok"]) as running:
        yield running


def state(app: Flask, cid: str) -> str | None:
    with services(app).sessions() as session:
        return session.scalar(select(Comment.feature_state).where(Comment.site_id == cid))


def test_candidates_listing_and_keys(browser: Browser, site: tuple[str, Flask]) -> None:  # noqa: F811
    base, app = site
    with logged_in(browser, base) as page:
        page.click("nav >> text=Feature")
        expect(page).to_have_url(f"{base}/review/featured/")
        items = page.locator("[data-items] [data-item]")
        expect(items).to_have_count(2)
        expect(items.nth(0)).to_have_attribute("data-id", "c0")  # best first
        expect(page.locator("section h2").first).to_contain_text("NATO talks")
        mark = items.nth(0).locator("mark")
        expect(mark).to_have_text(UBLA)
        expect(mark).to_have_css("background-color", "rgb(255, 224, 138)")
        expect(items.nth(0).locator("[data-kind]")).to_have_text("eyewitness")
        expect(page.locator("[data-item][data-id=c1]")).to_have_count(0)  # abuse is never a candidate
        screenshot(page, "featured-candidates.png")

        page.wait_for_load_state("load")  # the key scripts have run
        page.keyboard.press("j")  # the second candidate ...
        expect(items.nth(1)).to_have_class("item selected")
        page.keyboard.press("k")  # ... and back to the first
        expect(items.nth(0)).to_have_class("item selected")
        page.keyboard.press("f")
        expect(page.locator(".flash.ok")).to_contain_text("Featured #c0")
        expect(page.locator("[data-featured-item][data-id=c0]")).to_be_visible()
        expect(items).to_have_count(1)
        assert state(app, "c0") == "featured"

        page.wait_for_load_state("load")  # the page came back: its key script must have run first
        page.keyboard.press("d")
        expect(page.locator(".flash.ok")).to_contain_text("Dismissed #c2")
        expect(page.locator("[data-no-candidates]")).to_be_visible()
        assert state(app, "c2") == "dismissed"

        page.click("[data-featured-item][data-id=c0] button")
        expect(page.locator(".flash.ok")).to_contain_text("No longer featured: #c0")
        assert state(app, "c0") is None


def test_buttons_work_without_javascript(browser: Browser, site: tuple[str, Flask]) -> None:  # noqa: F811
    base, app = site
    context = browser.new_context(base_url=base, java_script_enabled=False)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=username]", "mo")
    from test_review_browser import PASSWORD

    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/review/featured/")
    page.click("[data-item][data-id=c2] form[data-feature] button")
    expect(page.locator(".flash.ok")).to_contain_text("Featured #c2")
    context.close()
    assert state(app, "c2") == "featured"
