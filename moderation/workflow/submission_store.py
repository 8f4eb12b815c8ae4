"""The statements that store a submitted comment, built once per dialect.

A submission reads the author before its verdict and writes the comment, its audit entry, the
author's counters and its rule hits after it. On PostgreSQL each half is one statement (the
writes are data-modifying CTEs), so a comment costs two statements between BEGIN and COMMIT;
SQLite has no such CTEs and runs them one by one. Either way they run in the caller's
transaction, and the author row the first half upserts stays locked until it commits, so
concurrent comments by one author see each other's counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any
from typing import cast as cast_type

from sqlalchemy import (
    JSON,
    ClauseElement,
    Connection,
    Integer,
    Select,
    Table,
    bindparam,
    cast,
    column,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from ..models import Article, AuditEntry, Author, Comment, RuleHit

AUTHOR_COLUMNS = (
    "id",
    "account_created_at",
    "comment_count",
    "rejected_count",
    "premoderated",
    "banned",
    "suspended_until",
)
# The rule_hits columns a hit row gives (comment_id and day come from the comment).
HIT_COLUMNS = ("rule", "mode", "category", "action", "spans")


def _insert_for(dialect: str) -> Callable[[Table], postgresql.Insert | sqlite.Insert]:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _dialect(session: Session | Connection) -> Dialect:
    return session.dialect if isinstance(session, Connection) else session.get_bind().dialect


def dialect_insert(session: Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    """INSERT ... ON CONFLICT for the session's dialect."""
    return _insert_for(session.get_bind().dialect.name)(table)


@dataclass(frozen=True, slots=True)
class Prepared:
    """The rows a new comment refers to."""

    author: Any  # a row of AUTHOR_COLUMNS
    article_pk: int | None


@dataclass(frozen=True, slots=True)
class Stored:
    """What :func:`store_many` needs besides the comment's columns."""

    author_pk: int
    rejected: bool
    audit: Mapping[str, Any]  # the audit_log row, without comment_id
    hits: list[dict[str, Any]]  # rule_hits rows, without comment_id and day


def _author_upsert(dialect: str) -> Any:
    """INSERT the author, or refresh name and account date; RETURNING what the rules need."""
    authors = Author.__table__
    new = _insert_for(dialect)(authors)
    return new, {
        "name": func.coalesce(new.excluded.name, authors.c.name),
        "account_created_at": func.coalesce(new.excluded.account_created_at, authors.c.account_created_at),
    }


def _article_upsert(dialect: str) -> Any:
    articles = Article.__table__
    new = _insert_for(dialect)(articles)
    return new, {
        "title": func.coalesce(new.excluded.title, articles.c.title),
        "url": func.coalesce(new.excluded.url, articles.c.url),
    }


@cache
def _separate(dialect: str) -> dict[str, Any]:
    """One statement per step (SQLite): values are bound at execution, compiled once."""
    authors, articles, comments = Author.__table__, Article.__table__, Comment.__table__
    new_author, author_set = _author_upsert(dialect)
    new_article, article_set = _article_upsert(dialect)
    return {
        "existing": select(comments.c.id).where(comments.c.site_id == bindparam("site_id")),
        "author": new_author.on_conflict_do_update(index_elements=["site_id"], set_=author_set).returning(
            *(authors.c[name] for name in AUTHOR_COLUMNS)
        ),
        "article": new_article.on_conflict_do_update(index_elements=["site_id"], set_=article_set).returning(
            articles.c.id
        ),
        "comment": _insert_for(dialect)(comments)
        .on_conflict_do_nothing(index_elements=["site_id"])
        .returning(comments.c.id),
        "audit": insert(AuditEntry.__table__),
        "counters": update(authors)
        .where(authors.c.id == bindparam("author_pk"))
        .values(
            comment_count=authors.c.comment_count + 1,
            rejected_count=authors.c.rejected_count + bindparam("rejected", type_=Integer),
        ),
        "hits": insert(RuleHit.__table__),
    }


