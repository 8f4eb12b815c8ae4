"""Issue 12's defects on the review page, each walked in real headless Chromium as a moderator would.

Every test here failed before its fix. Screenshots at 390 px and 1280 px go to ``test-output/``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import MOD_PASSWORD, make_moderator
from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import delete, select
from test_review_browser import OUTPUT, browser, console_errors, serving, status  # noqa: F401

from moderation.accounts.apikeys import create_key
from moderation.models import ApiKey, AuditEntry, Moderator
from moderation.web.extension import services

LONG = "A long, considered comment about the budget and what it means for the schools. " * 62
TEXTS = [
    "You are a total moron, you idiot, you stupid clown",  # c0: one rule, three matches
    "You utter clown",  # c1
    "You absolute imbecile",  # c2
    "Nice article, thanks for the clear summary",  # c3: approved, then reported
    LONG + "You moron.",  # c4: 5,000 characters
    "أنت لا تفهم شيئا على الإطلاق، you idiot",  # c5: right to left
]
REPORTS = [("r1", "spam"), ("r2", "spam"), ("r3", "insult"), ("r4", "other"), ("r5", "false_information")]

Open = Callable[..., Page]
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def site(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    """A served app with moderators mo and bea, admin boss, flagged comments and a reported one."""
    with serving(sqlite_template, tmp_path, TEXTS) as (base, app):
        make_moderator(app, "bea")
        make_moderator(app, "boss", "admin")
        for reporter, reason in REPORTS:
            _report(app, "c3", reporter, reason)
        yield base, app


def _key(app: Flask) -> dict[str, str]:
    with services(app).sessions() as session, session.begin():
        name = f"t-{time.monotonic_ns()}"
        return {"Authorization": f"Bearer {create_key(session, name, ('submit', 'moderate'))}"}


def _report(app: Flask, cid: str, reporter: str, reason: str) -> None:
    resp = app.test_client().post(
        f"/api/v1/comments/{cid}/reports",
        json={"reporter_id": reporter, "reason": reason},
        headers=_key(app),
    )
    assert resp.status_code == 201, resp.get_json()


def submit(app: Flask, cid: str, text: str, article: tuple[str, str] = ("a2", "Budget vote")) -> None:
    """Post one more comment through the API."""
    resp = app.test_client().post(
        "/api/v1/comments",
        json={
            "id": cid,
            "text": text,
            "author": {"id": f"author-{cid}"},
            "article": {"id": article[0], "title": article[1]},
        },
        headers=_key(app),
    )
    assert resp.status_code in (200, 201), resp.get_json()


@pytest.fixture
def open_as(browser: Browser, site: tuple[str, Flask]) -> Iterator[Open]:  # noqa: F811
    """Log someone in, in a context of their own; the page must raise no error nor CSP violation."""
    base, _ = site
    opened: list[tuple[object, list[str]]] = []

    def open_page(username: str = "mo", width: int = 1280, height: int = 900) -> Page:
        context = browser.new_context(base_url=base, viewport={"width": width, "height": height})
        page = context.new_page()
        errors = console_errors(page)
        opened.append((context, errors))
        log_in(page, username)
        return page

    yield open_page
    for context, errors in opened:
        # A refused form is answered 400 (and Chromium logs that); anything else is a broken page.
        errors = [e for e in errors if "responded with a status of 400" not in e]
        assert errors == [], "the page broke its Content-Security-Policy or raised an error"
        context.close()  # type: ignore[attr-defined]


def log_in(page: Page, username: str, password: str = MOD_PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.login-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/review/queue/pending$"))


def shot(page: Page, name: str) -> None:
    OUTPUT.mkdir(exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    page.screenshot(path=str(OUTPUT / f"{name}-{width}.png"), full_page=True)


def audit_actions(app: Flask) -> list[tuple[str, str]]:
    with services(app).sessions() as session:
        return [(e.action, e.actor) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# 1 ----------------------------------------------------------------------------------------------


def test_u_undoes_my_last_decision_from_the_queue(open_as: Open, site: tuple[str, Flask]) -> None:
    _, app = site
    page = open_as()
    page.goto("/review/queue/flagged")
    expect(page.locator("[data-item].selected")).to_have_attribute("data-id", "c0")
    page.keyboard.press("a")
    expect(page.locator(".flash.success")).to_contain_text("Approved c0")
    assert status(app, "c0") == "approved"
    expect(page.locator("[data-item].selected")).to_be_visible()  # the shortcuts are loaded
    page.keyboard.press("u")
    expect(page.locator(".flash.success")).to_contain_text("c0")
    expect(page.locator(".flash.success")).to_contain_text("Undid")
    assert status(app, "c0") == "flagged"
    expect(page.locator("[data-item][data-id=c0]")).to_be_visible()


def test_u_undoes_my_last_decision_after_the_item_page_moved_on(
    open_as: Open, site: tuple[str, Flask]
) -> None:
    _, app = site
    page = open_as()
    page.goto("/review/comments/c1?state=flagged")
    page.keyboard.press("r")
    page.locator("select[data-reject-rule]:focus").select_option("be_nice")
    page.keyboard.press("Enter")
    expect(page.locator(".flash.success")).to_contain_text("Rejected c1")
    assert status(app, "c1") == "rejected"
    expect(page.locator(".main[data-item]")).not_to_have_attribute("data-id", "c1")  # moved on
    page.wait_for_load_state("load")  # the shortcuts are loaded
    page.keyboard.press("u")
    expect(page.locator(".flash.success")).to_contain_text("Undid your rejection of c1")
    assert status(app, "c1") == "flagged"
    # From a page with no comment on it at all, too.
    page.goto("/review/comments/c2?state=flagged")
    page.keyboard.press("a")
    expect(page.locator(".flash.success")).to_contain_text("Approved c2")
    page.goto("/review/stats")
    page.keyboard.press("u")
    expect(page.locator(".flash.success")).to_contain_text("Undid your approval of c2")
    assert status(app, "c2") == "flagged"


# 2 ----------------------------------------------------------------------------------------------


def test_enter_on_a_focused_link_or_button_is_theirs(open_as: Open, site: tuple[str, Flask]) -> None:
    base, _ = site
    page = open_as()
    page.goto("/review/queue/flagged")
    expect(page.locator("[data-item].selected")).to_be_visible()
    page.locator("header.top a", has_text="Statistics").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/review/stats")
    page.goto("/review/queue/flagged")
    expect(page.locator("[data-item].selected")).to_be_visible()
    page.locator("header.top button", has_text="Log out").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/login")
    expect(page.locator(".flash")).to_contain_text("Logged out")


# 3 ----------------------------------------------------------------------------------------------


def test_undo_from_a_stale_page_is_refused(open_as: Open, site: tuple[str, Flask]) -> None:
    _, app = site
    mo = open_as("mo")
    mo.goto("/review/comments/c0")
    mo.locator(".main button.approve").click()
    assert status(app, "c0") == "approved"
    mo.goto("/review/comments/c0")  # mo's page: approved, with an Undo button
    bea = open_as("bea")
    bea.goto("/review/comments/c0")
    bea.locator("form[data-undo] button").click()
    expect(bea.locator(".flash.success")).to_contain_text("Undid")
    bea.goto("/review/comments/c0")
    bea.locator(".main select[data-reject-rule]").select_option("be_nice")
    bea.locator(".main button.reject").click()
    assert status(app, "c0") == "rejected"

    mo.locator("form[data-undo] button").click()
    expect(mo.locator(".flash.error")).to_contain_text("changed since you loaded it")
    assert status(app, "c0") == "rejected"  # bea's rejection stands


# 5 ----------------------------------------------------------------------------------------------


def test_api_key_names_are_checked_and_keys_revoked_by_id(open_as: Open, site: tuple[str, Flask]) -> None:
    _, app = site
    # A key whose name predates the check: its Revoke button must still work.
    with services(app).sessions() as session, session.begin():
        session.add(ApiKey(name="old/partner", prefix="abcdef012345", secret_sha256="0" * 64))
    page = open_as("boss")
    page.goto("/review/admin")
    page.fill("form[action$='/api-keys'] input[name=name]", "partner/site")
    page.locator("form[action$='/api-keys'] button[type=submit]").click()
    expect(page.locator(".flash.error")).to_contain_text("letters, digits")
    expect(page.locator("[data-new-key]")).to_have_count(0)
    page.locator("tr", has_text="old/partner").locator("button", has_text="Revoke").click()
    expect(page.locator(".flash.success")).to_contain_text("old/partner revoked")
    expect(page.locator("tr", has_text="old/partner")).to_contain_text("revoked")
    with services(app).sessions() as session:
        names = set(session.scalars(select(ApiKey.name)))
        revoked = session.scalar(select(ApiKey.revoked_at).where(ApiKey.name == "old/partner"))
    assert "partner/site" not in names and revoked is not None


def test_the_api_refuses_a_key_name_the_page_could_not_revoke(site: tuple[str, Flask]) -> None:
    _, app = site
    result = app.test_cli_runner().invoke(args=["api-key", "create", "partner/site"])
    assert result.exit_code != 0 and "letters, digits" in result.output


# 6 ----------------------------------------------------------------------------------------------


class _Stale(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 24 * 3600


def expire_csrf_tokens(page: Page, app: Flask) -> None:
    """Replace the page's CSRF tokens with the same token signed a day ago (past WTF_CSRF_TIME_LIMIT)."""
    cookie = next(c for c in page.context.cookies() if c["name"] == app.config["SESSION_COOKIE_NAME"])
    raw = app.session_interface.get_signing_serializer(app).loads(cookie["value"])["csrf_token"]  # type: ignore[attr-defined]
    old = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token", signer=_Stale).dumps(raw)
    page.evaluate(
        "token => document.querySelectorAll('input[name=csrf_token]').forEach(i => i.value = token)", old
    )


