"""The JSON API, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from conftest import count_rows
from flask import Flask
from flask.testing import FlaskClient

from moderation.accounts.apikeys import create_key, revoke_key
from moderation.classifier import artifact, contribution
from moderation.web.extension import services


def comment(cid: str = "c1", text: str = "A fair point about the budget.", **extra) -> dict:
    body = {
        "id": cid,
        "text": text,
        "author": {"id": "u1", "name": "Ann", "created_at": "2020-01-01T00:00:00Z"},
        "article": {"id": "a1", "title": "NATO talks", "url": "https://news.example/nato"},
    }
    body.update(extra)
    return body


def test_post_comment_returns_verdict_and_stores_it(client: FlaskClient, auth: dict, app: Flask) -> None:
    text = "You are a complete idiot and this is bullsh1t"
    resp = client.post("/api/v1/comments", json=comment(text=text), headers=auth)
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["id"] == "c1"
    assert body["status"] == "rejected"
    assert body["visible"] is False
    assert body["scores"] == {}
    assert body["rules_version"]
    by_rule = {m["rule"]: m for m in body["matches"]}
    assert by_rule["obscene-profanity"]["site_rule"] == "Keep it Clean"
    for m in body["matches"]:
        assert text[m["start"] : m["end"]] == m["text"]
    assert any("bullsh1t" in r for r in body["reasons"])

    stored = client.get("/api/v1/comments/c1", headers=auth)
    assert stored.status_code == 200
    assert stored.get_json()["status"] == "rejected"
    assert stored.get_json()["matches"] == body["matches"]
    assert count_rows(app, "audit_log") == 1
    assert count_rows(app, "authors") == 1
    assert count_rows(app, "articles") == 1


@pytest.mark.parametrize(
    ("text", "status", "visible"),
    [
        ("Thanks for the clear reporting.", "approved", True),
        ("You are a total moron", "flagged", True),
        ("I know where you live", "pending", False),
        ("Go f*ck yourself", "rejected", False),
    ],
)
def test_each_status_and_visibility(
    client: FlaskClient, auth: dict, text: str, status: str, visible: bool
) -> None:
    body = client.post("/api/v1/comments", json=comment(text=text), headers=auth).get_json()
    assert (body["status"], body["visible"]) == (status, visible)


def test_repost_is_idempotent_and_conflicting_text_is_refused(
    client: FlaskClient, auth: dict, app: Flask
) -> None:
    first = client.post("/api/v1/comments", json=comment(), headers=auth)
    again = client.post("/api/v1/comments", json=comment(), headers=auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    conflict = client.post("/api/v1/comments", json=comment(text="Something else"), headers=auth)
    assert conflict.status_code == 409
    assert conflict.get_json()["error"]["code"] == "id_conflict"
    assert count_rows(app, "comments") == 1
    assert count_rows(app, "audit_log") == 1
    assert client.get("/api/v1/comments/c1", headers=auth).get_json()["status"] == "approved"


def test_author_history_feeds_rules(client: FlaskClient, auth: dict) -> None:
    for i in range(3):
        client.post("/api/v1/comments", json=comment(f"bad{i}", text="f*ck this"), headers=auth)
    body = client.post(
        "/api/v1/comments", json=comment("next", text="Lovely weather today"), headers=auth
    ).get_json()
    assert body["status"] == "pending"
    assert "repeat-offender" in {m["rule"] for m in body["matches"]}


def test_new_account_from_created_at(client: FlaskClient, auth: dict) -> None:
    from datetime import UTC, datetime

    body = comment(text="deals at www.example.com")
    body["author"] = {"id": "newbie", "created_at": datetime.now(UTC).isoformat()}
    assert client.post("/api/v1/comments", json=body, headers=auth).get_json()["status"] == "pending"


def test_score_stores_nothing(client: FlaskClient, auth: dict, app: Flask) -> None:
    resp = client.post("/api/v1/score", json={"text": "you absolute moron"}, headers=auth)
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "flagged"
    assert "id" not in resp.get_json()
    assert count_rows(app, "comments") == 0
    assert count_rows(app, "authors") == 0


def test_health_needs_no_key(client: FlaskClient) -> None:
    resp = client.get("/api/v1/health")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["rules"]["version"]
    assert body["model"] == {
        "loaded": False,
        "required": False,
        "version": None,
        "error": None,
        "source": "configured",
        "reload_error": None,
    }
    assert body["contribution"] == {"configured": False, "loaded": False, "version": None}


def test_health_says_whether_the_contribution_head_is_loaded(make_app, tmp_path) -> None:
    shipped = make_app(MODERATION_CONTRIBUTION_MODEL=str(contribution.DEFAULT_MODEL))
    body = shipped.test_client().get("/api/v1/health").get_json()
    version = artifact.read_metadata(contribution.DEFAULT_MODEL)["model_version"]
    assert body["contribution"] == {"configured": True, "loaded": True, "version": version}
    missing = make_app(MODERATION_CONTRIBUTION_MODEL=str(tmp_path / "gone.skops"))
    resp = missing.test_client().get("/api/v1/health")
    assert resp.status_code == 200 and resp.get_json()["status"] == "ok"  # nothing is held for it
    assert resp.get_json()["contribution"] == {"configured": True, "loaded": False, "version": None}


def test_health_reports_unreachable_database(make_app) -> None:
    app = make_app(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    resp = app.test_client().get("/api/v1/health")
    assert resp.status_code == 503
    assert resp.get_json()["database"]["ok"] is False


# -- errors --------------------------------------------------------------------


def assert_error(resp, status: int, code: str | None = None, mentions: str | None = None) -> None:
    assert resp.status_code == status
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    if code:
        assert body["error"]["code"] == code
    if mentions:
        assert mentions in body["error"]["message"]


def test_missing_and_invalid_keys(client: FlaskClient, app: Flask) -> None:
    assert_error(client.post("/api/v1/comments", json=comment()), 401, "unauthorized")
    assert_error(
        client.post("/api/v1/comments", json=comment(), headers={"Authorization": "Bearer nope"}), 401
    )
    assert_error(client.post("/api/v1/comments", json=comment(), headers={"Authorization": "Basic abc"}), 401)
    assert_error(client.get("/api/v1/comments/c1", headers={"Authorization": "Bearer mk_abc_def"}), 401)
    with services(app).sessions() as session, session.begin():
        key = create_key(session, "gone")
    with services(app).sessions() as session, session.begin():
        revoke_key(session, "gone")
    assert_error(
        client.post("/api/v1/score", json={"text": "x"}, headers={"Authorization": f"Bearer {key}"}), 401
    )


def test_key_with_wrong_secret_is_refused(client: FlaskClient, api_key: str) -> None:
    forged = api_key[:-4] + ("AAAA" if not api_key.endswith("AAAA") else "BBBB")
    assert_error(
        client.post("/api/v1/score", json={"text": "x"}, headers={"Authorization": f"Bearer {forged}"}), 401
    )


def test_moderate_only_key_cannot_submit(client: FlaskClient, app: Flask) -> None:
    with services(app).sessions() as session, session.begin():
        key = create_key(session, "mods", ("moderate",))
    assert_error(
        client.post("/api/v1/score", json={"text": "x"}, headers={"Authorization": f"Bearer {key}"}), 403
    )


@pytest.mark.parametrize("raw", [b"{", b"not json", b"", b"[1, 2]", b'"text"'])
def test_malformed_json_is_400(client: FlaskClient, auth: dict, raw: bytes) -> None:
    resp = client.post("/api/v1/comments", data=raw, headers={**auth, "Content-Type": "application/json"})
    assert_error(resp, 400, "bad_json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "x", "author": {"id": "u"}}, "id is required"),
        ({"id": "c", "author": {"id": "u"}}, "text is required"),
        ({"id": "c", "text": "x"}, "author is required"),
        ({"id": 5, "text": "x", "author": {"id": "u"}}, "id:"),
        ({"id": "c", "text": ["x"], "author": {"id": "u"}}, "text:"),
        ({"id": "c", "text": "x", "author": {"id": 7}}, "author.id"),
        ({"id": "c", "text": "x", "author": "u"}, "author:"),
        ({"id": "c", "text": "x", "author": {"id": "u", "created_at": "yesterday"}}, "author.created_at"),
        ({"id": "c", "text": "x", "author": {"id": "u"}, "article": {"title": "t"}}, "article.id"),
        ({"id": "c", "text": "", "author": {"id": "u"}}, "text:"),
        ({"id": "c", "text": "x", "author": {"id": "u"}, "parent_id": 3}, "parent_id"),
    ],
)
def test_missing_or_wrong_typed_fields_are_422(
    client: FlaskClient, auth: dict, app: Flask, body: dict, field: str
) -> None:
    assert_error(client.post("/api/v1/comments", json=body, headers=auth), 422, "invalid_field", field)
    assert count_rows(app, "comments") == 0


def test_text_over_limit_is_413(make_app, auth) -> None:
    app = make_app(MAX_TEXT_LENGTH=50)
    client = app.test_client()
    with services(app).sessions() as session, session.begin():
        key = create_key(session, "small")
    headers = {"Authorization": f"Bearer {key}"}
    assert_error(
        client.post("/api/v1/comments", json=comment(text="x" * 51), headers=headers), 413, "text_too_long"
    )
    assert_error(client.post("/api/v1/score", json={"text": "x" * 51}, headers=headers), 413)
    assert client.post("/api/v1/comments", json=comment(text="x" * 50), headers=headers).status_code == 201


def test_request_body_over_limit_is_413(make_app) -> None:
    app = make_app(MAX_REQUEST_BYTES=1000)
    with services(app).sessions() as session, session.begin():
        key = create_key(session, "k")
    resp = app.test_client().post(
        "/api/v1/comments", json=comment(text="y" * 5000), headers={"Authorization": f"Bearer {key}"}
    )
    assert_error(resp, 413)


def test_unknown_id_is_404(client: FlaskClient, auth: dict) -> None:
    assert_error(client.get("/api/v1/comments/nope", headers=auth), 404, "not_found", "nope")


def test_unknown_endpoint_and_wrong_method(client: FlaskClient, auth: dict) -> None:
    assert_error(client.get("/api/v1/nothing", headers=auth), 404)
    resp = client.delete("/api/v1/comments", headers=auth)
    assert_error(resp, 405, "method_not_allowed")
    assert "POST" in resp.headers["Allow"]
    assert_error(client.put("/api/v1/health"), 405)


def test_failed_requests_leave_stored_data_intact(client: FlaskClient, auth: dict, app: Flask) -> None:
    client.post("/api/v1/comments", json=comment(), headers=auth)
    before = client.get("/api/v1/comments/c1", headers=auth).get_json()
    client.post("/api/v1/comments", data=b"{", headers={**auth, "Content-Type": "application/json"})
    client.post("/api/v1/comments", json={"id": "c1", "text": 5, "author": {"id": "u1"}}, headers=auth)
    client.post("/api/v1/comments", json=comment(text="changed"), headers=auth)
    assert client.get("/api/v1/comments/c1", headers=auth).get_json() == before
    assert count_rows(app, "comments") == 1
