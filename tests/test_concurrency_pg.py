"""Real concurrency on PostgreSQL: many requests and workers in threads, each in its own transaction.

Row locks, lock order and SKIP LOCKED only matter where transactions truly overlap, so these tests
run against the PostgreSQL server only (the SQLite variants live beside the features' own tests).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from conftest import PG_ADMIN, TABLES, post_comment
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from test_webhooks import Receiver, acknowledged_in_order, decide

from moderation.accounts.apikeys import create_key
from moderation.models import WebhookDelivery
from moderation.web import create_app
from moderation.web.extension import services
from moderation.workflow.webhooks import run_worker

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


def deciding(moderate: dict, cid: str, action: str) -> Callable[[FlaskClient], Any]:
    """A decision without a revision, to run in a thread."""

    def call(client: FlaskClient) -> Any:
        body = {"action": action, **({"site_rule": "be_nice"} if action == "reject" else {})}
        resp = client.post(f"/api/v1/comments/{cid}/decision", json=body, headers=moderate)
        return resp.status_code, resp.get_json()

    return call


def test_decisions_without_revision_racing_apply_once(pg_app) -> None:
    app = pg_app()
    submit, moderate = keys(app)
    client = app.test_client()
    for n in range(5):
        cid = f"race-{n}"
        post_comment(client, submit, cid, f"You are a total moron, number {n}")
        actions = ["approve", "reject"] * 3
        results = at_once(app, [deciding(moderate, cid, action) for action in actions])
        assert sorted(status for status, _ in results) == [200] + [409] * 5, results
        winner = next(body for status, body in results if status == 200)
        decisions = [a for a in audit_actions(client, moderate, cid) if a in ("approve", "reject")]
        assert decisions == ["approve" if winner["status"] == "approved" else "reject"]
        stored = client.get(f"/api/v1/comments/{cid}", headers=submit).get_json()
        assert stored["status"] == winner["status"]


def started(app: Flask, call: Callable[[FlaskClient], Any], results: list[Any]) -> threading.Thread:
    """Run a call in a thread of its own, appending its result."""
    thread = threading.Thread(target=lambda: results.append(call(app.test_client())))
    thread.start()
    return thread


def waiting_on_locks(url: str) -> int:
    """How many sessions of this database wait for a lock."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_decisions_read_before_the_other_commits_are_refused(pg_app, pg_url: str) -> None:
    """Both requests read the comment, then queue on its row: the second sees it changed."""
    app = pg_app()
    submit, moderate = keys(app)
    client = app.test_client()
    for n in range(3):
        cid = f"held-{n}"
        post_comment(client, submit, cid, f"You are a total moron, number {n}")
        with psycopg.connect(pg_url) as holder:
            holder.execute("SELECT id FROM comments WHERE site_id = %s FOR UPDATE", (cid,))
            results: list[Any] = []
            threads = [started(app, deciding(moderate, cid, a), results) for a in ("approve", "reject")]
            deadline = time.monotonic() + 60
            while waiting_on_locks(pg_url) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert waiting_on_locks(pg_url) == 2  # both read the comment and wait for its row
            holder.rollback()
        for t in threads:
            t.join()
        assert sorted(status for status, _ in results) == [200, 409]
        loser = next(body for status, body in results if status == 409)
        assert "changed while your decision was being made" in loser["error"]["message"]
        decisions = [a for a in audit_actions(client, moderate, cid) if a in ("approve", "reject")]
        assert len(decisions) == 1


def test_two_workers_keep_each_comments_events_in_order(pg_app) -> None:
    receiver = Receiver(answer=lambda n: 500 if n % 3 == 1 else 204, pause=0.01)
    try:
        hooks = {"WEBHOOK_URL": receiver.url, "WEBHOOK_SECRET": "s", "WEBHOOK_RETRY_SECONDS": 0}
        app = pg_app(**hooks)
        submit, moderate = keys(app)
        client = app.test_client()
        comments = [f"c{n}" for n in range(12)]
        for cid in comments:
            post_comment(client, submit, cid, f"You are a total moron ({cid})")
        for action in ("reject", "undo", "approve", "undo"):
            for cid in comments:
                decide(client, moderate, cid, action)
        stop = threading.Event()
        delivered = [0, 0]
        workers = []
        for n in range(2):  # two processes' worth: an app (engine, pool) each
            svc = services(pg_app(**hooks))

            def count(counts: dict[str, int], n: int = n) -> None:
                delivered[n] += counts["delivered"]

            workers.append(
                threading.Thread(
                    target=run_worker,
                    args=(svc.sessions, svc.webhooks),
                    kwargs={"interval": 0.01, "stop": stop, "report": count, "batch": 5},
                )
            )
        for w in workers:
            w.start()
        deadline = time.monotonic() + 120
        while sum(delivered) < 4 * len(comments) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        for w in workers:
            w.join()
        assert receiver.overlaps == []  # never two events of one comment in flight at once
        assert acknowledged_in_order(receiver.hits) == {cid: [1, 2, 3, 4] for cid in comments}
        assert sum(delivered) == 4 * len(comments)
    finally:
        receiver.close()


def test_worker_rides_out_the_database_going_away(pg_app, pg_url: str, caplog) -> None:
    receiver = Receiver()
    name = pg_url.rsplit("/", 1)[1]
    try:
        app = pg_app(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET="s", WEBHOOK_RETRY_SECONDS=0)
        submit, moderate = keys(app)
        client = app.test_client()
        post_comment(client, submit, "before", "You are a total moron")
        post_comment(client, submit, "after", "You are a total moron too")
        decide(client, moderate, "before", "reject")
        svc = services(pg_app(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET="s"))
        stop = threading.Event()
        worker = threading.Thread(
            target=run_worker,
            args=(svc.sessions, svc.webhooks),
            kwargs={"interval": 0.02, "stop": stop, "max_wait": 0.2},
        )

        def wait_for(condition: Callable[[], bool]) -> None:
            deadline = time.monotonic() + 60
            while not condition() and time.monotonic() < deadline and worker.is_alive():
                time.sleep(0.02)
            assert condition()

        def unavailable() -> bool:
            return any("database unavailable" in r.getMessage() for r in caplog.records)

        def recorded_delivered() -> bool:
            with svc.sessions() as session:
                query = select(func.count()).where(WebhookDelivery.state == "delivered")
                return session.scalar(query) == 1

        with caplog.at_level(logging.INFO, logger="moderation.workflow.webhooks"):
            worker.start()
            # Cut the database only once the first delivery is stored as done: cut between the
            # receiver's 200 and that commit, the worker rightly sends it again (at least once).
            wait_for(lambda: len(receiver.hits) == 1 and recorded_delivered())
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                try:
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
                    )
                    wait_for(unavailable)
                finally:
                    admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            decide(client, moderate, "after", "reject")
            wait_for(lambda: len(receiver.hits) == 2)
            assert worker.is_alive()
            stop.set()
            worker.join()
        assert acknowledged_in_order(receiver.hits) == {"before": [1], "after": [1]}
        lines = [r.getMessage() for r in caplog.records if r.name == "moderation.workflow.webhooks"]
        assert sum("database unavailable" in line for line in lines) == 1
        assert sum("database back" in line for line in lines) == 1
    finally:
        receiver.close()