def test_an_expired_form_keeps_the_decision(open_as: Open, site: tuple[str, Flask]) -> None:
    _, app = site
    page = open_as()
    page.goto("/review/comments/c1?state=flagged")
    page.locator(".main select[data-reject-rule]").select_option("be_nice")
    page.fill(".main input[name=note]", "second warning")
    expire_csrf_tokens(page, app)
    page.locator(".main button.reject").click()
    expect(page.locator(".flash.error")).to_contain_text("expired")
    assert status(app, "c1") == "flagged"
    expect(page.locator(".main select[data-reject-rule]")).to_have_value("be_nice")
    expect(page.locator(".main input[name=note]")).to_have_value("second warning")
    page.locator(".main button.reject").click()  # the page's fresh token works
    expect(page.locator(".flash.success")).to_contain_text("Rejected c1")
    assert status(app, "c1") == "rejected"


def test_an_expired_bulk_form_keeps_the_selection(open_as: Open, site: tuple[str, Flask]) -> None:
    _, app = site
    page = open_as()
    page.goto("/review/queue/flagged")
    page.locator("[data-item][data-id=c1] [data-select]").check()
    page.locator("[data-item][data-id=c2] [data-select]").check()
    expire_csrf_tokens(page, app)
    page.locator("#bulk button[value=approve]").click()
    expect(page.locator(".flash.error")).to_contain_text("expired")
    expect(page.locator("[data-item][data-id=c1] [data-select]")).to_be_checked()
    expect(page.locator("[data-item][data-id=c2] [data-select]")).to_be_checked()
    expect(page.locator("[data-item][data-id=c0] [data-select]")).not_to_be_checked()
    page.locator("#bulk button[value=approve]").click()
    expect(page.locator(".flash.success")).to_contain_text("2 of 2 comments approved")


