"""The review page through Flask's test client: every page and action, CSRF and roles."""

from __future__ import annotations

import re

import pytest
from conftest import MOD_PASSWORD, csrf_token, make_moderator, post_comment
from flask import Flask
from flask.testing import FlaskClient

from moderation.web.extension import services

PASSWORD = MOD_PASSWORD
token = csrf_token


def login(client: FlaskClient, username: str = "mo") -> None:
    resp = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token(client)}
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)


@pytest.fixture
def mod(app: Flask, client: FlaskClient) -> FlaskClient:
    make_moderator(app)
    login(client)
    return client


def post(client: FlaskClient, url: str, **data: object):
    return client.post(url, data={"csrf_token": token(client, "/review/stats"), **data})


def test_pages_need_login(client: FlaskClient) -> None:
    for url in ("/review/queue/pending", "/review/comments/x", "/review/stats", "/review/admin"):
        resp = client.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert client.get("/").headers["Location"] == "/review/"


def test_wrong_password_and_disabled_accounts(app: Flask, client: FlaskClient) -> None:
    make_moderator(app)
    bad = client.post("/login", data={"username": "mo", "password": "nope", "csrf_token": token(client)})
    assert bad.status_code == 401 and "Wrong username or password" in bad.get_data(as_text=True)
    nobody = client.post(
        "/login", data={"username": "ghost", "password": PASSWORD, "csrf_token": token(client)}
    )
    assert nobody.status_code == 401
    app.test_cli_runner().invoke(args=["moderator", "disable", "mo"])
    assert (
        client.post(
            "/login", data={"username": "mo", "password": PASSWORD, "csrf_token": token(client)}
        ).status_code
        == 401
    )


def test_forms_without_csrf_token_are_refused(app: Flask, client: FlaskClient, auth: dict) -> None:
    make_moderator(app)
    assert client.post("/login", data={"username": "mo", "password": PASSWORD}).status_code == 400
    login(client)
    post_comment(client, auth, "c1", "You are a total moron")
    resp = client.post("/review/comments/c1/decide", data={"action": "approve"})
    assert resp.status_code == 400
    assert client.get("/api/v1/comments/c1", headers=auth).get_json()["status"] == "flagged"


def test_queue_page_shows_why_each_comment_is_there(mod: FlaskClient, auth: dict) -> None:
    post_comment(mod, auth, "c1", "You are a total moron")
    post_comment(mod, auth, "c2", "I know where you live", article={"id": "a9", "title": "Council vote"})
    pending = mod.get("/review/queue/pending").get_data(as_text=True)
    assert "#c2" in pending and "#c1" not in pending
    assert "<mark" in pending and "Don&#39;t Threaten" in pending and "Council vote" in pending
    assert 'class="count">1<' in pending
    flagged = mod.get("/review/queue/flagged").get_data(as_text=True)
    assert "#c1" in flagged and "Be Nice" in flagged
    filtered = mod.get("/review/queue/pending?category=spam").get_data(as_text=True)
    assert "#c2" not in filtered
    assert mod.get("/review/queue/nonsense").status_code == 404


def test_comment_text_is_always_escaped(mod: FlaskClient, auth: dict) -> None:
    post_comment(mod, auth, "x1", '<script>alert("pwned")</script> <b>you moron</b>')
    for url in ("/review/queue/flagged", "/review/comments/x1"):
        page = mod.get(url).get_data(as_text=True)
        assert '<script>alert("pwned")' not in page and "<b>you" not in page
        assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page


def test_item_page_context(mod: FlaskClient, auth: dict) -> None:
    post_comment(mod, auth, "p1", "The parent comment about the budget", author="ann")
    post_comment(mod, auth, "c1", "You are a total moron", author="bob", parent_id="p1")
    for n in range(5):
        mod.post(
            "/api/v1/comments/c1/reports",
            json={"reporter_id": f"r{n}", "reason": "insult", "note": f"n{n}"},
            headers=auth,
        )
    page = mod.get("/review/comments/c1").get_data(as_text=True)
    assert "The parent comment about the budget" in page
    assert "Possible brigade" in page and "weight 1.00" in page and "n3" in page
    assert "insult-directed" in page and "Name-calling" in page
    assert "Recent comments" in page and "verdict" in page
    # Rejecting offers the rules a comment can break, not the "Share with Us" invitation.
    assert 'value="be_nice"' in page and 'value="share_with_us"' not in page
    assert mod.get("/review/comments/none").status_code == 404


