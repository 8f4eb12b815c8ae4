"""Real concurrency on PostgreSQL: many requests and workers in threads, each in its own transaction.

Row locks, lock order and SKIP LOCKED only matter where transactions truly overlap, so these tests
run against the PostgreSQL server only (the SQLite variants live beside the features' own tests).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from conftest import TABLES, post_comment
from flask import Flask
from flask.testing import FlaskClient

from moderation.apikeys import create_key
from moderation.web import create_app
from moderation.web.extension import services

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_app(pg_url: str) -> Iterator[Callable[..., Flask]]:
    """Apps over a freshly emptied PostgreSQL database, with room for many connections."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        config = {
            "DATABASE_URL": pg_url,
            "SECRET_KEY": "test",
            "LOG_LEVEL": "WARNING",
            "TESTING": True,
            "MODERATION_MODEL": "none",
            "DB_POOL_SIZE": 16,
            **overrides,
        }
        app = create_app(config)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        services(app).engine.dispose()


def keys(app: Flask) -> tuple[dict[str, str], dict[str, str]]:
    """Headers for a site (submit) and a moderation tool (moderate)."""
    with services(app).sessions() as session, session.begin():
        submit = {"Authorization": f"Bearer {create_key(session, 'site')}"}
        moderate = {"Authorization": f"Bearer {create_key(session, 'mods', ('moderate',))}"}
    return submit, moderate


def at_once(app: Flask, calls: list[Callable[[FlaskClient], Any]]) -> list[Any]:
    """Run each call in its own thread with its own client, released together; results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(n: int) -> None:
        client = app.test_client()
        barrier.wait()
        results[n] = calls[n](client)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def reporting(submit: dict, cid: str, reporter: str, reason: str) -> Callable[[FlaskClient], Any]:
    """A reader's report, to run in a thread."""

    def call(client: FlaskClient) -> Any:
        body = {"reporter_id": reporter, "reason": reason}
        resp = client.post(f"/api/v1/comments/{cid}/reports", json=body, headers=submit)
        return resp.status_code, resp.get_json()

    return call


def audit_actions(client: FlaskClient, moderate: dict, cid: str) -> list[str]:
    resp = client.get(f"/api/v1/comments/{cid}/audit", headers=moderate)
    assert resp.status_code == 200
    return [e["action"] for e in resp.get_json()["entries"]]


def test_many_readers_reporting_one_comment_at_once(pg_app) -> None:
    app = pg_app()
    submit, moderate = keys(app)
    client = app.test_client()
    readers = 30
    for n in range(5):
        cid = f"busy-{n}"
        post_comment(client, submit, cid, f"A fair point about the county budget, number {n}.")
        reason = "threat" if n % 2 else "insult"
        results = at_once(app, [reporting(submit, cid, f"reader-{n}-{r}", reason) for r in range(readers)])
        assert sorted(status for status, _ in results) == [201] * readers, results
        item = client.post(f"/api/v1/comments/{cid}/claim", headers=moderate).get_json()
        assert item["report_count"] == readers
        assert item["report_weight"] == pytest.approx(float(readers))  # 1.0 each: new reporters
        assert {r["reporter_id"] for r in item["reports"]} == {f"reader-{n}-{r}" for r in range(readers)}
        assert item["queue"] == "reported"
        actions = audit_actions(client, moderate, cid)
        assert actions.count("report") == readers
        if reason == "threat":  # hidden once, by whichever report crossed the line
            assert (item["status"], item["visible"]) == ("pending", False)
            assert actions.count("report-hide") == 1 and "report-queue" not in actions
        else:
            assert actions.count("report-queue") == 1 and "report-hide" not in actions


def test_one_reader_reporting_at_once_is_counted_once(pg_app) -> None:
    app = pg_app()
    submit, moderate = keys(app)
    client = app.test_client()
    for n in range(3):
        cid = f"twice-{n}"
        post_comment(client, submit, cid, f"A fair point about the county budget, number {n}.")
        results = at_once(app, [reporting(submit, cid, "eager-reader", "spam") for _ in range(12)])
        assert sorted(status for status, _ in results) == [200] * 11 + [201]
        assert {body["report_count"] for _, body in results} == {1}
        assert audit_actions(client, moderate, cid).count("report") == 1