# 7 ----------------------------------------------------------------------------------------------


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the screen."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


OVERLAPS = """figure => {
  const rects = [];
  const walker = document.createTreeWalker(figure, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim() || node.parentElement.closest('title, figcaption')) continue;
    const range = document.createRange(); range.selectNodeContents(node);
    for (const r of range.getClientRects()) rects.push([node.textContent.trim(), r]);
  }
  const hits = [];
  for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) {
    const [a, p] = rects[i], [b, q] = rects[j];
    if (p.left < q.right - 0.5 && q.left < p.right - 0.5 && p.top < q.bottom - 0.5 && q.top < p.bottom - 0.5)
      hits.push(a + ' / ' + b);
  }
  return hits;
}"""


def _decide_a_few(app: Flask) -> None:
    client = app.test_client()
    headers = _key(app)
    for cid, action in (("c0", "approve"), ("c2", "reject")):
        body = {"action": action, "site_rule": "be_nice" if action == "reject" else None}
        resp = client.post(f"/api/v1/comments/{cid}/decision", json=body, headers=headers)
        assert resp.status_code == 200, resp.get_json()


@pytest.mark.parametrize("width", [390, 1280])
def test_pages_fit_the_screen_and_chart_labels_do_not_overlap(
    open_as: Open, site: tuple[str, Flask], width: int
) -> None:
    _, app = site
    _decide_a_few(app)
    page = open_as("boss", width=width, height=800)
    page.goto("/review/stats")
    assert overflow(page) <= 0
    for n in range(page.locator("figure.chart").count()):
        assert page.locator("figure.chart").nth(n).evaluate(OVERLAPS) == []
    shot(page, "stats")
    page.goto("/review/admin")
    page.fill("form[action$='/api-keys'] input[name=name]", "partner-site")
    page.locator("form[action$='/api-keys'] button[type=submit]").click()
    key = page.locator("[data-new-key]")
    expect(key).to_be_visible()
    box, card = key.bounding_box(), page.locator("section", has=key).bounding_box()
    assert box and card and box["x"] + box["width"] <= card["x"] + card["width"]
    assert overflow(page) <= 0
    page.goto("/review/queue/flagged")
    expect(page.locator("[data-item].selected")).to_be_visible()
    assert page.evaluate("window.scrollY") == 0  # the header stays in view
    assert overflow(page) <= 0
    shot(page, "queue")
    page.goto("/review/comments/c5")
    assert overflow(page) <= 0
    shot(page, "item")


