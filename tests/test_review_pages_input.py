"""The search, author and live-queue views through Flask's test client: bad input is a 400 or 404
with a message (never a 500), nothing changes without a CSRF token, and text stays escaped."""

from __future__ import annotations

import pytest
from conftest import csrf_token, make_moderator, post_comment
from flask import Flask
from flask.testing import FlaskClient
from test_review_views import login, post

from moderation.web.extension import services
from moderation.workflow.submission import find_author, get_comment


@pytest.fixture
def mod(app: Flask, client: FlaskClient, auth: dict) -> FlaskClient:
    make_moderator(app)
    login(client)
    post_comment(client, auth, "c1", "Taxes <b>again</b>", author="u1")
    return client


@pytest.mark.parametrize(
    "query",
    [
        "status=deleted",
        "decided=robot",
        "since=yesterday",
        "until=2026-13-01",
        "page=0",
        "page=99999999999",
        "q=" + "x" * 201,
        "q=a%00b",
    ],
)
def test_bad_search_input_is_a_400(mod: FlaskClient, query: str) -> None:
    resp = mod.get(f"/review/search?{query}")
    assert resp.status_code == 400, query


def test_search_escapes_text_and_words(mod: FlaskClient) -> None:
    page = mod.get("/review/search?q=%3Cb%3E").get_data(as_text=True)
    assert '<mark title="search">&lt;b&gt;</mark>again' in page
    assert "<b>again" not in page


def test_unknown_article_and_author_are_404(mod: FlaskClient) -> None:
    assert mod.get("/review/articles/nope").status_code == 404
    assert mod.get("/review/authors/nope").status_code == 404
    assert mod.get("/review/articles/a1").status_code == 200
    assert mod.get("/review/authors/u1?page=0").status_code == 200


def test_new_pages_need_login(client: FlaskClient) -> None:
    for url in ("/review/search", "/review/all", "/review/authors/u1", "/review/queue/flagged/live"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url


def test_author_actions_need_the_csrf_token(app: Flask, mod: FlaskClient) -> None:
    for url, data in (
        ("/review/authors/u1/suspend", {"hours": "24"}),
        ("/review/authors/u1/reject-recent", {"window": "24h", "site_rule": "be_nice", "confirm": "1"}),
    ):
        refused = mod.post(url, data=data, follow_redirects=True)  # back, with a message, nothing done
        assert "Please do it again" in refused.get_data(as_text=True)
    with services(app).sessions() as session:
        assert find_author(session, "u1").suspended_until is None
        assert get_comment(session, "c1").status == "approved"


def test_bad_author_forms_change_nothing(app: Flask, mod: FlaskClient) -> None:
    def send(url: str, **data: str) -> str:
        token = csrf_token(mod, "/review/stats")
        resp = mod.post(url, data={"csrf_token": token, **data}, follow_redirects=True)
        assert resp.status_code == 200
        return resp.get_data(as_text=True)

    assert "Choose how long the suspension lasts." in send("/review/authors/u1/suspend", hours="9999")
    chosen = "Choose a period and the site rule the comments broke."
    assert chosen in send("/review/authors/u1/reject-recent", window="1y", site_rule="be_nice")
    assert chosen in send("/review/authors/u1/reject-recent", window="24h")
    unknown = send("/review/authors/u1/reject-recent", window="24h", site_rule="no_such_rule")
    assert "Unknown site rule &#39;no_such_rule&#39;." in unknown
    for since in ("", "soon", "2026-01-01T00:00:00"):  # missing, malformed, without a UTC offset
        resp = post(
            mod,
            "/review/authors/u1/reject-recent",
            window="24h",
            site_rule="be_nice",
            confirm="1",
            since=since,
            until="2026-01-02T00:00:00+00:00",
        )
        assert resp.status_code == 400, since
    with services(app).sessions() as session:
        assert find_author(session, "u1").suspended_until is None
        assert get_comment(session, "c1").status == "approved"


def test_live_view_json(mod: FlaskClient) -> None:
    resp = mod.get("/review/queue/flagged/live?ids=c1&after=2020-01-01T00:00:00%2B00:00")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    body = resp.get_json()
    assert set(body) >= {"counts", "items", "new", "now", "poll_seconds"}
    assert body["items"]["c1"]["status"] == "approved"
    assert mod.get("/review/queue/nope/live").status_code == 404
    assert mod.get("/review/queue/flagged/live?after=2020-01-01T00:00:00").status_code == 400
    assert mod.get("/review/queue/flagged/live?sort=sideways").status_code == 422


def test_csrf_token_helper_still_works_on_new_pages(mod: FlaskClient) -> None:
    assert csrf_token(mod, "/review/all")
