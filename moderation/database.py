"""Engine and session set-up for SQLite and PostgreSQL."""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Result, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from . import jsontext


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain postgres:// and postgresql:// URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer
    cursor.execute("PRAGMA busy_timeout=10000")  # wait for the writer instead of failing
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, pool_size: int = 5, connect_timeout: float = 5) -> Engine:
    """Create an engine; SQLite files get WAL and a busy timeout, their folder is created.

    Query parameters (comment text, notes) never appear in SQLAlchemy's error messages, so no
    error that reaches a log carries them. PostgreSQL connections are checked before use (see
    :func:`_still_connected`), so a restarted database costs no failed request, and connecting
    gives up after ``connect_timeout`` seconds, so an unreachable one fails requests fast instead
    of piling them up.
    """
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            hide_parameters=True,
            json_serializer=jsontext.dumps,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A connect_timeout in DATABASE_URL's query string wins.
    timeout = {} if "connect_timeout" in parsed.query else {"connect_timeout": max(2, round(connect_timeout))}
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        hide_parameters=True,
        connect_args=timeout,
        json_serializer=jsontext.dumps,
    )
    event.listen(engine, "checkout", _still_connected)
    return engine


def _still_connected(dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: Any) -> None:
    """Refuse a pooled PostgreSQL connection that the server has let go (the pool then opens
    another), without a round trip.

    A server that stops, restarts or terminates a session tells the client (an error message,
    then the end of the stream) on a connection that is idle in the pool: the socket turns
    readable. An idle connection the server still serves has nothing to read. So one non-blocking
    poll of the socket does what SQLAlchemy's ``pool_pre_ping`` (a ``SELECT 1`` at every
    checkout: a fifth of a submission's round trips) did for a restart.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection is closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection or sent something while it was idle")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run through ``Session.execute`` matched.

    The session types every result as ``Result``; for these statements it is a ``CursorResult``
    (SQLAlchemy's documented idiom is this cast), which alone carries the count.
    """
    return cast(CursorResult[Any], result).rowcount


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def connection_transaction(factory: sessionmaker[Session]) -> Iterator[Connection]:
    """A Core connection of the sessions' engine in one transaction, committed on success, rolled
    back on error: for a path that runs only statements of its own (no ORM objects), without a
    Session's bookkeeping (a third of a short transaction's CPU on PostgreSQL)."""
    engine = factory.kw.get("bind")
    if not isinstance(engine, Engine):
        raise TypeError("the sessions are not bound to an engine")
    with engine.begin() as connection:
        yield connection