def _typed(table: Table, name: str, key: str | None = None) -> Any:
    """A bound value typed as ``table.name`` (so PostgreSQL gets a cast, JSON gets serialised)."""
    return bindparam(key or name, type_=table.c[name].type)


@cache
def _prepare_pg(with_article: bool) -> Select[Any]:
    """Before the verdict, one statement: unless the comment id is taken, upsert the author (and
    the article); one row of the author's columns (and ``article_pk``), no row if it is taken."""
    authors, articles, comments = Author.__table__, Article.__table__, Comment.__table__
    taken = exists(select(comments.c.id).where(comments.c.site_id == bindparam("comment_site_id")))
    new_author, author_set = _author_upsert("postgresql")
    author_values = select(
        _typed(authors, "site_id", "author_site_id"),
        _typed(authors, "name", "author_name"),
        _typed(authors, "account_created_at", "author_created_at"),
        _typed(authors, "first_seen_at", "author_first_seen_at"),
        literal(0, Integer),
        literal(0, Integer),
        false(),
        false(),
    ).where(~taken)
    author = (
        new_author.from_select(
            [
                "site_id",
                "name",
                "account_created_at",
                "first_seen_at",
                "comment_count",
                "rejected_count",
                "premoderated",
                "banned",
            ],
            author_values,
        )
        .on_conflict_do_update(index_elements=["site_id"], set_=author_set)
        .returning(*(authors.c[name] for name in AUTHOR_COLUMNS))
        .cte("author")
    )
    if not with_article:
        return select(author, cast(null(), Integer).label("article_pk"))
    # An article that is stored as sent is only read: an upsert would write its row again and
    # hold its lock until commit, queueing every comment on a busy article behind the one
    # being scored.
    title, url = _typed(articles, "title", "article_title"), _typed(articles, "url", "article_url")
    unchanged = (
        select(articles.c.id)
        .where(
            articles.c.site_id == _typed(articles, "site_id", "article_site_id"),
            or_(title.is_(None), articles.c.title == title),
            or_(url.is_(None), articles.c.url == url),
        )
        .cte("unchanged")
    )
    new_article, article_set = _article_upsert("postgresql")
    article_values = select(_typed(articles, "site_id", "article_site_id"), title, url).where(
        ~taken, ~exists(select(unchanged.c.id))
    )
    article = (
        new_article.from_select(["site_id", "title", "url"], article_values)
        .on_conflict_do_update(index_elements=["site_id"], set_=article_set)
        .returning(articles.c.id)
        .cte("article")
    )
    # The author CTE is read first, so every submission locks its author before its article.
    article_pk = func.coalesce(
        select(article.c.id).scalar_subquery(), select(unchanged.c.id).scalar_subquery()
    )
    return select(author, article_pk.label("article_pk"))


@cache
def _store_pg(columns: tuple[str, ...]) -> Select[Any]:
    """After the verdict, one statement: insert the comment unless its id is taken meanwhile, and
    with it its audit entry, the author's counters and its rule hits (passed as one JSON array);
    returns the new comment's id, no row if the id was taken."""
    authors, comments, audit_log, rule_hits = (
        Author.__table__,
        Comment.__table__,
        AuditEntry.__table__,
        RuleHit.__table__,
    )
    # Python-side defaults are only applied to a statement's own INSERT, not one in a CTE.
    defaults = {
        c.name: literal(c.default.arg, c.type)
        for c in comments.columns
        if c.name not in columns and isinstance(c.default, ScalarElementColumnDefault)
    }
    comment = (
        postgresql.insert(comments)
        .values({**defaults, **{name: _typed(comments, name, f"comment_{name}") for name in columns}})
        .on_conflict_do_nothing(index_elements=["site_id"])
        .returning(comments.c.id)
        .cte("comment")
    )
    audit_columns = [c.name for c in audit_log.columns if c.name not in ("id", "comment_id")]
    audit = (
        insert(audit_log)
        .from_select(
            ["comment_id", *audit_columns],
            select(comment.c.id, *(_typed(audit_log, name, f"audit_{name}") for name in audit_columns)),
        )
        .cte("audit")
    )
    counters = (
        update(authors)
        .where(authors.c.id == bindparam("author_pk", type_=Integer), exists(select(comment.c.id)))
        .values(
            comment_count=authors.c.comment_count + 1,
            rejected_count=authors.c.rejected_count + bindparam("rejected", type_=Integer),
        )
        .cte("counters")
    )
    hit_rows = (
        func.json_to_recordset(bindparam("hits", type_=JSON))
        .table_valued(*(column(name, rule_hits.c[name].type) for name in HIT_COLUMNS))
        .render_derived(name="hit", with_types=True)
    )
    hits = (
        insert(rule_hits)
        .from_select(
            ["comment_id", *HIT_COLUMNS, "day"],
            select(
                comment.c.id, *(hit_rows.c[name] for name in HIT_COLUMNS), _typed(rule_hits, "day", "hit_day")
            )
            .select_from(comment)
            .join(hit_rows, true()),
        )
        .cte("hits")
    )
    return select(comment.c.id).add_cte(audit, counters, hits)


