"""Input PostgreSQL cannot store, numbers that overflow its columns, naive datetimes, streamed
bodies: each gets a 4xx in the one JSON error shape, on SQLite and PostgreSQL, and changes nothing."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import TABLES, post_comment
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from moderation.accounts.apikeys import create_key
from moderation.accounts.moderators import create_moderator
from moderation.config import PROJECT_ROOT
from moderation.web import create_app
from moderation.web.extension import services

NUL = "\x00"
STORED_TABLES = (
    "comments",
    "authors",
    "articles",
    "reports",
    "reporters",
    "author_notes",
    "audit_log",
    "webhook_deliveries",
)


def snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row that a request could change."""
    with services(app).sessions() as session:
        return {
            table: [tuple(row) for row in session.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in STORED_TABLES
        }


def assert_error(resp, status: int, code: str, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.is_json
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    for word in words:
        assert word in body["error"]["message"], body["error"]["message"]


@pytest.fixture
def seeded(app: Flask, client: FlaskClient, auth: dict, mod_auth: dict) -> dict[str, list[tuple[Any, ...]]]:
    """A comment with a report, an author with a note; the stored state before the hostile request."""
    post_comment(client, auth, "c1", "You total clown", author="u1")
    report = {"reporter_id": "r1", "reason": "insult", "note": "rude"}
    assert client.post("/api/v1/comments/c1/reports", json=report, headers=auth).status_code == 201
    note = client.post("/api/v1/authors/u1/notes", json={"text": "warned"}, headers=mod_auth)
    assert note.status_code == 201
    return snapshot(app)


def _comment(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "c2",
        "text": "A fair point.",
        "author": {"id": "u2", "name": "Ann", "created_at": "2020-01-01T00:00:00Z"},
        "article": {"id": "a2", "title": "Budget", "url": "https://news.example/a2"},
        "parent_id": "c1",
    }
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        target = body
        for key in parents:
            target = target[key]
        target[leaf] = value
    return body


def test_nul_in_a_comment_field_is_422_naming_it(
    app: Flask, client: FlaskClient, auth: dict, seeded: dict
) -> None:
    # Refused, not stripped: offsets into the text and the idempotency digest are of the text as sent.
    fields = (
        "text",
        "id",
        "author.id",
        "author.name",
        "article.id",
        "article.title",
        "article.url",
        "parent_id",
    )
    for field in fields:
        resp = client.post("/api/v1/comments", json=_comment(**{field: f"a{NUL}b"}), headers=auth)
        assert_error(resp, 422, "invalid_field", f"{field}: must not contain the NUL character")
    assert snapshot(app) == seeded


def test_nul_in_a_score_request_is_422(client: FlaskClient, auth: dict) -> None:
    for field in ("text", "author.id", "author.name", "article.url"):
        body = {"text": "fine", "author": {"id": "u"}, "article": {"id": "a"}}
        parent, _, leaf = field.rpartition(".")
        (body[parent] if parent else body)[leaf] = f"x{NUL}"  # type: ignore[index]
        assert_error(client.post("/api/v1/score", json=body, headers=auth), 422, "invalid_field", field)


def test_nul_in_a_report_is_422(app: Flask, client: FlaskClient, auth: dict, seeded: dict) -> None:
    for body, field in (
        ({"reporter_id": f"r{NUL}2", "reason": "spam"}, "reporter_id"),
        ({"reporter_id": "r2", "reason": "spam", "note": f"see{NUL}"}, "note"),
    ):
        resp = client.post("/api/v1/comments/c1/reports", json=body, headers=auth)
        assert_error(resp, 422, "invalid_field", field, "NUL")
    assert snapshot(app) == seeded


def test_nul_in_moderation_bodies_is_422(
    app: Flask, client: FlaskClient, mod_auth: dict, seeded: dict
) -> None:
    note = client.post("/api/v1/authors/u1/notes", json={"text": f"x{NUL}"}, headers=mod_auth)
    assert_error(note, 422, "invalid_field", "text", "NUL")
    decision = {"action": "reject", "site_rule": "be_nice", "note": f"x{NUL}"}
    resp = client.post("/api/v1/comments/c1/decision", json=decision, headers=mod_auth)
    assert_error(resp, 422, "invalid_field", "note", "NUL")
    claim = client.post("/api/v1/queue/next", json={"article": f"a{NUL}"}, headers=mod_auth)
    assert_error(claim, 422, "invalid_field", "article", "NUL")
    assert snapshot(app) == seeded


def test_nul_in_a_path_id_is_404(
    app: Flask, client: FlaskClient, auth: dict, mod_auth: dict, seeded: dict
) -> None:
    body = {"reporter_id": "r9", "reason": "spam", "action": "approve", "text": "n"}
    for method, path, headers in (
        ("GET", "/api/v1/comments/c%001", auth),
        ("POST", "/api/v1/comments/c%001/reports", auth),
        ("POST", "/api/v1/comments/c%001/claim", mod_auth),
        ("POST", "/api/v1/comments/c%001/decision", mod_auth),
        ("POST", "/api/v1/comments/c%001/undo", mod_auth),
        ("GET", "/api/v1/comments/c%001/audit", mod_auth),
        ("GET", "/api/v1/authors/u%001", mod_auth),
        ("POST", "/api/v1/authors/u%001/notes", mod_auth),
        ("PUT", "/api/v1/authors/u%001/ban", mod_auth),
        ("DELETE", "/api/v1/authors/u%001/premoderation", mod_auth),
    ):
        resp = client.open(path, method=method, json=body if method == "POST" else None, headers=headers)
        assert_error(resp, 404, "not_found", "NUL")
    assert snapshot(app) == seeded


def test_bad_queue_query_parameters_are_422(client: FlaskClient, mod_auth: dict) -> None:
    for query, field in (
        ("category=threat%00", "category"),
        ("article=a%001", "article"),
        ("site_rule=be_nice%00", "site_rule"),
        ("page=100000000000000000000", "page"),
        ("page=2147483648", "page"),
        ("per_page=100000000000000000000", "per_page"),
        ("per_page=201", "per_page"),
        ("page=0", "page"),
        ("page=two", "page"),
        ("state=everything", "state"),
        ("sort=random", "sort"),
    ):
        resp = client.get(f"/api/v1/queue?{query}", headers=mod_auth)
        assert_error(resp, 422, "invalid_field", f"{field}:")


def test_largest_page_is_an_empty_page(client: FlaskClient, mod_auth: dict, seeded: dict) -> None:
    resp = client.get("/api/v1/queue?state=flagged&page=2147483647&per_page=200", headers=mod_auth)
    assert resp.status_code == 200
    assert resp.get_json()["items"] == [] and resp.get_json()["total"] == 1


def test_bad_deliveries_state_is_422(client: FlaskClient, mod_auth: dict) -> None:
    resp = client.get("/api/v1/webhooks/deliveries?state=pending%00", headers=mod_auth)
    assert_error(resp, 422, "invalid_field", "state")


def test_note_id_that_cannot_exist_is_404(
    app: Flask, client: FlaskClient, mod_auth: dict, seeded: dict
) -> None:
    for note_id in ("2147483648", "99999999999999999999", "-1", "one"):
        resp = client.delete(f"/api/v1/authors/u1/notes/{note_id}", headers=mod_auth)
        assert_error(resp, 404, "not_found", note_id)
    assert snapshot(app) == seeded


def test_largest_note_id_is_an_ordinary_404(client: FlaskClient, mod_auth: dict, seeded: dict) -> None:
    resp = client.delete("/api/v1/authors/u1/notes/2147483647", headers=mod_auth)
    assert_error(resp, 404, "not_found")


def test_revision_beyond_the_column_is_422(
    app: Flask, client: FlaskClient, mod_auth: dict, seeded: dict
) -> None:
    for revision in (2**31, 10**20, -1):
        body = {"action": "approve", "revision": revision}
        resp = client.post("/api/v1/comments/c1/decision", json=body, headers=mod_auth)
        assert_error(resp, 422, "invalid_field", "revision")
    assert snapshot(app) == seeded


NAIVE = "2020-01-01T00:00:00"


def test_naive_datetimes_are_422(app: Flask, client: FlaskClient, auth: dict, seeded: dict) -> None:
    # RFC 3339 (OpenAPI's date-time) requires an offset; guessing UTC could be hours off.
    resp = client.post("/api/v1/comments", json=_comment(**{"author.created_at": NAIVE}), headers=auth)
    assert_error(resp, 422, "invalid_field", "author.created_at: must include a UTC offset")
    score = {"text": "fine", "author": {"created_at": NAIVE}}
    assert_error(
        client.post("/api/v1/score", json=score, headers=auth), 422, "invalid_field", "author.created_at"
    )
    report = {"reporter_id": "r2", "reason": "spam", "reporter_created_at": NAIVE}
    resp = client.post("/api/v1/comments/c1/reports", json=report, headers=auth)
    assert_error(resp, 422, "invalid_field", "reporter_created_at: must include a UTC offset")
    assert snapshot(app) == seeded


def test_datetimes_out_of_range_in_utc_are_422(
    app: Flask, client: FlaskClient, auth: dict, seeded: dict
) -> None:
    for moment in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        body = _comment(**{"author.created_at": moment})
        resp = client.post("/api/v1/comments", json=body, headers=auth)
        assert_error(resp, 422, "invalid_field", "author.created_at", "out of range")
        report = {"reporter_id": "r2", "reason": "spam", "reporter_created_at": moment}
        resp = client.post("/api/v1/comments/c1/reports", json=report, headers=auth)
        assert_error(resp, 422, "invalid_field", "reporter_created_at")
    assert snapshot(app) == seeded


def test_offsets_are_converted_to_utc(app: Flask, client: FlaskClient, auth: dict, mod_auth: dict) -> None:
    body = _comment(**{"author.created_at": "2020-01-01T02:30:00+02:30"})
    del body["parent_id"]
    assert client.post("/api/v1/comments", json=body, headers=auth).status_code == 201
    author = client.get("/api/v1/authors/u2", headers=mod_auth).get_json()
    assert author["account_created_at"] == "2020-01-01T00:00:00+00:00"


def test_text_that_is_not_unicode_is_400(app: Flask, client: FlaskClient, auth: dict, seeded: dict) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    for raw in (
        b'{"id": "c2", "text": "a\\ud800b", "author": {"id": "u2"}}',  # lone high surrogate
        b'{"id": "c2", "text": "\\udc00", "author": {"id": "u2"}}',  # lone low surrogate
        b'{"id": "c2", "text": "\xff\xfe", "author": {"id": "u2"}}',  # not UTF-8
    ):
        resp = client.post("/api/v1/comments", data=raw, headers=headers)
        assert_error(resp, 400, "bad_json", "malformed JSON")
    assert snapshot(app) == seeded


def test_surrogate_pairs_are_ordinary_text(client: FlaskClient, auth: dict) -> None:
    raw = b'{"id": "c2", "text": "Nice \\ud83d\\ude00", "author": {"id": "u2"}}'
    resp = client.post("/api/v1/comments", data=raw, headers={**auth, "Content-Type": "application/json"})
    assert resp.status_code == 201
    assert client.get("/api/v1/comments/c2", headers=auth).status_code == 200


def _chunked(client: FlaskClient, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    # What a server that decodes Transfer-Encoding: chunked hands the app: no Content-Length, and
    # wsgi.input_terminated to say the stream ends where the body does.
    return client.post(
        "/api/v1/comments",
        input_stream=io.BytesIO(body),
        headers={**headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_chunked_body_over_the_limit_is_413(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(MAX_REQUEST_BYTES=1000)
    with services(app).sessions() as session, session.begin():
        headers = {"Authorization": f"Bearer {create_key(session, 'k')}"}
    client = app.test_client()
    big = b'{"id": "c1", "text": "' + b"y" * 5000 + b'", "author": {"id": "u1"}}'
    assert_error(_chunked(client, big, headers), 413, "too_large")
    exact = b'{"id": "c1", "author": {"id": "u1"}, "text": "' + b"y" * 100 + b'"}'
    exact = exact.replace(b"y" * 100, b"y" * (100 + 1000 - len(exact)))
    assert len(exact) == 1000
    assert _chunked(client, exact, headers).status_code == 201
    before = snapshot(app)
    assert_error(_chunked(client, exact + b" ", headers), 413, "too_large")
    assert snapshot(app) == before


def test_review_page_refuses_bad_query_parameters(app: Flask, client: FlaskClient) -> None:
    with services(app).sessions() as session, session.begin():
        create_moderator(session, "mo", "correct horse battery", "moderator")
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    login = {"username": "mo", "password": "correct horse battery", "csrf_token": token}
    assert client.post("/login", data=login).status_code == 302
    for query in ("category=x%00", "article=%00", "page=100000000000000000000", "sort=sideways"):
        assert client.get(f"/review/queue/pending?{query}").status_code == 400, query
    past_the_end = client.get("/review/queue/pending?page=2147483647&category=")
    assert past_the_end.status_code == 302 and "page=1" in past_the_end.headers["Location"]
    assert client.get(past_the_end.headers["Location"]).status_code == 200


# -- under gunicorn, with the shipped gunicorn.conf.py ----------------------------------------


def _http(
    port: int, head: bytes, body_chunks: list[bytes] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Send one raw HTTP/1.1 request (chunked when ``body_chunks`` is given); status, headers, body."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        message = head
        if body_chunks is not None:
            message += b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in body_chunks) + b"0\r\n\r\n"
        sock.sendall(message)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    header_block, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = header_block.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.fixture
def gunicorn_port(pg_url: str, tmp_path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """gunicorn serving the app with gunicorn.conf.py (MAX_REQUEST_BYTES=1000) over PostgreSQL."""
    with psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "SECRET_KEY": "test",
        "MODERATION_MODEL": "none",
        "MAX_REQUEST_BYTES": "1000",
        "LOG_LEVEL": "WARNING",
    }
    app = create_app({"DATABASE_URL": pg_url, "SECRET_KEY": "test", "MODERATION_MODEL": "none"})
    with services(app).sessions() as session, session.begin():
        headers = {"Authorization": f"Bearer {create_key(session, 'gunicorn')}"}
    services(app).engine.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "gunicorn.log").open("wb")
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [*command, "--workers", "1", "--threads", "2"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log
    )
    try:
        while server.poll() is None:  # ready when it accepts connections
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
        yield port, headers
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def test_gunicorn_chunked_body_over_the_limit_is_413_json(gunicorn_port: tuple[int, dict[str, str]]) -> None:
    port, auth = gunicorn_port
    head = (
        b"POST /api/v1/comments HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        + f"Authorization: {auth['Authorization']}\r\n\r\n".encode()
    )
    big = b'{"id": "c1", "text": "' + b"y" * 3000 + b'", "author": {"id": "u1"}}'
    status, headers, body = _http(port, head, [big[i : i + 500] for i in range(0, len(big), 500)])
    assert status == 413 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": {"code": "too_large", "message": "the request body is too large"}}
    small = b'{"id": "c1", "text": "A fair point.", "author": {"id": "u1"}}'
    status, _, body = _http(port, head, [small[:20], small[20:]])
    assert status == 201, body
    assert json.loads(body)["id"] == "c1"


def test_gunicorn_answers_its_own_limits_as_documented(gunicorn_port: tuple[int, dict[str, str]]) -> None:
    # These never reach the app, so they cannot be JSON: the README lists them.
    port, _ = gunicorn_port
    long_line = b"GET /api/v1/comments/" + b"x" * 4100 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    status, headers, _ = _http(port, long_line)
    assert status == 414 and headers["content-type"] == "text/html"
    many = (
        b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-%d: 1\r\n" % n for n in range(50))
        + b"\r\n"
    )
    status, headers, _ = _http(port, many)
    assert status == 431 and headers["content-type"] == "text/html"
    huge = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 8200 + b"\r\n\r\n"
    status, headers, _ = _http(port, huge)
    assert status == 431 and headers["content-type"] == "text/html"
    within = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + b"X-A: 1\r\n" * 40 + b"\r\n"
    assert _http(port, within)[0] == 200
