"""Storing a submission: PostgreSQL writes it in two statements, SQLite in one per table; both
must leave the same rows, and concurrent submissions on PostgreSQL must count every comment once."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import TABLES
from flask import Flask
from sqlalchemy import JSON, Integer, bindparam, func, literal, select, text
from sqlalchemy.exc import DataError

from moderation.accounts.apikeys import create_key
from moderation.models import Article, AuditEntry, Author, Comment, RuleHit, utcnow
from moderation.web import create_app
from moderation.web.extension import services
from moderation.workflow.submission_store import DriverStatement, prepare

RULES = """\
site_rules: {clean: Keep it Clean, nice: Be Nice}
rules:
  - {id: frak, site_rule: clean, category: obscene, action: reject, when: {words: [frak]}}
  - {id: twit, site_rule: nice, category: insult, action: flag, when: {words: [twit, nitwit]}}
  - id: newcomer-link
    site_rule: nice
    category: spam
    action: hold
    when: {all: [{regex: 'https?://'}, {author: {comment_count: {lt: 2}}}]}
  - id: repeat-offender
    site_rule: nice
    category: spam
    action: hold
    when: {author: {rejected_count: {gte: 2}}}
  - {id: gorram, site_rule: clean, category: obscene, action: reject, mode: shadow, when: {words: [gorram]}}
"""

# (id, text, author, extra body fields): a flag with two spans, a shadow hit, rejections that
# count towards the author's rejected_count, an author's link before and after two comments, an
# article refreshed by a later comment, a comment without an article, a re-post of the same id.
SUBMISSIONS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("c1", "you twit, you utter nitwit", "ann", {"article": {"id": "a1", "title": "Story"}}),
    ("c2", "what a gorram mess", "ann", {"author": {"id": "ann", "name": "Ann"}}),
    ("c3", "see https://example.org", "bob", {"article": {"id": "a1", "url": "https://news.example/1"}}),
    ("c4", "frak this", "bob", {"author": {"id": "bob", "created_at": "2020-01-02T03:04:05Z"}}),
    ("c5", "frak that, gorram it", "bob", {"parent_id": "c3"}),
    ("c6", "a kind word on https://example.org", "bob", {"article": {"id": "a2", "title": "Other"}}),
    ("c1", "you twit, you utter nitwit", "ann", {"article": {"id": "a1", "title": "Story"}}),
]


def _app(url: str, rules: Path) -> Flask:
    return create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "test",
            "LOG_LEVEL": "WARNING",
            "TESTING": True,
            "MODERATION_MODEL": "none",
            "MODERATION_CONTRIBUTION_MODEL": "none",
            "MODEL_RELOAD_SECONDS": 0,
            "MODERATION_RULES": str(rules),
            "RULES_RELOAD_SECONDS": 0,
            "DB_POOL_SIZE": 10,
        }
    )


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    """The rules above, in a file of their own."""
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


@pytest.fixture
def pg_app(pg_url: str, rules_file: Path) -> Iterator[Flask]:
    """An app over the emptied PostgreSQL test database."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    app = _app(pg_url, rules_file)
    yield app
    services(app).models.close()
    services(app).engine.dispose()


@pytest.fixture
def sqlite_app(sqlite_template: Path, tmp_path: Path, rules_file: Path) -> Iterator[Flask]:
    """An app over a fresh SQLite file."""
    path = tmp_path / "store.db"
    shutil.copy(sqlite_template, path)
    app = _app(f"sqlite:///{path}", rules_file)
    yield app
    services(app).models.close()
    services(app).engine.dispose()


def _headers(app: Flask) -> dict[str, str]:
    with services(app).sessions() as session, session.begin():
        return {"Authorization": f"Bearer {create_key(session, 'site')}"}


def _submit_all(app: Flask) -> list[tuple[int, dict[str, Any]]]:
    client, headers = app.test_client(), _headers(app)
    answers = []
    for cid, comment_text, author, extra in SUBMISSIONS:
        body = {"id": cid, "text": comment_text, "author": {"id": author}, **extra}
        resp = client.post("/api/v1/comments", json=body, headers=headers)
        answers.append((resp.status_code, resp.get_json()))
    return answers


