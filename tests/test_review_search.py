"""Search in headless Chromium: words, author, article, status and dates, matches highlighted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect
from review_pages import REJECTED, fits_the_screen, logged_in, screenshot, submit
from sqlalchemy import update
from test_review_browser import browser as browser  # the module-scoped Chromium fixture
from test_review_browser import serving

from moderation.models import Comment
from moderation.web.extension import services


@pytest.fixture
def site(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    with serving(sqlite_template, tmp_path, []) as (base, app):
        submit(app, "s1", "Taxes went up again. TAXES!", "ann")
        submit(app, "s2", "The budget is fine, no new taxes", "bob", article={"id": "a2", "title": "Budget"})
        submit(app, "s3", "100% sure <script>alert(1)</script> taxes", "ann")
        submit(app, "s4", "Nothing to see here", "ann")
        submit(app, "s5", f"{REJECTED} and your taxes", "carl")
        with services(app).sessions() as session, session.begin():
            session.execute(
                update(Comment)
                .where(Comment.site_id == "s1")
                .values(created_at=datetime(2026, 1, 10, 12, tzinfo=UTC))
            )
        yield base, app


def test_search_highlights_every_match(browser: Browser, site: tuple[str, Flask]) -> None:
    base, _ = site
    with logged_in(browser, base) as page:
        page.click("header nav >> text=Search")
        page.fill("input[name=q]", "taxes")
        page.press("input[name=q]", "Enter")
        results = page.locator("[data-result]")
        expect(results).to_have_count(4)
        expect(page.locator("[data-total]")).to_contain_text("4 comments")
        marks = page.locator("[data-result][data-id=s1] mark")
        expect(marks).to_have_text(["Taxes", "TAXES"])  # the text as written, case kept
        # Comment text stays text, even around a highlight.
        expect(page.locator("[data-result][data-id=s3] .text")).to_contain_text("<script>alert(1)</script>")
        assert page.locator("[data-result] script").count() == 0
        screenshot(page, "search-1280.png")

        page.fill("input[name=q]", "100%")
        page.click("form.search-form button[type=submit]")
        expect(results).to_have_count(1)
        expect(page.locator("[data-result][data-id=s3] mark")).to_have_text("100%")


def test_search_by_author_article_status_and_date(browser: Browser, site: tuple[str, Flask]) -> None:
    base, _ = site
    with logged_in(browser, base) as page:
        page.goto("/review/search?q=taxes&author=ann")
        expect(page.locator("[data-result]")).to_have_count(2)
        page.goto("/review/search?article=budget")
        expect(page.locator("[data-result]")).to_have_count(1)
        expect(page.locator("[data-result]")).to_have_attribute("data-id", "s2")
        page.goto("/review/search?q=taxes")
        page.select_option("select[name=status]", "rejected")
        page.click("form.search-form button[type=submit]")
        expect(page.locator("[data-result]")).to_have_count(1)
        expect(page.locator("[data-result]")).to_have_attribute("data-id", "s5")
        page.goto("/review/search")
        page.fill("input[name=since]", "2026-01-10")
        page.fill("input[name=until]", "2026-01-10")
        page.click("form.search-form button[type=submit]")
        expect(page.locator("[data-result]")).to_have_count(1)
        expect(page.locator("[data-result]")).to_have_attribute("data-id", "s1")
        page.goto("/review/search?q=nothing+matches+this")
        expect(page.locator(".empty")).to_have_text("No comments match.")


def test_search_fits_a_phone(browser: Browser, site: tuple[str, Flask]) -> None:
    base, _ = site
    with logged_in(browser, base, width=390) as page:
        page.goto("/review/search?q=taxes")
        expect(page.locator("[data-result]")).to_have_count(4)
        assert fits_the_screen(page)
        screenshot(page, "search-390.png")
