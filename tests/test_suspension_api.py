"""Suspending an author through the moderation API: audited, validated, and ending by itself."""

from __future__ import annotations

from datetime import datetime, timedelta

from conftest import post_comment
from flask import Flask
from flask.testing import FlaskClient
from test_openapi import Contract, _document

from moderation.models import utcnow
from moderation.web.extension import services
from moderation.workflow.submission import find_author


def test_suspend_and_lift(app: Flask, client: FlaskClient, auth: dict, mod_auth: dict) -> None:
    post_comment(client, auth, "c1", "Hello there", author="u-7")
    resp = client.put(
        "/api/v1/authors/u-7/suspension", json={"hours": 24, "note": "cooling off"}, headers=mod_auth
    )
    assert resp.status_code == 200, resp.get_json()
    Contract(_document(client)).check("put", "/api/v1/authors/{site_id}/suspension", resp)  # as documented
    body = resp.get_json()
    assert body["suspended"] is True and body["banned"] is False
    until = datetime.fromisoformat(body["suspended_until"])
    assert timedelta(hours=23, minutes=59) < until - utcnow() <= timedelta(hours=24)
    assert post_comment(client, auth, "c2", "Hello again", author="u-7")["status"] == "rejected"

    resp = client.delete("/api/v1/authors/u-7/suspension", headers=mod_auth)
    assert resp.status_code == 200 and resp.get_json()["suspended"] is False
    assert post_comment(client, auth, "c3", "Hello once more", author="u-7")["status"] == "approved"

    audit = client.get("/api/v1/authors/u-7", headers=mod_auth).get_json()
    assert audit["suspended"] is False


def test_an_ended_suspension_reads_as_not_suspended(app: Flask, client: FlaskClient, auth, mod_auth) -> None:
    post_comment(client, auth, "c1", "Hello there", author="u-7")
    client.put("/api/v1/authors/u-7/suspension", json={"hours": 1}, headers=mod_auth)
    with services(app).sessions() as session, session.begin():
        find_author(session, "u-7").suspended_until = utcnow() - timedelta(minutes=1)
    body = client.get("/api/v1/authors/u-7", headers=mod_auth).get_json()
    assert body["suspended"] is False and body["suspended_until"] is not None


def test_bad_suspensions_are_refused(client: FlaskClient, auth: dict, mod_auth: dict) -> None:
    post_comment(client, auth, "c1", "Hello there", author="u-7")
    for body in ({}, {"hours": 0}, {"hours": -3}, {"hours": 9000}, {"hours": "24"}, {"hours": 0.001}):
        resp = client.put("/api/v1/authors/u-7/suspension", json=body, headers=mod_auth)
        assert resp.status_code == 422, (body, resp.get_json())
        assert resp.get_json()["error"]["code"] == "invalid_field"
    assert client.put("/api/v1/authors/u-7/suspension", data="{", headers=mod_auth).status_code == 400
    missing = client.put("/api/v1/authors/nobody/suspension", json={"hours": 1}, headers=mod_auth)
    assert missing.status_code == 404
    assert client.put("/api/v1/authors/u-7/suspension", json={"hours": 1}, headers=auth).status_code == 403
    assert client.put("/api/v1/authors/u-7/suspension", json={"hours": 1}).status_code == 401
