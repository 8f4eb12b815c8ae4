"""Review page security: response headers, cookie attributes, server-side sessions, CSRF rotation."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import MOD_PASSWORD, csrf_token, make_moderator, post_comment
from flask import Flask, request
from flask.sessions import NullSession
from flask.testing import FlaskClient
from sqlalchemy import select, update

from moderation.accounts import moderators
from moderation.accounts.apikeys import create_key
from moderation.accounts.moderators import authenticate, find_moderator, set_disabled
from moderation.config import Config
from moderation.models import ModeratorSession, utcnow
from moderation.web.extension import services

PASSWORD = MOD_PASSWORD
token = csrf_token


def login(client: FlaskClient, username: str = "mo", csrf: str | None = None):
    resp = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf or token(client)},
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp


def post(client: FlaskClient, url: str, **data: object):
    return client.post(url, data={"csrf_token": token(client, "/review/stats"), **data})


def logged_in(client: FlaskClient) -> bool:
    resp = client.get("/review/queue/pending")
    if resp.status_code == 200:
        return True
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login"), resp.status
    return False


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def with_cookie(app: Flask, value: str) -> FlaskClient:
    """Another browser, holding a copy of someone's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", value)
    return thief


# Headers


def csp(resp) -> dict[str, str]:
    header = resp.headers.get("Content-Security-Policy", "")
    return {part.split(" ", 1)[0]: part.partition(" ")[2] for part in re.split(r";\s*", header) if part}


def assert_security_headers(resp) -> None:
    policy = csp(resp)
    assert policy.get("default-src") == "'self'", resp.headers.get("Content-Security-Policy")
    assert policy.get("frame-ancestors") == "'none'"
    assert policy.get("form-action") == "'self'"
    assert policy.get("base-uri") == "'none'"
    assert policy.get("object-src") == "'none'"
    assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
    assert resp.headers.get("X-Frame-Options") == "DENY"
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"
    assert resp.headers.get("Referrer-Policy") == "same-origin"


def test_security_headers_on_every_page(app: Flask, client: FlaskClient) -> None:
    make_moderator(app)
    assert_security_headers(client.get("/login"))
    assert_security_headers(client.get("/review/queue/pending"))  # the redirect to log in
    login(client)
    for url in ("/review/queue/pending", "/review/stats", "/static/review.js"):
        with client.get(url) as resp:
            assert resp.status_code == 200, url
            assert_security_headers(resp)
    assert_security_headers(client.get("/review/comments/nope"))  # 404 page


def test_the_json_api_is_not_sniffed(client: FlaskClient, auth: dict) -> None:
    for resp in (
        client.get("/api/v1/health"),
        client.get("/api/v1/comments/nope", headers=auth),
        client.get("/api/v1/comments/nope"),
    ):
        assert resp.headers.get("X-Content-Type-Options") == "nosniff"
        assert resp.headers.get("X-Frame-Options") == "DENY"


def test_pages_need_no_inline_script_or_style(make_app: Callable[..., Flask], tiny_model: Path) -> None:
    """The CSP forbids inline script and style: no page may rely on them (scores, charts, admin)."""
    app = make_app(MODERATION_MODEL=str(tiny_model))
    client = app.test_client()
    make_moderator(app, "boss", "admin")
    key_client = app.test_client()
    with services(app).sessions() as session, session.begin():
        key = create_key(session, "site")
    verdict = post_comment(key_client, {"Authorization": f"Bearer {key}"}, "c1", "You are a total moron")
    assert verdict["scores"], "the item page should draw score bars"
    pages = [(app.test_client(), "/login")]  # logged in, /login is a redirect
    login(client, "boss")
    pages += [(client, url) for url in ("/review/queue/flagged", "/review/comments/c1", "/review/stats")]
    pages += [(client, "/review/admin")]
    for browser, url in pages:
        resp = browser.get(url)
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert not re.search(r"\sstyle\s*=", html, re.I), url
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), url
        assert "javascript:" not in html.lower(), url
        for tag in re.findall(r"<script\b[^>]*>", html, re.I):
            assert "src=" in tag, (url, tag)
        assert not re.search(r"<style\b", html, re.I), url


# Cookies


def set_cookie_header(resp) -> str:
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, resp.headers
    return cookies[-1]


