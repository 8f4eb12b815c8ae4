"""A PostgreSQL outage: 503 with Retry-After in the error shape, quiet logs, recovery on its own.

The app reaches PostgreSQL through a TCP relay the test controls, so the database can drop a
connection in the middle of a statement, refuse new ones, and come back.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from conftest import TABLES, count_rows
from flask import Flask
from sqlalchemy import text

from moderation.accounts.apikeys import create_key
from moderation.database import make_engine
from moderation.web import create_app
from moderation.web.extension import services

SECRET = "Sekrit comment body 7f3a"  # must never reach a log


class Relay:
    """Forwards TCP connections to PostgreSQL until told to drop them."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.refusing = False
        self.drop_on: bytes | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_app: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_app and self.drop_on is not None and self.drop_on in data:
                    break  # the database "crashes" while this statement is on its way
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def drop_all(self) -> None:
        """Cut every open connection."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop relaying."""
        self._closed = True
        self.listener.close()
        self.drop_all()


@pytest.fixture
def pg_db(pg_url: str) -> str:
    """The session's PostgreSQL database, emptied."""
    with psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    return pg_url


@pytest.fixture
def relay(pg_db: str) -> Iterator[Relay]:
    """A relay in front of the test database."""
    relay = Relay(("127.0.0.1", 5432))
    yield relay
    relay.close()


def _app(url: str) -> Flask:
    return create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "test",
            "LOG_LEVEL": "WARNING",
            "TESTING": True,
            "MODERATION_MODEL": "none",
            "API_KEY_CACHE_SECONDS": 3600,  # the key stays verified while the database is away
        }
    )


@pytest.fixture
def relayed_app(relay: Relay, pg_db: str) -> Iterator[Flask]:
    """The app, connected to PostgreSQL through the relay."""
    host, _, database = pg_db.rpartition("/")
    app = _app(f"{host.rsplit(':', 1)[0]}:{relay.port}/{database}")
    yield app
    services(app).engine.dispose()


def _key(app: Flask) -> dict[str, str]:
    with services(app).sessions() as session, session.begin():
        key = create_key(session, f"k-{uuid.uuid4().hex[:6]}", ("submit", "moderate"))
    return {"Authorization": f"Bearer {key}"}


def _comment(cid: str, text: str = "A fair point about the budget.") -> dict:
    return {"id": cid, "text": text, "author": {"id": "u1"}, "article": {"id": "a1"}}


def _assert_unavailable(resp) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code == 503, resp.get_data(as_text=True)
    assert resp.get_json() == {
        "error": {"code": "database_unavailable", "message": "the database is unavailable; retry shortly"}
    }
    assert int(resp.headers["Retry-After"]) > 0


def _assert_quiet(records: list[logging.LogRecord]) -> None:
    for record in records:
        message = record.getMessage()
        assert SECRET not in message, message
        assert "parameters" not in message.lower(), message
        assert record.exc_info is None and record.exc_text is None, message
        assert "\n" not in message, message