def _stored(app: Flask) -> dict[str, Any]:
    """Every row a submission writes, with row ids replaced by site ids and times by how they
    relate to the comment's own time."""
    with services(app).sessions() as session:
        authors = {a.id: a for a in session.scalars(select(Author))}
        articles = {a.id: a for a in session.scalars(select(Article))}
        comments = {c.id: c for c in session.scalars(select(Comment))}
        skip = {"id", "author_id", "article_id", "created_at", "updated_at"}
        out: dict[str, Any] = {
            "authors": {
                a.site_id: (
                    a.name,
                    a.account_created_at,
                    a.comment_count,
                    a.rejected_count,
                    a.premoderated,
                    a.banned,
                    a.suspended_until,
                    a.first_seen_at is not None,
                )
                for a in authors.values()
            },
            "articles": {a.site_id: (a.title, a.url) for a in articles.values()},
            "comments": {
                c.site_id: {
                    **{k: v for k, v in vars(c).items() if not k.startswith("_") and k not in skip},
                    "author": authors[c.author_id].site_id,
                    "article": articles[c.article_id].site_id if c.article_id else None,
                    "updated_is_created": c.updated_at == c.created_at,
                }
                for c in comments.values()
            },
            "audit": sorted(
                (
                    comments[e.comment_id].site_id if e.comment_id else None,
                    authors[e.author_id].site_id if e.author_id else None,
                    e.action,
                    e.actor,
                    e.from_status,
                    e.to_status,
                    e.from_visible,
                    e.to_visible,
                    e.site_rule,
                    e.reason,
                    e.note,
                    e.details,
                    e.comment_id is not None and e.created_at == comments[e.comment_id].created_at,
                )
                for e in session.scalars(select(AuditEntry))
            ),
            "hits": sorted(
                (
                    comments[h.comment_id].site_id,
                    h.rule,
                    h.mode,
                    h.category,
                    h.action,
                    h.spans,
                    h.day == comments[h.comment_id].created_at.date(),
                )
                for h in session.scalars(select(RuleHit))
            ),
        }
    return out


def test_postgresql_and_sqlite_store_the_same_rows(pg_app: Flask, sqlite_app: Flask) -> None:
    on_pg, on_sqlite = _submit_all(pg_app), _submit_all(sqlite_app)
    assert on_pg == on_sqlite
    assert [status for status, _ in on_pg] == [201] * 6 + [200]
    assert [body["status"] for _, body in on_pg] == [
        "flagged",
        "approved",
        "pending",
        "rejected",
        "rejected",
        "pending",  # bob now has two rejections
        "flagged",
    ]
    stored = _stored(pg_app)
    assert stored == _stored(sqlite_app)
    # What each statement wrote, spelled out once (the comparison above covers the rest).
    assert stored["authors"]["ann"][:4] == ("Ann", None, 2, 0)
    assert stored["authors"]["bob"][2:4] == (4, 2)
    assert stored["articles"] == {"a1": ("Story", "https://news.example/1"), "a2": ("Other", None)}
    assert stored["comments"]["c2"]["article"] is None
    assert stored["comments"]["c5"]["parent_site_id"] == "c3"
    assert stored["comments"]["c1"]["event_seq"] == 0 and stored["comments"]["c1"]["revision"] == 0
    assert len(stored["audit"]) == 6 and all(e[2] == "verdict" and e[-1] for e in stored["audit"])
    assert ("c1", "twit", "live", "insult", "flag", [[4, 8], [20, 26]], True) in stored["hits"]
    assert ("c2", "gorram", "shadow", "obscene", "reject", [[7, 13]], True) in stored["hits"]
    assert {h[0] for h in stored["hits"]} == {"c1", "c2", "c3", "c4", "c5", "c6"}


def test_conflicting_repost_writes_nothing(pg_app: Flask, sqlite_app: Flask) -> None:
    for app in (pg_app, sqlite_app):
        client, headers = app.test_client(), _headers(app)
        first = {"id": "c1", "text": "you twit", "author": {"id": "ann"}, "article": {"id": "a1"}}
        assert client.post("/api/v1/comments", json=first, headers=headers).status_code == 201
        before = _stored(app)
        other = {**first, "text": "other text", "author": {"id": "ann", "name": "Changed"}}
        resp = client.post("/api/v1/comments", json=other, headers=headers)
        assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "id_conflict"
        assert _stored(app) == before  # not even the author's name


def _post_at_once(app: Flask, threads_n: int, bodies: Callable[[int], list[dict[str, Any]]]) -> list[int]:
    """Each of ``threads_n`` threads, released together, posts its ``bodies(n)`` in order; the
    statuses, in no order."""
    headers = _headers(app)
    barrier = threading.Barrier(threads_n)
    statuses: list[int] = []
    lock = threading.Lock()

    def post(n: int) -> None:
        client = app.test_client()
        barrier.wait()
        for body in bodies(n):
            code = client.post("/api/v1/comments", json=body, headers=headers).status_code
            with lock:
                statuses.append(code)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_concurrent_comments_by_one_author_are_each_counted_once(pg_app: Flask) -> None:
    """Many threads post comments by one author, each id twice at once: every comment is stored,
    audited and counted once, and no post fails."""
    threads_n, per_thread = 8, 5

    def bodies(n: int) -> list[dict[str, Any]]:
        ids = [f"c{(n // 2) * per_thread + i}" for i in range(per_thread)]  # threads 2k, 2k+1: same ids
        return [{"id": cid, "text": f"a twit comment {cid}", "author": {"id": "ann"}} for cid in ids]

    statuses = _post_at_once(pg_app, threads_n, bodies)
    distinct = threads_n // 2 * per_thread
    assert sorted(statuses) == [200] * distinct + [201] * distinct
    stored = _stored(pg_app)
    assert len(stored["comments"]) == distinct
    assert stored["authors"]["ann"][2] == distinct
    assert len(stored["audit"]) == distinct
    assert sorted(h[0] for h in stored["hits"]) == sorted(stored["comments"])


