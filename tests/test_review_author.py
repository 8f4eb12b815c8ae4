"""The author page in headless Chromium: whole history, reports both ways, notes, a suspension that
ends by itself, and "reject all recent comments" behind a confirmation step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect
from review_pages import FLAGGED, REJECTED, fits_the_screen, logged_in, report, screenshot, submit
from test_review_browser import browser as browser  # the module-scoped Chromium fixture
from test_review_browser import serving

from moderation.models import utcnow
from moderation.web.extension import services
from moderation.workflow.submission import find_author, get_comment


@pytest.fixture
def site(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    with serving(sqlite_template, tmp_path, []) as (base, app):
        submit(app, "t1", "First, a calm remark about the talks", "troll")
        submit(app, "t2", FLAGGED, "troll")
        submit(app, "t3", REJECTED, "troll")
        submit(app, "t4", "<b>bold</b> and <script>alert(1)</script>", "troll")
        submit(app, "n1", "A neighbour's fine comment", "nice")
        report(app, "t2", "nice", "insult")  # against troll, by nice
        report(app, "n1", "troll", "spam")  # by troll
        yield base, app


def statuses(app: Flask) -> dict[str, str]:
    with services(app).sessions() as session:
        return {cid: get_comment(session, cid).status for cid in ("t1", "t2", "t3", "t4", "n1")}


def test_author_page_shows_the_whole_record(browser: Browser, site: tuple[str, Flask]) -> None:
    base, _ = site
    with logged_in(browser, base) as page:
        page.goto("/review/comments/t2")
        page.click("text=Full history, suspension, reject recent →")
        expect(page).to_have_url(f"{base}/review/authors/troll")
        rows = page.locator("table.author-comments tbody tr")
        expect(rows).to_have_count(4)
        expect(page.locator("tr[data-comment=t3] .status")).to_have_text("rejected")
        expect(page.locator("tr[data-comment=t3]")).to_contain_text("machine")
        expect(page.locator("tr[data-comment=t2] .status")).to_have_text("flagged")
        expect(page.locator("tr[data-comment=t4] .excerpt")).to_contain_text("<script>alert(1)</script>")
        expect(page.locator("[data-reports-against] li")).to_have_count(1)
        expect(page.locator("[data-reports-against]")).to_contain_text("insult by nice")
        expect(page.locator("[data-reports-by]")).to_contain_text("#n1 spam")

        page.fill("input[name=text]", "warned twice")
        page.click("text=Add note")
        expect(page.locator(".flash.success")).to_contain_text("Note added")
        expect(page).to_have_url(f"{base}/review/authors/troll")
        expect(page.locator(".notes")).to_contain_text("warned twice")
        expect(page.locator("[data-author-events]")).to_contain_text("note by moderator:mo")
        screenshot(page, "author-1280.png")


def test_author_page_fits_a_phone(browser: Browser, site: tuple[str, Flask]) -> None:
    base, _ = site
    with logged_in(browser, base, width=390) as page:
        page.goto("/review/authors/troll")
        expect(page.locator("table.author-comments tbody tr")).to_have_count(4)
        assert fits_the_screen(page)
        screenshot(page, "author-390.png")


def test_suspension_for_a_set_time(browser: Browser, site: tuple[str, Flask]) -> None:
    base, app = site
    with logged_in(browser, base) as page:
        page.goto("/review/authors/troll")
        page.select_option("[data-suspend] select[name=hours]", "24")
        page.fill("[data-suspend] input[name=note]", "cooling off")
        page.click("[data-suspend] button[type=submit]")
        expect(page.locator(".flash.success")).to_contain_text("troll is suspended until")
        expect(page.locator("[data-suspended]")).to_be_visible()
        expect(page.locator("[data-author-events]")).to_contain_text("suspend by moderator:mo until")
        assert submit(app, "t5", "Trying again", "troll")["status"] == "rejected"

        # The time passes: the page and the pipeline both see it ended, with nobody lifting it.
        with services(app).sessions() as session, session.begin():
            find_author(session, "troll").suspended_until = utcnow()
        page.reload()
        expect(page.locator("[data-suspended]")).to_have_count(0)
        assert submit(app, "t6", "Trying once more", "troll")["status"] == "approved"

        page.select_option("[data-suspend] select[name=hours]", "1")
        page.click("[data-suspend] button[type=submit]")
        page.click("text=Lift the suspension")
        expect(page.locator(".flash.success")).to_contain_text("suspension is lifted")
        assert submit(app, "t7", "And again", "troll")["status"] == "approved"


def test_reject_all_recent_comments_after_confirming(browser: Browser, site: tuple[str, Flask]) -> None:
    base, app = site
    with logged_in(browser, base) as page:
        page.goto("/review/authors/troll")
        form = page.locator("[data-reject-recent]")
        form.locator("select[name=window]").select_option("24h")
        form.locator("select[data-reject-rule]").select_option("be_nice")
        form.locator("button[type=submit]").click()

        # The confirmation lists what would be rejected (t3 is rejected already); nothing changed yet.
        expect(page.locator("h1")).to_contain_text("Reject 3 recent comments by troll?")
        expect(page.locator("[data-to-reject] li")).to_have_count(3)
        assert statuses(app)["t1"] == "approved"
        # A comment posted while the moderator reads the list is not rejected unseen.
        submit(app, "t8", "Posted during the confirmation", "troll")
        page.click("text=Reject 3 comments")
        expect(page.locator(".flash.success")).to_contain_text("Rejected 3 recent comments by troll")
        assert statuses(app) == {
            "t1": "rejected",
            "t2": "rejected",
            "t3": "rejected",
            "t4": "rejected",
            "n1": "approved",
        }
        with services(app).sessions() as session:
            assert get_comment(session, "t8").status == "approved"
        expect(page.locator("[data-author-events]")).to_contain_text(
            "reject-recent by moderator:mo: 3 comments"
        )


def test_cancel_leaves_everything_alone(browser: Browser, site: tuple[str, Flask]) -> None:
    base, app = site
    before = statuses(app)
    with logged_in(browser, base) as page:
        page.goto("/review/authors/troll")
        form = page.locator("[data-reject-recent]")
        form.locator("select[data-reject-rule]").select_option("be_nice")
        form.locator("button[type=submit]").click()
        page.click("text=Cancel")
        expect(page).to_have_url(f"{base}/review/authors/troll")
    assert statuses(app) == before