class DriverStatement:
    """A Core statement compiled once, run on the DBAPI cursor of the session's connection.

    For a statement this size, SQLAlchemy's per-execution work (parameter and result set-up,
    events) costs more CPU than sending it; here bound values only go through their types' bind
    processors (UTC timestamps, JSON), as SQLAlchemy would put them, and driver errors come out
    as SQLAlchemy's (a dropped connection invalidated), as from ``Session.execute``.
    """

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = cast_type(SQLCompiler, statement.compile(dialect=dialect))  # a SELECT's compiler
        self.sql = compiled.string
        self.constants = {name: b.effective_value for name, b in compiled.binds.items() if not b.required}
        self.processors = [
            (name, process)
            for name, b in compiled.binds.items()
            if (process := b.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        ]

    def values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The driver's values for ``params``: the constants added, bind processors applied."""
        values = {**self.constants, **params}
        for name, process in self.processors:
            values[name] = process(values[name])
        return values

    def rows(self, session: Session | Connection, params: Mapping[str, Any]) -> list[Any]:
        """Execute in the session's (or the connection's) transaction; the result rows as named
        tuples."""
        return run_statements(session, [(self, params)])[0]


def run_statements(
    session: Session | Connection, calls: Sequence[tuple[DriverStatement, Mapping[str, Any]]]
) -> list[list[Any]]:
    """Run statements in order in the session's (or the connection's) transaction; each one's
    rows as named tuples. Several are sent in one pipeline: one round trip to the server, not
    one a statement. A driver error (the first, if several fail) comes out as SQLAlchemy's."""
    if not calls:
        return []
    connection = session if isinstance(session, Connection) else session.connection()
    dialect = connection.dialect
    dbapi_connection = connection.connection
    driver = dbapi_connection.driver_connection
    assert driver is not None  # None only once the connection is closed or invalidated
    # Imported here, not at the top: only PostgreSQL runs this, and a SQLite process (`flask
    # score`, a site's first run) need not import the driver.
    from psycopg.rows import namedtuple_row

    cursors = []
    sql, values = calls[0][0].sql, {}
    try:
        with driver.pipeline() if len(calls) > 1 else nullcontext():
            for statement, params in calls:
                sql, values = statement.sql, statement.values(params)
                cursor = driver.cursor(row_factory=namedtuple_row)
                cursors.append(cursor)
                cursor.execute(sql, values)
        return [cursor.fetchall() for cursor in cursors]
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, dbapi_connection, cursors[-1] if cursors else None)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            sql,
            values,
            exc,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=dialect,
        ) from exc
    finally:
        for cursor in cursors:
            cursor.close()


@lru_cache(maxsize=32)  # per engine (its dialect's JSON serialiser); one engine in a server
def _driver(name: str, dialect: Dialect, variant: Any) -> DriverStatement:
    statement = _prepare_pg(variant) if name == "prepare" else _store_pg(variant)
    return DriverStatement(statement, dialect)