def test_approve_reject_undo_and_stale_views(mod: FlaskClient, auth: dict) -> None:
    post_comment(mod, auth, "c1", "You are a total moron")
    post_comment(mod, auth, "c2", "You are a real clown")
    resp = post(
        mod, "/review/comments/c1/decide", action="reject", site_rule="be_nice", note="rude", revision=0
    )
    assert resp.status_code == 302
    assert mod.get("/api/v1/comments/c1", headers=auth).get_json()["status"] == "rejected"
    stale = post(mod, "/review/comments/c1/decide", action="approve", revision=0)
    assert "changed since you loaded it" in mod.get(
        stale.headers["Location"], follow_redirects=True
    ).get_data(as_text=True)
    no_rule = post(mod, "/review/comments/c2/decide", action="reject")
    assert "names the site rule" in mod.get(no_rule.headers["Location"], follow_redirects=True).get_data(
        as_text=True
    )
    post(mod, "/review/comments/c1/undo")
    assert mod.get("/api/v1/comments/c1", headers=auth).get_json()["status"] == "flagged"
    entries = mod.get("/review/comments/c1").get_data(as_text=True)
    assert "moderator:mo" in entries and "undo" in entries


def test_bulk_actions(mod: FlaskClient, auth: dict) -> None:
    for n in range(3):
        post_comment(mod, auth, f"b{n}", f"You are a total moron, number {n}")
    resp = mod.post(
        "/review/bulk",
        data={
            "csrf_token": token(mod, "/review/stats"),
            "ids": ["b0", "b1"],
            "action": "reject",
            "site_rule": "be_nice",
        },
    )
    assert "2 of 2 comments rejected" in mod.get(resp.headers["Location"], follow_redirects=True).get_data(
        as_text=True
    )
    statuses = [mod.get(f"/api/v1/comments/b{n}", headers=auth).get_json()["status"] for n in range(3)]
    assert statuses == ["rejected", "rejected", "flagged"]
    post(mod, "/review/bulk", ids=["b2"], action="approve")
    assert mod.get("/api/v1/comments/b2", headers=auth).get_json()["status"] == "approved"


def test_author_actions(mod: FlaskClient, auth: dict) -> None:
    post_comment(mod, auth, "c1", "You are a total moron", author="zed")
    post(mod, "/review/authors/zed/notes", text="second warning")
    page = mod.get("/review/comments/c1").get_data(as_text=True)
    assert "second warning" in page
    note_id = re.search(r"/review/authors/zed/notes/(\d+)/remove", page).group(1)
    post(mod, "/review/authors/zed/flag", flag="premoderated", on="1")
    post(mod, "/review/authors/zed/flag", flag="banned", on="1")
    assert post_comment(mod, auth, "c2", "Nice weather", author="zed")["status"] == "rejected"
    post(mod, "/review/authors/zed/flag", flag="banned", on="0")
    assert post_comment(mod, auth, "c3", "Nice weather again", author="zed")["status"] == "pending"
    post(mod, f"/review/authors/zed/notes/{note_id}/remove")
    assert "second warning" not in mod.get("/review/comments/c1").get_data(as_text=True)
    assert post(mod, "/review/authors/zed/flag", flag="nonsense", on="1").status_code == 400


def test_statistics_page_draws_charts(mod: FlaskClient, auth: dict) -> None:
    post_comment(mod, auth, "c1", "You are a total moron")
    mod.post("/api/v1/comments/c1/reports", json={"reporter_id": "r", "reason": "insult"}, headers=auth)
    post(mod, "/review/comments/c1/decide", action="approve")
    page = mod.get("/review/stats").get_data(as_text=True)
    assert page.count('<figure class="chart">') == 5  # queue, decisions, overturned, reports, drift
    assert "insult-directed" in page and "100%" in page  # the rule was overturned once out of once
    assert "dismissed" in page


