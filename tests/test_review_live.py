"""The live queue, select-all and per-moderator statistics in headless Chromium, with two
moderators at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect
from review_pages import FLAGGED, add_moderator, logged_in, submit
from test_review_browser import browser as browser  # the module-scoped Chromium fixture
from test_review_browser import serving

from moderation.web.extension import services
from moderation.workflow.submission import get_comment

POLL = 15_000  # ms to wait for the page's next poll (it polls every 5 s)


@pytest.fixture
def site(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    with serving(sqlite_template, tmp_path, []) as (base, app):
        for n in range(3):
            submit(app, f"q{n}", FLAGGED, f"u{n}")
        add_moderator(app, "eve")
        yield base, app


def test_new_items_and_others_claims_appear_without_reloading(
    browser: Browser, site: tuple[str, Flask]
) -> None:
    base, app = site
    with logged_in(browser, base) as mo, logged_in(browser, base, "eve") as eve:
        mo.goto("/review/queue/flagged")
        expect(mo.locator("[data-items] [data-item]")).to_have_count(3)
        mo.evaluate("window.notReloaded = true")

        # Eve opens q1: that claims it, and Mo's page says so.
        eve.goto("/review/comments/q1")
        claimed = mo.locator("[data-item][data-id=q1] [data-reviewing]")
        expect(claimed).to_have_text("moderator:eve is reviewing", timeout=POLL)
        # A new comment arrives.
        submit(app, "q9", "You utter clown, " + FLAGGED, "u9")
        expect(mo.locator("[data-new-items] li")).to_have_count(1, timeout=POLL)
        expect(mo.locator("[data-new-items] li a.item-link")).to_have_text("#q9")
        expect(mo.locator("[data-live-notice]")).to_have_text("1 new since you opened this page")
        expect(mo.locator(".tabs a.active .count")).to_have_text("4")

        # Eve approves q2: Mo's page marks it decided.
        eve.goto("/review/comments/q2")
        eve.locator("form[data-approve] button").click()
        expect(eve.locator(".flash.success")).to_contain_text("Approved q2")
        expect(mo.locator("[data-item][data-id=q2] .badge.decided")).to_have_text(
            "approved by moderator:eve", timeout=POLL
        )
        assert mo.evaluate("window.notReloaded") is True


def test_opening_an_item_someone_else_is_reviewing(browser: Browser, site: tuple[str, Flask]) -> None:
    base, app = site
    with logged_in(browser, base) as mo, logged_in(browser, base, "eve") as eve:
        eve.goto("/review/comments/q0")
        with services(app).sessions() as session:
            assert get_comment(session, "q0").claimed_by == "moderator:eve"
        mo.goto("/review/comments/q0")
        expect(mo.locator(".flash.warning")).to_contain_text("moderator:eve is reviewing this comment")
        mo.locator("form[data-approve] button").click()
        expect(mo.locator(".flash.error")).to_contain_text("moderator:eve is reviewing this comment")
        with services(app).sessions() as session:
            assert get_comment(session, "q0").status == "flagged"
        # Eve's own decision goes through, and releases the claim.
        eve.goto("/review/comments/q0")
        eve.locator("form[data-approve] button").click()
        expect(eve.locator(".flash.success")).to_contain_text("Approved q0")


def test_select_all_then_bulk_approve(browser: Browser, site: tuple[str, Flask]) -> None:
    base, app = site
    with logged_in(browser, base) as page:
        page.goto("/review/queue/flagged")
        page.check("[data-select-all]")
        boxes = page.locator("[data-items] [data-select]")
        for n in range(boxes.count()):
            expect(boxes.nth(n)).to_be_checked()
        boxes.nth(0).uncheck()
        assert page.locator("[data-select-all]").evaluate("box => box.indeterminate") is True
        page.check("[data-select-all]")
        page.click("text=Approve selected")
        expect(page.locator(".flash.success")).to_contain_text("3 of 3 comments approved")
    with services(app).sessions() as session:
        assert {get_comment(session, f"q{n}").status for n in range(3)} == {"approved"}


def test_statistics_per_moderator(browser: Browser, site: tuple[str, Flask]) -> None:
    base, _ = site
    with logged_in(browser, base) as mo, logged_in(browser, base, "eve") as eve:
        for cid in ("q0", "q1"):
            mo.goto(f"/review/comments/{cid}")
            mo.locator("form[data-approve] button").click()
            expect(mo.locator(".flash.success")).to_contain_text(f"Approved {cid}")
        # Eve reverses one of Mo's approvals.
        eve.goto("/review/comments/q1")
        eve.locator("form[data-overturn] select[data-reject-rule]").select_option("be_nice")
        eve.locator("form[data-overturn] button.reject").click()
        expect(eve.locator(".flash.success")).to_contain_text("Rejected q1")

        mo.goto("/review/stats")
        row = mo.locator("tr[data-moderator='moderator:mo'] td")
        expect(row.first).to_have_text("moderator:mo")
        cells = row.all_inner_texts()
        assert cells[1:5] == ["2", "2", "0", "1 (50%)"]  # decisions, approved, rejected, overturned
        assert cells[5].endswith((" s", " min"))  # median time to decision
        expect(mo.locator("tr[data-moderator='moderator:eve'] td").nth(4)).to_have_text("0 (0%)")
