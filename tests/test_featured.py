"""Featuring on both databases: candidates listed, featured / dismissed with a CSRF token and
audited, pushed to the site by webhook, served as readers' picks, and learnt from."""

from __future__ import annotations

import json
import re

import pytest
from conftest import MOD_PASSWORD, csrf_token, make_moderator, post_comment
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from test_contribution import TOXIC_UBLA, UBLA
from test_webhooks import SECRET, Receiver

from moderation.accounts.apikeys import create_key
from moderation.classifier import contribution
from moderation.models import AuditEntry, Comment
from moderation.web.extension import services
from moderation.workflow.featuring import decision_rows
from moderation.workflow.webhooks import SIGNATURE_HEADER, verify

BACKGROUND = (
    "The 1997 Founding Act already committed NATO not to station substantial combat forces in new members."
)


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def site(make_app, receiver: Receiver) -> tuple[Flask, dict, FlaskClient]:  # type: ignore[no-untyped-def]
    """An app with the shipped contribution head and a webhook receiver, the comments of one NATO
    story posted, and a logged-in editor."""
    app = make_app(
        MODERATION_CONTRIBUTION_MODEL=str(contribution.DEFAULT_MODEL),
        WEBHOOK_URL=receiver.url,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_RETRY_SECONDS=0,
    )
    with services(app).sessions() as session, session.begin():
        auth = {"Authorization": f"Bearer {create_key(session, 'site')}"}
    client = app.test_client()
    nato = {"article": {"id": "nato-1", "title": "NATO ready for more talks"}}
    assert post_comment(client, auth, "ubla", UBLA, **nato)["contribution"]["candidate"] is True
    assert post_comment(client, auth, "toxic", TOXIC_UBLA, "u2", **nato)["status"] == "rejected"
    post_comment(client, auth, "history", BACKGROUND, "u3", **nato)
    post_comment(client, auth, "meh", "ok", "u4", **nato)
    post_comment(
        client, auth, "flood", "I live on Mill Lane and the water reached our second step at 2am.", "u5"
    )
    editor = app.test_client()
    make_moderator(app)
    resp = editor.post(
        "/login", data={"username": "mo", "password": MOD_PASSWORD, "csrf_token": csrf_token(editor)}
    )
    assert resp.status_code == 302
    return app, auth, editor


def listed(editor: FlaskClient, article: str | None = None) -> list[str]:
    page = editor.get("/review/featured/" + (f"?article={article}" if article else ""))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return re.findall(r'data-item data-id="([^"]+)"', html)


def choose(editor: FlaskClient, cid: str, action: str, with_token: bool = True):  # type: ignore[no-untyped-def]
    data = {"csrf_token": csrf_token(editor, "/review/featured/")} if with_token else {}
    return editor.post(f"/review/featured/{cid}/{action}", data=data)


def deliver(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["webhooks", "deliver", "--once"])
    assert result.exit_code == 0, result.output


def test_candidates_are_listed_per_article_best_first(site) -> None:  # type: ignore[no-untyped-def]
    app, _, editor = site
    ids = listed(editor)
    assert "ubla" in ids and "history" in ids and "flood" in ids
    assert "toxic" not in ids and "meh" not in ids
    html = editor.get("/review/featured/?article=nato-1").get_data(as_text=True)
    assert listed(editor, "nato-1") == ["ubla", "history"]  # sorted by score within the story
    assert "NATO ready for more talks" in html
    assert f'<mark title="eyewitness">{UBLA}</mark>' in html
    with services(app).sessions() as session:
        stored = session.scalar(select(Comment).where(Comment.site_id == "ubla"))
        assert stored is not None and stored.candidate and stored.contribution and stored.contribution > 0.8