# 8 ----------------------------------------------------------------------------------------------


def test_filters_say_what_they_do(open_as: Open, site: tuple[str, Flask]) -> None:
    base, app = site
    for n in range(28):
        submit(app, f"b{n}", f"You utter clown, number {n} of the budget thread")
    page = open_as()
    page.goto("/review/queue/flagged")
    tab = page.locator(".tabs a", has_text="Flagged").locator(".count")
    expect(tab).to_have_text("33")
    # The article shows by title; filtering by that title works, and the counts follow the filter.
    page.fill(".filters input[name=article]", "NATO talks")
    page.locator(".filters button[type=submit]").click()
    expect(page.locator(".tabs a", has_text="Flagged").locator(".count")).to_have_text("5")
    expect(page.locator("[data-item]")).to_have_count(5)
    # A category as the page shows it.
    page.goto("/review/queue/flagged?category=insult")
    expect(page.locator("[data-item]").first).to_be_visible()
    with services(app).sessions() as session, session.begin():
        from moderation.workflow.submission import get_comment

        comment = get_comment(session, "c1")
        comment.categories = " identity_attack "  # as the classifier's identity rule would file it
    page.goto("/review/queue/flagged")
    page.locator(".filters [name=category]").select_option(label="identity attack")
    page.locator(".filters button[type=submit]").click()
    expect(page.locator("[data-item]")).to_have_count(1)
    page.goto("/review/queue/flagged?category=identity+attack")
    expect(page.locator("[data-item]")).to_have_count(1)
    # Past the last page: the last page, not "Nothing here" beside a count.
    page.goto("/review/queue/flagged?page=99")
    expect(page.locator(".empty")).to_have_count(0)
    expect(page.locator("[data-item]").first).to_be_visible()
    # Under priority sort the pages are not "newer".
    page.goto("/review/queue/flagged?page=2")
    expect(page.locator(".pages")).not_to_contain_text("Newer")
    expect(page.locator(".pages a[rel=prev]")).to_be_visible()
    assert base