def test_connection_lost_mid_statement_is_503_without_the_text_in_the_log(
    relayed_app: Flask, relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    client, headers = relayed_app.test_client(), _key(relayed_app)
    assert client.post("/api/v1/comments", json=_comment("c1"), headers=headers).status_code == 201
    relay.drop_on = SECRET.encode()
    with caplog.at_level(logging.INFO):
        resp = client.post("/api/v1/comments", json=_comment("c2", SECRET), headers=headers)
    _assert_unavailable(resp)
    _assert_quiet(caplog.records)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith("database unavailable, answering 503: "), errors
    relay.drop_on = None
    # The pool noticed the dead connection: the very next request works, and c2 was not half-stored.
    assert client.post("/api/v1/comments", json=_comment("c3"), headers=headers).status_code == 201
    assert client.get("/api/v1/comments/c2", headers=headers).status_code == 404
    assert count_rows(relayed_app, "comments") == 2


def test_database_down_is_503_logged_once_per_interval_then_recovers(
    relayed_app: Flask, relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    client, headers = relayed_app.test_client(), _key(relayed_app)
    assert client.post("/api/v1/comments", json=_comment("c1"), headers=headers).status_code == 201
    now = [1000.0]
    relayed_app.extensions["error_log"].clock = lambda: now[0]
    relay.refusing = True
    relay.drop_all()
    with caplog.at_level(logging.INFO):
        for n in range(10):
            _assert_unavailable(
                client.post("/api/v1/comments", json=_comment(f"d{n}", SECRET), headers=headers)
            )
            _assert_unavailable(client.get("/api/v1/comments/c1", headers=headers))
            _assert_unavailable(client.get("/api/v1/queue", headers=headers))
        health = client.get("/api/v1/health")
        assert health.status_code == 503 and health.get_json()["status"] == "unavailable"
        unavailable = [r for r in caplog.records if "database unavailable" in r.getMessage()]
        assert len(unavailable) == 1  # 30 failures, one line
        now[0] += 60
        _assert_unavailable(client.get("/api/v1/comments/c1", headers=headers))
    _assert_quiet(caplog.records)
    unavailable = [r.getMessage() for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(unavailable) == 2 and unavailable[1].endswith("(29 more since the last report)")

    relay.refusing = False  # the database is back: no restart needed
    assert client.post("/api/v1/comments", json=_comment("c2"), headers=headers).status_code == 201
    assert client.get("/api/v1/health").status_code == 200
    assert count_rows(relayed_app, "comments") == 2


def test_terminated_connections_cost_no_failed_request(pg_db: str, caplog: pytest.LogCaptureFixture) -> None:
    app = _app(pg_db)
    try:
        client, headers = app.test_client(), _key(app)
        for n in range(3):
            assert client.post("/api/v1/comments", json=_comment(f"c{n}"), headers=headers).status_code == 201
        database = pg_db.rsplit("/", 1)[1]
        with psycopg.connect(pg_db.replace("postgresql+psycopg", "postgresql"), autocommit=True) as admin:
            killed = admin.execute(
                # Waiting (up to 5 s) until each session has ended, as after a restart: the pool
                # tells a dead connection by its socket, and a session still ending is not dead yet.
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()) AS t",
                (database,),
            ).fetchone()
        assert killed is not None and killed[0] >= 1
        with caplog.at_level(logging.WARNING):
            assert client.post("/api/v1/comments", json=_comment("after"), headers=headers).status_code == 201
            assert client.get("/api/v1/queue", headers=headers).status_code == 200
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        services(app).engine.dispose()


def test_the_pool_keeps_a_live_connection_and_replaces_one_the_server_ended(pg_db: str) -> None:
    engine = make_engine(pg_db, pool_size=1)
    try:
        backend = "SELECT pg_backend_pid()"
        with engine.connect() as conn:
            first = conn.scalar(text(backend))
        with engine.connect() as conn:  # idle in the pool, still served: the same session
            assert conn.scalar(text(backend)) == first
        with psycopg.connect(pg_db.replace("postgresql+psycopg", "postgresql"), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (first,))
        with engine.connect() as conn:  # ended while idle: a new session, and no error
            second = conn.scalar(text(backend))
        assert second is not None and second != first
        with engine.connect() as conn:
            assert conn.scalar(text(backend)) == second
    finally:
        engine.dispose()


def test_an_unexpected_error_logs_one_traceback_per_interval(
    make_app, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    headers = _key(app)

    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("moderation.web.api.get_comment", broken)
    client = app.test_client()
    with caplog.at_level(logging.INFO):
        for _ in range(5):
            resp = client.get("/api/v1/comments/c1", headers=headers)
            assert resp.status_code == 500
            assert resp.get_json() == {"error": {"code": "internal", "message": "internal error"}}
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert logged[0].getMessage() == "unhandled RuntimeError on GET /api/v1/comments/c1"
