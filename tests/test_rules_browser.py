"""Rules statistics and the admin replay page, end to end in headless Chromium."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from test_review_browser import OUTPUT, PASSWORD, browser, console_errors, whole_responses  # noqa: F401 (browser: a fixture)
from test_rules_replay import CANDIDATE
from werkzeug.serving import make_server

from moderation.accounts.apikeys import create_key
from moderation.accounts.moderators import create_moderator
from moderation.web import create_app
from moderation.web.extension import services
from moderation.workflow.submission import get_comment

RULES = """\
site_rules: {clean: Keep it Clean}
rules:
  - {id: frak, site_rule: clean, category: obscene, action: reject, when: {words: [frak]}}
  - {id: darn, site_rule: clean, category: obscene, action: flag, when: {words: [darn]}}
  - {id: gorram, site_rule: clean, category: obscene, action: reject, mode: shadow, when: {words: [gorram]}}
"""


@pytest.fixture
def server(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    """A served app with a shadow rule moderators agreed with 74 times out of 74, and an admin."""
    db = tmp_path / "e2e.db"
    shutil.copy(sqlite_template, db)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{db}",
            "SECRET_KEY": "e2e",
            "LOG_LEVEL": "WARNING",
            "MODERATION_MODEL": "none",
            "MODERATION_RULES": str(rules),
        }
    )
    with services(app).sessions() as session, session.begin():
        create_moderator(session, "boss", PASSWORD, "admin")
        submit = {"Authorization": f"Bearer {create_key(session, 'site')}"}
        mods = {"Authorization": f"Bearer {create_key(session, 'mods', ('moderate',))}"}
    client = app.test_client()
    texts = {f"g{n}": f"what a gorram mess #{n}" for n in range(74)} | {"d1": "darn it", "d2": "darn"}
    for n, (cid, text) in enumerate(texts.items()):
        body = {"id": cid, "text": text, "author": {"id": f"u{n}"}}
        assert client.post("/api/v1/comments", json=body, headers=submit).status_code == 201
        decision = {"action": "approve"} if cid == "d1" else {"action": "reject", "site_rule": "clean"}
        assert client.post(f"/api/v1/comments/{cid}/decision", json=decision, headers=mods).status_code == 200
    httpd = make_server("127.0.0.1", 0, whole_responses(app), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", app
    finally:
        httpd.shutdown()
        services(app).engine.dispose()


@pytest.fixture
def page(browser: Browser, server: tuple[str, Flask]) -> Iterator[Page]:  # noqa: F811
    base, _ = server
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = console_errors(page)
    page.goto("/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/review/queue/pending")
    yield page
    # A refused rules file answers 422 on purpose, and Chromium reports any 4xx page load.
    errors = [e for e in errors if "status of 422" not in e]
    assert errors == [], "the page broke its Content-Security-Policy or raised an error"
    context.close()


def test_statistics_show_rule_agreement_and_drift(page: Page) -> None:
    page.click("text=Statistics")
    section = page.locator("[data-rule-stats]")
    expect(section).to_be_visible()
    gorram = section.locator("tr[data-rule=gorram]")
    expect(gorram).to_contain_text("shadow")
    expect(gorram.locator("[data-ready]")).to_have_text("ready to go live")
    expect(gorram.locator("td").nth(6)).to_have_text("0")  # overturned
    darn = section.locator("tr[data-rule=darn]")
    expect(darn).to_contain_text("50% (")  # one approved, one rejected
    expect(darn.locator("[data-ready]")).to_have_count(0)
    drift = page.locator("[data-drift]")
    expect(drift.locator("figure.chart svg")).to_have_count(14)  # one bar per day
    expect(drift.locator("tbody tr")).to_have_count(14)
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "rule-stats.png"), full_page=True)


def test_admin_replays_a_pasted_and_an_uploaded_rules_file(page: Page, server: tuple[str, Flask]) -> None:
    _, app = server
    page.click("text=Admin")
    page.click("[data-replay-link]")
    page.fill("textarea[name=rules_text]", CANDIDATE)
    page.click("[data-replay-form] button[type=submit]")
    report = page.locator("[data-replay-report]")
    expect(report.locator("h2")).to_have_text("76 of 76 comments would change status")
    expect(report.locator("[data-transitions] tbody tr").first).to_contain_text("approved")
    expect(report.locator("[data-responsible]")).to_contain_text("gorram (reject)")
    expect(report.locator("[data-sample] tbody tr")).to_have_count(20)
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "rules-replay.png"), full_page=True)

    page.fill("textarea[name=rules_text]", "")
    broken = CANDIDATE.replace("action: flag", "action: shout")
    page.set_input_files(
        "input[name=rules_file]",
        files=[{"name": "broken.yaml", "mimeType": "text/yaml", "buffer": broken.encode()}],
    )
    page.click("[data-replay-form] button[type=submit]")
    expect(page.locator("[data-replay-error]")).to_contain_text(
        "broken.yaml:5: rule 'calm': unknown action 'shout'"
    )
    with services(app).sessions() as session:
        assert get_comment(session, "g0").status == "rejected"  # the moderator's, untouched