def test_session_cookie_is_lax_and_http_only(app: Flask, client: FlaskClient) -> None:
    make_moderator(app)
    cookie = set_cookie_header(login(client))
    assert "SameSite=Lax" in cookie
    assert "HttpOnly" in cookie
    assert "Secure" not in cookie  # plain http://127.0.0.1:5000 keeps working by default


@pytest.mark.parametrize("value", ["1", "true", "yes", "on"])
def test_secure_cookies_from_the_environment(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SESSION_COOKIE_SECURE", value)
    app = make_app()
    make_moderator(app)
    cookie = set_cookie_header(login(app.test_client()))
    assert "; Secure" in cookie and "SameSite=Lax" in cookie


def test_secure_cookie_setting_parses_booleans() -> None:
    for raw, expected in [("1", True), ("TRUE", True), ("0", False), ("false", False), ("off", False)]:
        assert Config.from_env({"SESSION_COOKIE_SECURE": raw})["SESSION_COOKIE_SECURE"] is expected
    assert Config.from_env({})["SESSION_COOKIE_SECURE"] is False
    with pytest.raises(ValueError, match="SESSION_COOKIE_SECURE"):
        Config.from_env({"SESSION_COOKIE_SECURE": "maybe"})


def test_the_api_keeps_no_cookie_session(app: Flask, client: FlaskClient, auth: dict[str, str]) -> None:
    """A logged-in moderator's cookie is neither read nor renewed by the JSON API: the API answers
    by key alone, and its answers set no cookie."""
    make_moderator(app)
    login(client)
    assert logged_in(client)
    cookie = session_cookie(client)
    assert client.get("/api/v1/queue").status_code == 401  # the cookie is no key
    resp = client.post(
        "/api/v1/comments", json={"id": "c1", "text": "Fair point.", "author": {"id": "a"}}, headers=auth
    )
    assert resp.status_code == 201
    assert not resp.headers.getlist("Set-Cookie")
    assert session_cookie(client) == cookie and logged_in(client)
    sent = {"Cookie": f"session={cookie}"}
    with app.test_request_context("/api/v1/comments", method="POST", headers=sent):
        assert isinstance(app.session_interface.open_session(app, request), NullSession)
    with app.test_request_context("/review/queue/pending", headers=sent):
        opened = app.session_interface.open_session(app, request)
        assert opened is not None and opened.get("_user_id")  # the pages read it


# Sessions


def test_a_cookie_copied_before_logout_is_refused_after(app: Flask) -> None:
    make_moderator(app)
    laptop, phone = app.test_client(), app.test_client()
    login(laptop)
    login(phone)
    copied = session_cookie(laptop)
    assert logged_in(with_cookie(app, copied))
    resp = laptop.post("/logout", data={"csrf_token": token(laptop, "/review/stats")})
    assert resp.status_code == 302
    assert not logged_in(laptop)
    assert not logged_in(with_cookie(app, copied))
    assert logged_in(phone)  # logging out ends that session only


def test_the_database_holds_only_a_hash_of_the_session_token(app: Flask, client: FlaskClient) -> None:
    make_moderator(app)
    login(client)
    data = app.session_interface.get_signing_serializer(app).loads(session_cookie(client))
    session_token = data["_user_id"]
    assert len(session_token) >= 32
    with services(app).sessions() as session:
        rows = list(session.scalars(select(ModeratorSession)))
    assert [r.token_sha256 for r in rows] == [hashlib.sha256(session_token.encode()).hexdigest()]
    assert rows[0].revoked_at is None


def test_a_cookie_naming_a_moderator_id_is_not_a_session(app: Flask, client: FlaskClient) -> None:
    """Cookies signed before server-side sessions carried the moderator's id: no longer enough."""
    make_moderator(app)
    serializer = app.session_interface.get_signing_serializer(app)
    forged = serializer.dumps({"_user_id": "1", "_fresh": True})
    assert not logged_in(with_cookie(app, forged))


def test_the_pre_login_csrf_token_is_refused_after_login(app: Flask, client: FlaskClient, auth: dict) -> None:
    make_moderator(app)
    post_comment(client, auth, "c1", "You are a total moron")
    before = token(client)
    login(client, csrf=before)
    resp = client.post("/review/comments/c1/decide", data={"action": "approve", "csrf_token": before})
    assert resp.status_code == 400
    assert client.get("/api/v1/comments/c1", headers=auth).get_json()["status"] == "flagged"
    resp = post(client, "/review/comments/c1/decide", action="approve")
    assert resp.status_code == 302
    assert client.get("/api/v1/comments/c1", headers=auth).get_json()["status"] == "approved"


def test_logging_in_replaces_the_previous_session(app: Flask, client: FlaskClient) -> None:
    make_moderator(app)
    make_moderator(app, "other")
    login(client)
    first = session_cookie(client)
    login(client, "other", csrf=token(client, "/review/stats"))  # logged in, /login redirects
    assert session_cookie(client) != first
    assert not logged_in(with_cookie(app, first))
    with services(app).sessions() as session:
        live = list(session.scalars(select(ModeratorSession).where(ModeratorSession.revoked_at.is_(None))))
    assert len(live) == 1


def test_disabling_a_moderator_ends_their_live_session(app: Flask) -> None:
    make_moderator(app)
    make_moderator(app, "boss", "admin")
    mo, boss = app.test_client(), app.test_client()
    login(mo)
    copied = session_cookie(mo)
    login(boss, "boss")
    assert post(boss, "/review/admin/moderators/mo/disable", disable="1").status_code == 302
    assert not logged_in(mo)
    # Enabling the account again does not bring the old session (or a stolen copy) back.
    assert post(boss, "/review/admin/moderators/mo/disable", disable="0").status_code == 302
    assert not logged_in(mo)
    assert not logged_in(with_cookie(app, copied))
    login(mo)
    assert logged_in(mo)
    assert logged_in(boss)


def test_disabling_from_the_command_line_ends_sessions(app: Flask) -> None:
    make_moderator(app)
    mo = app.test_client()
    login(mo)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["moderator", "disable", "mo"]).exit_code == 0
    assert runner.invoke(args=["moderator", "disable", "mo", "--enable"]).exit_code == 0
    assert not logged_in(mo)