def test_feature_is_audited_pushed_and_served(site, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    app, auth, editor = site
    client = app.test_client()
    assert client.get("/api/v1/articles/nato-1/featured", headers=auth).get_json()["featured"] == []
    deliver(app)
    receiver.received.clear()  # nothing changed status so far: no event was due
    assert choose(editor, "ubla", "feature").status_code == 302
    assert choose(editor, "history", "feature").status_code == 302
    assert "ubla" not in listed(editor)

    served = client.get("/api/v1/articles/nato-1/featured", headers=auth)
    assert served.status_code == 200
    picks = served.get_json()["featured"]
    assert [p["id"] for p in picks] == ["ubla", "history"]
    assert picks[0]["kind"] == "eyewitness" and picks[0]["featured_by"] == "moderator:mo"
    assert picks[0]["spans"][0]["text"] == UBLA

    deliver(app)
    events = [json.loads(body) for _, body in receiver.received]
    assert [(e["event"], e["comment"]["id"]) for e in events] == [
        ("comment.featured", "ubla"),
        ("comment.featured", "history"),
    ]
    headers, body = receiver.received[0]
    assert verify(SECRET, body, headers[SIGNATURE_HEADER])
    assert (
        events[0]["comment"]["featured"] is True
        and events[0]["comment"]["contribution"]["kind"] == "eyewitness"
    )

    assert choose(editor, "ubla", "unfeature").status_code == 302
    deliver(app)
    assert json.loads(receiver.received[-1][1])["event"] == "comment.unfeatured"
    picks = client.get("/api/v1/articles/nato-1/featured", headers=auth).get_json()["featured"]
    assert [p["id"] for p in picks] == ["history"]

    with services(app).sessions() as session:
        actions = session.scalars(
            select(AuditEntry.action)
            .join(Comment, AuditEntry.comment_id == Comment.id)
            .where(Comment.site_id == "ubla", AuditEntry.actor == "moderator:mo")
            .order_by(AuditEntry.id)
        ).all()
    assert actions == ["feature", "unfeature"]


def test_dismissed_leaves_the_listing_and_becomes_training_data(site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, _, editor = site
    assert choose(editor, "flood", "dismiss").status_code == 302
    assert choose(editor, "ubla", "feature").status_code == 302
    assert "flood" not in listed(editor)
    with services(app).sessions() as session:
        rows = {r.text: r.labels for r in decision_rows(session)}
    assert rows[UBLA] == {"eyewitness": 1}
    assert set(rows[next(t for t in rows if "Mill Lane" in t)].values()) == {0}
    out = tmp_path / "contribution.skops"
    result = app.test_cli_runner().invoke(
        args=["model", "train-contribution", "--from-decisions", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["extra_data"] == [{"path": "editors' decisions", "rows": 2}]
    assert meta["training_command"] == "flask model train-contribution --from-decisions"
    assert contribution.load(out).version == meta["model_version"]


def test_choices_need_csrf_and_a_visible_approved_comment(site) -> None:  # type: ignore[no-untyped-def]
    app, _, editor = site
    refused = choose(editor, "ubla", "feature", with_token=False)  # back, with a message, nothing done
    assert refused.status_code == 302
    assert "ubla" in listed(editor)
    choose(editor, "toxic", "feature")
    assert "only an approved, visible comment" in editor.get("/review/featured/").get_data(as_text=True)
    assert choose(editor, "ubla", "promote").status_code == 404
    assert choose(editor, "nobody", "feature").status_code == 404
    with services(app).sessions() as session:
        toxic = session.scalar(select(Comment).where(Comment.site_id == "toxic"))
        assert toxic is not None and toxic.feature_state is None


def test_featured_endpoint_errors_in_the_shared_shape(site) -> None:  # type: ignore[no-untyped-def]
    app, auth, _ = site
    client = app.test_client()
    missing = client.get("/api/v1/articles/nowhere/featured", headers=auth)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/articles/nato-1/featured").status_code == 401
    with services(app).sessions() as session, session.begin():
        moderate = {"Authorization": f"Bearer {create_key(session, 'mods', ('moderate',))}"}
    refused = client.get("/api/v1/articles/nato-1/featured", headers=moderate)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"


def test_a_featured_comment_rejected_later_leaves_the_picks(site) -> None:  # type: ignore[no-untyped-def]
    app, auth, editor = site
    choose(editor, "ubla", "feature")
    with services(app).sessions() as session, session.begin():
        moderate = {"Authorization": f"Bearer {create_key(session, 'mods', ('moderate',))}"}
    client = app.test_client()
    decided = client.post(
        "/api/v1/comments/ubla/decision",
        json={"action": "reject", "site_rule": "be_truthful"},
        headers=moderate,
    )
    assert decided.status_code == 200, decided.get_json()
    assert client.get("/api/v1/articles/nato-1/featured", headers=auth).get_json()["featured"] == []