def test_admin_is_for_admins(app: Flask, mod: FlaskClient) -> None:
    assert mod.get("/review/admin").status_code == 403
    make_moderator(app, "boss", "admin")
    post(mod, "/logout")
    login(mod, "boss")
    page = mod.get("/review/admin").get_data(as_text=True)
    assert "mo" in page and "API keys" in page
    post(mod, "/review/admin/moderators", username="newbie", password=PASSWORD, role="moderator")
    short = post(mod, "/review/admin/moderators", username="weak", password="short", role="moderator")
    assert "at least 10" in mod.get(short.headers["Location"], follow_redirects=True).get_data(as_text=True)
    created = post(mod, "/review/admin/api-keys", name="partner", scopes="moderate")
    assert created.headers["Location"] == "/review/admin"  # redirect after POST: a reload makes no key
    key = re.search(r"data-new-key>([^<]+)<", mod.get("/review/admin").get_data(as_text=True)).group(1)
    assert "data-new-key" not in mod.get("/review/admin").get_data(as_text=True)  # shown once
    assert mod.get("/api/v1/queue", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    key_id = re.search(
        r'action="/review/admin/api-keys/(\d+)/revoke"', mod.get("/review/admin").get_data(as_text=True)
    )
    post(mod, f"/review/admin/api-keys/{key_id.group(1)}/revoke")
    assert mod.get("/api/v1/queue", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    post(mod, "/review/admin/moderators/newbie/disable", disable="1")
    assert "disabled" in mod.get("/review/admin").get_data(as_text=True)


def test_moderator_cli(app: Flask) -> None:
    runner = app.test_cli_runner()
    made = runner.invoke(args=["moderator", "create", "cli-user", "--password-stdin"], input=f"{PASSWORD}\n")
    assert made.exit_code == 0, made.output
    prompted = runner.invoke(
        args=["moderator", "create", "prompted", "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert prompted.exit_code == 0, prompted.output
    assert (
        runner.invoke(
            args=["moderator", "create", "cli-user", "--password-stdin"], input=f"{PASSWORD}\n"
        ).exit_code
        == 1
    )
    listed = runner.invoke(args=["moderator", "list"]).output
    assert "cli-user\tmoderator\tactive" in listed and "prompted\tadmin\tactive" in listed
    with services(app).sessions() as session:
        from moderation.accounts.moderators import find_moderator

        stored = find_moderator(session, "cli-user").password_hash
    assert PASSWORD not in stored and stored.startswith("scrypt:")


def test_logout(mod: FlaskClient) -> None:
    post(mod, "/logout")
    assert mod.get("/review/stats").status_code == 302


def test_scores_show_as_bars_and_unsafe_links_are_dropped(make_app, tiny_model) -> None:
    app = make_app(MODERATION_MODEL=str(tiny_model))
    make_moderator(app)
    client = app.test_client()
    from moderation.accounts.apikeys import create_key

    with services(app).sessions() as session, session.begin():
        auth = {"Authorization": f"Bearer {create_key(session, 'k')}"}
    post_comment(
        client, auth, "s1", "You are a total moron", article={"id": "a", "url": "javascript:alert(1)"}
    )
    login(client)
    page = client.get("/review/comments/s1").get_data(as_text=True)
    assert 'class="scores"' in page and page.count('class="bar"') == 6
    assert "javascript:alert" not in page


def test_ids_no_comment_can_have_are_404_not_500(mod: FlaskClient) -> None:
    assert mod.get("/review/comments/c%00x").status_code == 404
    assert post(mod, "/review/comments/c%00x/decide", action="approve").status_code == 404
    resp = post(mod, "/review/authors/u1/notes/2147483648/remove")
    assert resp.status_code == 404
