"""Issue 12, defect 4 and the all-comments listing, in headless Chromium: machine verdicts can be
overturned from a listing that shows them, and from the item page; one article's comments."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect
from review_pages import FLAGGED, REJECTED, SPAM, fits_the_screen, logged_in, report, screenshot, submit
from sqlalchemy import select
from test_review_browser import browser as browser  # the module-scoped Chromium fixture
from test_review_browser import serving

from moderation.models import AuditEntry
from moderation.web.extension import services
from moderation.workflow.decisions import decide
from moderation.workflow.submission import get_comment


@pytest.fixture
def site(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    with serving(sqlite_template, tmp_path, []) as (base, app):
        assert submit(app, "spam1", SPAM, "spammer")["status"] == "approved"
        assert submit(app, "rude1", REJECTED, "rude")["status"] == "rejected"
        assert submit(app, "flag1", FLAGGED, "grumpy")["status"] == "flagged"
        submit(
            app,
            "budget1",
            "A sensible point about the budget",
            "ann",
            article={"id": "a2", "title": "Budget day", "url": "https://news.example/budget"},
        )
        report(app, "spam1", "reader-1")  # one report: not enough to bring it back to the queue
        yield base, app


def state(app: Flask, cid: str) -> tuple[str, str | None]:
    with services(app).sessions() as session:
        comment = get_comment(session, cid)
        return comment.status, comment.decided_by


def actions(app: Flask, cid: str) -> list[tuple[str, str]]:
    with services(app).sessions() as session:
        comment = get_comment(session, cid)
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.actor)
            .where(AuditEntry.comment_id == comment.id)
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]


def test_all_comments_lists_machine_verdicts_and_overturns_them(
    browser: Browser, site: tuple[str, Flask]
) -> None:
    base, app = site
    with logged_in(browser, base) as page:
        page.click("header nav >> text=All comments")
        expect(page).to_have_url(f"{base}/review/all")
        rows = page.locator("[data-result]")
        expect(rows).to_have_count(4)
        spam = page.locator("[data-result][data-id=spam1]")
        expect(spam.locator("[data-decider]")).to_have_text("decided by the machine")
        expect(spam.locator(".status")).to_have_text("approved")
        rude = page.locator("[data-result][data-id=rude1]")
        expect(rude.locator(".status")).to_have_text("rejected")
        screenshot(page, "all-comments-1280.png")

        # Only machine-decided ones, then reject the auto-approved spam.
        page.select_option("select[name=decided]", "machine")
        page.click("form.search-form button[type=submit]")
        expect(page).to_have_url(
            f"{base}/review/all?q=&author=&article=&status=&decided=machine&since=&until="
        )
        spam.locator("select[data-reject-rule]").select_option("no_spam")
        spam.locator("button.reject").click()
        expect(page.locator(".flash.success")).to_contain_text("Rejected spam1")
        assert state(app, "spam1") == ("rejected", "moderator:mo")

        # Approve the auto-rejected one; the page stays on the filtered listing.
        page.locator("[data-result][data-id=rude1] button.approve").click()
        expect(page.locator(".flash.success")).to_contain_text("Approved rude1")
        assert "decided=machine" in page.url
        assert state(app, "rude1") == ("approved", "moderator:mo")
    assert actions(app, "spam1")[-1] == ("reject", "moderator:mo")
    assert actions(app, "rude1")[-1] == ("approve", "moderator:mo")


def test_item_page_of_a_machine_verdict_offers_the_other_decision(
    browser: Browser, site: tuple[str, Flask]
) -> None:
    """Before: an auto-rejected or a reported auto-approved comment showed only "Undo", which failed."""
    base, app = site
    with logged_in(browser, base) as page:
        page.goto("/review/comments/rude1")
        expect(page.locator(".overturn-note")).to_contain_text("Rejected by the machine")
        expect(page.locator("form[data-overturn] button.reject")).to_have_count(0)
        page.keyboard.press("a")
        expect(page.locator(".flash.success")).to_contain_text("Approved rude1")
        assert state(app, "rude1") == ("approved", "moderator:mo")

        page.goto("/review/comments/spam1")  # approved by the machine, reported once
        expect(page.locator("form[data-overturn] button.approve")).to_have_count(0)
        page.keyboard.press("r")
        page.locator("select[data-reject-rule]:focus").select_option("no_spam")
        page.keyboard.press("Enter")
        expect(page.locator(".flash.success")).to_contain_text("Rejected spam1")
        assert state(app, "spam1") == ("rejected", "moderator:mo")
        # And a moderator's own overturn can be undone, restoring the machine's verdict.
        page.goto("/review/comments/spam1")
        page.keyboard.press("u")
        expect(page.locator(".flash.success")).to_contain_text("Undid your rejection of spam1")
        assert state(app, "spam1") == ("approved", None)


def test_a_stale_overturn_is_refused(browser: Browser, site: tuple[str, Flask]) -> None:
    base, app = site
    with logged_in(browser, base) as page:
        page.goto("/review/all")
        # Someone else rejects the spam after this page was drawn.
        svc = services(app)
        with svc.sessions() as session, session.begin():
            spam = get_comment(session, "spam1")
            rules = svc.pipeline.rules
            decide(
                session, spam, "moderator:eve", "reject", rules, svc.notify, "no_spam", None, spam.revision
            )
        row = page.locator("[data-result][data-id=spam1]")
        row.locator("select[data-reject-rule]").select_option("be_nice")
        row.locator("button.reject").click()
        expect(page.locator(".flash.error")).to_contain_text("changed since you loaded it")
    assert state(app, "spam1") == ("rejected", "moderator:eve")
    assert [a for a in actions(app, "spam1") if a[0] == "reject"] == [("reject", "moderator:eve")]


def test_article_page_shows_its_title_link_and_only_its_comments(
    browser: Browser, site: tuple[str, Flask]
) -> None:
    base, _ = site
    with logged_in(browser, base) as page:
        page.goto("/review/all")
        page.locator("[data-result][data-id=budget1] >> text=Budget day").click()
        expect(page).to_have_url(f"{base}/review/articles/a2")
        expect(page.locator("h1")).to_have_text("Budget day")
        link = page.locator(".article-link a")
        expect(link).to_have_attribute("href", "https://news.example/budget")
        expect(page.locator("[data-result]")).to_have_count(1)
        page.goto("/review/articles/a1")
        expect(page.locator("h1")).to_have_text("NATO talks")
        expect(page.locator("[data-result]")).to_have_count(3)


def test_all_comments_fits_a_phone(browser: Browser, site: tuple[str, Flask]) -> None:
    base, _ = site
    with logged_in(browser, base, width=390) as page:
        page.goto("/review/all")
        expect(page.locator("[data-result]")).to_have_count(4)
        assert fits_the_screen(page)
        screenshot(page, "all-comments-390.png")