def test_many_authors_posting_at_once_are_each_counted_once(pg_app: Flask) -> None:
    """24 threads post 5 comments each, three threads to an author, on three articles: the
    worker's groups store each comment once with its author's counts, as one at a time."""

    def bodies(n: int) -> list[dict[str, Any]]:
        return [
            {
                "id": f"p{n}-{k}",
                "text": f"frak this, take {n}-{k}" if k % 2 else f"The budget vote, take {n}-{k}.",
                "author": {"id": f"reader-{n % 8}"},
                "article": {"id": f"story-{k % 3}"},
            }
            for k in range(5)
        ]

    statuses = _post_at_once(pg_app, 24, bodies)
    assert statuses == [201] * 120
    stored = _stored(pg_app)
    assert len(stored["comments"]) == 120 and len(stored["audit"]) == 120
    assert sorted((site_id, row[2], row[3]) for site_id, row in stored["authors"].items()) == [
        (f"reader-{a}", 15, 6) for a in range(8)
    ]
    assert services(pg_app).submissions.grouped == 120


def test_a_comment_being_scored_locks_its_author_but_not_an_unchanged_article(
    pg_app: Flask, pg_url: str
) -> None:
    """While a comment is scored its transaction holds the author's row (so the author's next
    comment sees its count) but not its article's, unless it changes the article: comments on a
    busy article do not queue behind each other."""
    client, headers = pg_app.test_client(), _headers(pg_app)
    first = {"id": "c0", "text": "hello", "author": {"id": "ann"}, "article": {"id": "a1", "title": "Story"}}
    assert client.post("/api/v1/comments", json=first, headers=headers).status_code == 201
    params = {
        "comment_site_id": "c1",
        "author_site_id": "ann",
        "author_name": None,
        "author_created_at": None,
        "author_first_seen_at": utcnow(),
        "article_site_id": "a1",
        "article_title": "Story",
        "article_url": None,
    }

    def locked(conn: psycopg.Connection, table: str, site_id: str) -> bool:
        try:
            with conn.transaction():
                conn.execute(f"SELECT id FROM {table} WHERE site_id = %s FOR UPDATE NOWAIT", (site_id,))
        except psycopg.errors.LockNotAvailable:
            return True
        return False

    with psycopg.connect(pg_url, autocommit=True) as other:
        for title, article_locked in (("Story", False), (None, False), ("New title", True)):
            with services(pg_app).sessions() as session:
                prepared = prepare(session, {**params, "article_title": title}, with_article=True)
                assert prepared is not None and prepared.article_pk is not None
                assert prepared.author.comment_count == 1
                assert locked(other, "authors", "ann")
                assert locked(other, "articles", "a1") is article_locked
                session.rollback()


def test_driver_statements_bind_like_sqlalchemy_and_raise_its_errors(pg_app: Flask) -> None:
    """Values go through their column types (a naive time is UTC, a dict is JSON); a driver error
    is SQLAlchemy's, without the values (they may be a comment's text)."""
    dialect = services(pg_app).engine.dialect
    echo = DriverStatement(
        select(
            bindparam("at", type_=Comment.__table__.c.created_at.type).label("at"),
            func.json_extract_path_text(bindparam("doc", type_=JSON), "k").label("k"),
        ),
        dialect,
    )
    divide = DriverStatement(select(literal(1) / bindparam("zero", type_=Integer)), dialect)
    with services(pg_app).sessions() as session:
        session.execute(text("SET LOCAL TIME ZONE 'America/New_York'"))  # a naive time is still UTC
        [row] = echo.rows(session, {"at": datetime(2026, 1, 2, 3, 4, 5), "doc": {"k": "secret text"}})
        assert row.at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) and row.k == "secret text"
        with pytest.raises(DataError) as info:
            divide.rows(session, {"zero": 0})
        assert isinstance(info.value.orig, psycopg.errors.DivisionByZero)
        assert "parameters hidden" in str(info.value) and not info.value.connection_invalidated