def test_sessions_expire_after_their_lifetime(make_app: Callable[..., Flask]) -> None:
    app = make_app(SESSION_LIFETIME_HOURS=2)
    make_moderator(app)
    client = app.test_client()
    login(client)
    with services(app).sessions() as session, session.begin():
        session.execute(update(ModeratorSession).values(created_at=utcnow() - timedelta(hours=1)))
    assert logged_in(client)
    with services(app).sessions() as session, session.begin():
        session.execute(update(ModeratorSession).values(created_at=utcnow() - timedelta(hours=2, minutes=1)))
    assert not logged_in(client)


def test_session_rules_in_the_core(app: Flask) -> None:
    """Lifetime, revocation, disabled accounts and the once-a-minute last-seen write, with explicit times."""
    make_moderator(app)
    lifetime = timedelta(hours=12)
    start = utcnow()
    with services(app).sessions() as session, session.begin():
        moderator = authenticate(session, "mo", PASSWORD)
        assert moderator is not None
        live = moderators.start_session(session, moderator, now=start)
        ended = moderators.start_session(session, moderator, now=start)
    assert live != ended

    def seen(session_token: str, at: timedelta) -> tuple[bool, object]:
        with services(app).sessions() as session, session.begin():
            who = moderators.session_moderator(session, session_token, lifetime, now=start + at)
            row = session.scalar(
                select(ModeratorSession).where(
                    ModeratorSession.token_sha256 == hashlib.sha256(session_token.encode()).hexdigest()
                )
            )
            return who is not None and who.username == "mo", row.last_seen_at if row else None

    assert seen(live, timedelta(0)) == (True, start)
    # Within a minute nothing is written; after it, last_seen_at moves on.
    assert seen(live, timedelta(seconds=59)) == (True, start)
    assert seen(live, timedelta(seconds=61)) == (True, start + timedelta(seconds=61))
    assert seen(live, timedelta(hours=11, minutes=59))[0] is True
    assert seen(live, timedelta(hours=12, seconds=1))[0] is False
    assert seen("not a token", timedelta(0))[0] is False

    with services(app).sessions() as session, session.begin():
        assert moderators.end_session(session, ended, now=start) is True
        assert moderators.end_session(session, ended, now=start) is False
    assert seen(ended, timedelta(0))[0] is False

    with services(app).sessions() as session, session.begin():
        set_disabled(session, find_moderator(session, "mo"), True)
    assert seen(live, timedelta(minutes=5))[0] is False