# 9 ----------------------------------------------------------------------------------------------


def test_reject_without_a_rule_explains_and_keeps_the_keys(open_as: Open, site: tuple[str, Flask]) -> None:
    page = open_as()
    page.goto("/review/queue/flagged")
    expect(page.locator("[data-item].selected")).to_have_attribute("data-id", "c0")
    page.keyboard.press("r")
    expect(page.locator("[data-item].selected select[data-reject-rule]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("[data-item].selected [data-rule-hint]")).to_be_visible()  # says why
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()
    page.keyboard.press("j")
    expect(page.locator("[data-item].selected")).to_have_attribute("data-id", "c1")


# 10 ---------------------------------------------------------------------------------------------


def test_the_queue_is_not_noisy(open_as: Open, site: tuple[str, Flask]) -> None:
    _, app = site
    page = open_as(width=1280)
    page.goto("/review/queue/flagged")
    c0 = page.locator("[data-item][data-id=c0]")
    expect(c0.locator(".rule")).to_have_count(1)  # three matches of one rule: one chip
    expect(c0.locator(".rule")).to_contain_text("×3")
    # A long comment is collapsed, with a way to read all of it.
    c4 = page.locator("[data-item][data-id=c4]")
    text = c4.locator(".text")
    assert text.bounding_box()["height"] < 250  # type: ignore[index]
    c4.locator("button", has_text="Show all").click()
    assert text.bounding_box()["height"] > 400  # type: ignore[index]
    # Right-to-left text runs right to left.
    rtl = page.locator("[data-item][data-id=c5] .text")
    assert rtl.evaluate("el => getComputedStyle(el).direction") == "rtl"
    # Every report reason, grouped.
    page.goto("/review/queue/reported")
    c3 = page.locator("[data-item][data-id=c3]")
    for label in ("spam ×2", "insult", "other", "false information"):
        expect(c3.locator(".why")).to_contain_text(label)
    assert c3.locator(".why").inner_text().count("spam") == 1
    # The item page says why a reported comment is here.
    page.goto("/review/comments/c3")
    why = page.locator(".main .why-here")
    expect(why).to_contain_text("Reported by 5 readers")
    expect(why).to_contain_text("spam ×2")
    expect(page.locator(".main")).not_to_contain_text("No rule matched")
    page.goto("/review/comments/c5")
    assert page.locator(".main .text").first.evaluate("el => getComputedStyle(el).direction") == "rtl"
    assert status(app, "c3") == "approved"


def test_many_reasons_are_summed_up(open_as: Open, site: tuple[str, Flask]) -> None:
    _, app = site
    submit(
        app,
        "m1",
        "You idiot, I know where you live. The traitors should be hanged. You moron. Visit www.a.com "
        "www.b.com www.c.com AAAAAAAAAAAAAAAAAAAAAA!!!!!!!!!!!!!!!! The revenge porn law",
    )
    page = open_as()
    page.goto("/review/queue/pending")
    why = page.locator("[data-item][data-id=m1] .why")
    expect(why).to_be_visible()
    assert why.locator(".reason:visible").count() <= 3  # of six
    more = why.locator("summary", has_text="more")
    more.click()
    expect(why.locator(".reason", has_text="Flooding")).to_be_visible()


# 11 ---------------------------------------------------------------------------------------------


def test_smaller_things(open_as: Open, site: tuple[str, Flask]) -> None:
    base, _ = site
    page = open_as()
    # Undo is offered only where there is a decision to undo.
    page.goto("/review/comments/c0")
    expect(page.locator("form[data-undo]")).to_have_count(0)
    # A logged-in moderator asking for the log-in page goes to the queue.
    page.goto("/login")
    expect(page).to_have_url(f"{base}/review/queue/pending")
    # Review pages are never cached, and a favicon is there.
    response = page.goto("/review/queue/flagged")
    assert response is not None and response.headers["cache-control"] == "no-store"
    assert page.request.get("/favicon.ico").ok


def test_a_fresh_install_says_how_to_make_the_first_account(
    browser: Browser,  # noqa: F811
    sqlite_template: Path,
    tmp_path: Path,
) -> None:
    with serving(sqlite_template, tmp_path, []) as (base, app):
        with services(app).sessions() as session, session.begin():
            session.execute(delete(Moderator))
        context = browser.new_context(base_url=base)
        page = context.new_page()
        page.goto("/review/")
        expect(page.locator("main")).to_contain_text("flask --app app moderator create")
        context.close()


def test_a_new_key_page_can_be_reloaded(open_as: Open, site: tuple[str, Flask]) -> None:
    base, app = site
    page = open_as("boss")
    page.goto("/review/admin")
    page.fill("form[action$='/api-keys'] input[name=name]", "partner-site")
    page.locator("form[action$='/api-keys'] button[type=submit]").click()
    expect(page.locator("[data-new-key]")).to_be_visible()
    expect(page).to_have_url(f"{base}/review/admin")
    page.reload()
    expect(page.locator("[data-new-key]")).to_have_count(0)  # shown once
    with services(app).sessions() as session:
        assert list(session.scalars(select(ApiKey.name).where(ApiKey.name == "partner-site"))) == [
            "partner-site"
        ]


def test_an_admin_unlocks_and_resets_a_moderator(
    open_as: Open,
    site: tuple[str, Flask],
    browser: Browser,  # noqa: F811
) -> None:
    base, app = site
    context = browser.new_context(base_url=base)
    locked = context.new_page()
    locked.goto("/login")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):  # each refusal draws the form again
        locked.fill("input[name=username]", "bea")
        locked.fill("input[name=password]", "wrong password")
        locked.click("form.login-form button[type=submit]")
        expect(locked.locator(".flash.error")).to_contain_text("Wrong username or password")
        locked.wait_for_load_state("load")
    locked.fill("input[name=username]", "bea")
    locked.fill("input[name=password]", MOD_PASSWORD)
    locked.click("form.login-form button[type=submit]")
    expect(locked.locator(".flash.error")).to_contain_text("Too many failed log-ins")

    admin = open_as("boss")
    admin.goto("/review/admin")
    row = admin.locator("tr", has_text="bea")
    row.locator("button", has_text="Unlock").click()
    expect(admin.locator(".flash.success")).to_contain_text("bea can log in again")
    row = admin.locator("tr", has_text="bea")
    row.locator("input[name=password]").fill("a brand new password")
    row.locator("button", has_text="Set password").click()
    expect(admin.locator(".flash.success")).to_contain_text("New password set for bea")

    log_in(locked, "bea", "a brand new password")
    context.close()
    actions = audit_actions(app)
    assert ("moderator-unlock", "moderator:boss") in actions
    assert ("moderator-password", "moderator:boss") in actions


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_unlock_forgets_every_address_of_one_username(kind: str) -> None:
    from moderation.web.throttle import LoginThrottle, MemoryCounter, RedisCounter

    counter = MemoryCounter() if kind == "memory" else RedisCounter(REDIS_URL, f"t-{time.monotonic_ns()}:")
    throttle = LoginThrottle(counter, limit=2, window=60)
    for username, address in [
        ("bea", "10.0.0.1"),
        ("bea", "10.0.0.1"),
        ("bea", "10.0.0.2"),
        ("beat", "10.0.0.1"),
    ]:
        throttle.failed(username, address)
    throttle.failed("beat", "10.0.0.1")
    assert throttle.locked("bea") and throttle.locked("beat")
    assert throttle.unlock("bea") == 2
    assert not throttle.locked("bea") and not throttle.blocked("bea", "10.0.0.1")
    assert throttle.blocked("beat", "10.0.0.1")  # another account, untouched
