"""Concurrent posts of one id store one comment (each post runs in its own transaction)."""

from __future__ import annotations

import threading

from conftest import count_rows
from flask import Flask


def test_concurrent_duplicate_posts_store_one_comment(app: Flask, auth: dict) -> None:
    rounds, posters = 5, 6
    for n in range(rounds):
        body = {
            "id": f"race-{n}",
            "text": "Same text, posted twice by a retrying backend",
            "author": {"id": f"racer-{n}"},
            "article": {"id": "race-article"},
        }
        barrier = threading.Barrier(posters)
        statuses: list[int] = []
        lock = threading.Lock()

        def post(
            body: dict = body,
            barrier: threading.Barrier = barrier,
            statuses: list[int] = statuses,
            lock: threading.Lock = lock,
        ) -> None:
            client = app.test_client()
            barrier.wait()
            resp = client.post("/api/v1/comments", json=body, headers=auth)
            with lock:
                statuses.append(resp.status_code)

        threads = [threading.Thread(target=post) for _ in range(posters)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == [200] * (posters - 1) + [201]
    assert count_rows(app, "comments") == rounds
    assert count_rows(app, "audit_log") == rounds
    assert count_rows(app, "authors") == rounds
    assert count_rows(app, "articles") == 1