def prepare(session: Session | Connection, params: Mapping[str, Any], with_article: bool) -> Prepared | None:
    """Upsert the author (and the article) unless the comment id is taken.

    ``params``: ``comment_site_id``, ``author_site_id``, ``author_name``, ``author_created_at``,
    ``author_first_seen_at`` and, with an article, ``article_site_id``, ``article_title``,
    ``article_url`` (no name is a column's: SQLAlchemy would take it as a value to set).
    Returns the author's row and the article's id, or None if the comment id is taken.
    """
    return prepare_many(session, [(params, with_article)])[0]


def prepare_many(
    session: Session | Connection, requests: Sequence[tuple[Mapping[str, Any], bool]]
) -> list[Prepared | None]:
    """:func:`prepare` for several comments in order, in one round trip on PostgreSQL.

    Each ``(params, with_article)`` locks its author (and a changed article) until the
    transaction ends: a caller sends its comments in one global order (by author) so that two
    groups cannot each hold a row the other waits for.
    """
    bind_dialect = _dialect(session)
    if bind_dialect.name == "postgresql":
        calls = [
            (_driver("prepare", bind_dialect, with_article), params) for params, with_article in requests
        ]
        return [
            Prepared(rows[0], rows[0].article_pk) if rows else None for rows in run_statements(session, calls)
        ]
    return [_prepare_separately(session, params, with_article) for params, with_article in requests]


def _prepare_separately(
    session: Session | Connection, params: Mapping[str, Any], with_article: bool
) -> Prepared | None:
    statements = _separate(_dialect(session).name)
    if session.execute(statements["existing"], {"site_id": params["comment_site_id"]}).first() is not None:
        return None
    author = session.execute(
        statements["author"],
        {
            "site_id": params["author_site_id"],
            "name": params["author_name"],
            "account_created_at": params["author_created_at"],
            "first_seen_at": params["author_first_seen_at"],
            "comment_count": 0,
            "rejected_count": 0,
            "premoderated": False,
            "banned": False,
        },
    ).one()
    article_pk = None
    if with_article:
        article = {
            "site_id": params["article_site_id"],
            "title": params["article_title"],
            "url": params["article_url"],
        }
        article_pk = session.execute(statements["article"], article).scalar_one()
    return Prepared(author, article_pk)


def store_many(
    session: Session | Connection, comments: Sequence[tuple[Mapping[str, Any], Stored]]
) -> list[int | None]:
    """Insert each comment with its audit entry, counters and rule hits, in order (one round
    trip on PostgreSQL); each one's id, or None when its site id was taken by a concurrent
    submission (then nothing of it is written)."""
    bind_dialect = _dialect(session)
    if bind_dialect.name != "postgresql":
        return [_store_separately(session, values, stored) for values, stored in comments]
    calls = []
    for values, stored in comments:
        params = {
            **{f"comment_{name}": value for name, value in values.items()},
            **{f"audit_{name}": value for name, value in stored.audit.items()},
            "author_pk": stored.author_pk,
            "rejected": int(stored.rejected),
            "hits": stored.hits,
            "hit_day": values["created_at"].date(),
        }
        calls.append((_driver("store", bind_dialect, tuple(values)), params))
    return [rows[0].id if rows else None for rows in run_statements(session, calls)]


def _store_separately(session: Session | Connection, values: Mapping[str, Any], stored: Stored) -> int | None:
    statements = _separate(_dialect(session).name)
    inserted: int | None = session.execute(statements["comment"], values).scalar()
    if inserted is None:
        return None
    session.execute(statements["audit"], {**stored.audit, "comment_id": inserted})
    session.execute(statements["counters"], {"author_pk": stored.author_pk, "rejected": int(stored.rejected)})
    if stored.hits:
        day = values["created_at"].date()
        rows = [{**row, "comment_id": inserted, "day": day} for row in stored.hits]
        session.execute(statements["hits"], rows)
    return inserted
