"""Fixtures: apps over a fresh SQLite or PostgreSQL database per test."""

from __future__ import annotations

import functools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.engine import make_url

from moderation.accounts.apikeys import create_key
from moderation.config import PROJECT_ROOT
from moderation.web import create_app
from moderation.web.extension import services

PG_ADMIN = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
# In CI an unreachable PostgreSQL fails the run; elsewhere its tests are skipped, saying why.
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
TABLES = ", ".join(
    [
        "model_versions",
        "moderator_sessions",
        "moderators",
        "rule_hits",
        "webhook_deliveries",
        "reports",
        "reporters",
        "author_notes",
        "audit_log",
        "comments",
        "authors",
        "articles",
        "api_keys",
    ]
)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@functools.cache
def _pg_unreachable() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None when the server answers (asked once)."""
    try:
        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL not reachable at {_shown(PG_ADMIN)} ({first})"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the PostgreSQL server `postgres` (`-m "not postgres"` leaves them out)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("db_url") == "postgresql"
        if on_pg or "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip `postgres` tests when no server answers, except in CI (CI=true), where they fail."""
    if item.get_closest_marker("postgres") is None or (reason := _pg_unreachable()) is None:
        return
    if IN_CI:
        pytest.fail(f"{reason}; CI=true, so the PostgreSQL tests must run", pytrace=False)
    pytest.skip(f"{reason}; set TEST_PG_ADMIN_URL or start it (CI fails instead)")


def _migrate(url: str, tmp: Path) -> None:
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "test",
            "LOG_LEVEL": "WARNING",
            "MODERATION_MODEL": "none",
            "MODERATION_CONTRIBUTION_MODEL": "none",
        }
    )
    with app.app_context():
        upgrade(directory=str(PROJECT_ROOT / "migrations"))
    services(app).engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    tmp = tmp_path_factory.mktemp("sqlite-template")
    path = tmp / "template.db"
    _migrate(f"sqlite:///{path}", tmp)
    return path


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL database of our own, migrated once for the session."""
    name = f"moderation_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {_shown(PG_ADMIN)} ({exc}); .ci/run starts it")
    admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        _migrate(url, tmp_path_factory.mktemp("pg"))
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_url")
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    return url


@pytest.fixture
def make_app(db_url: str) -> Iterator[Callable[..., Flask]]:
    """Build apps over the test database with config overrides."""
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        # Rules alone unless a test asks for a model: the classifier has tests of its own.
        config = {
            "DATABASE_URL": db_url,
            "SECRET_KEY": "test",
            "LOG_LEVEL": "WARNING",
            "TESTING": True,
            "MODERATION_MODEL": "none",
            "MODERATION_CONTRIBUTION_MODEL": "none",
            "MODEL_RELOAD_SECONDS": 0,  # no polling thread outliving the test; tests of it set one
        }
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        services(app).models.close()  # before the pool goes: a check in progress returns its connection
        services(app).engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The app with the shipped rules."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


@pytest.fixture
def api_key(app: Flask) -> str:
    """A fresh submit key."""
    with services(app).sessions() as session, session.begin():
        return create_key(session, f"test-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def auth(api_key: str) -> dict[str, str]:
    """Headers carrying the key."""
    return {"Authorization": f"Bearer {api_key}"}


def count_rows(app: Flask, table: str) -> int:
    """Rows in a table (for checking what was stored)."""
    with services(app).sessions() as session:
        return session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A classifier trained on the tiny fixture corpus (independent of the shipped artifact)."""
    from moderation.classifier.train import train_and_save

    path = tmp_path_factory.mktemp("model") / "tiny.skops"
    train_and_save(path, corpus_dir=FIXTURES / "tiny_corpus", holdout=0, min_df=1, progress=lambda _: None)
    return path


@pytest.fixture
def mod_auth(app: Flask) -> dict[str, str]:
    """Headers with a key that may moderate."""
    with services(app).sessions() as session, session.begin():
        return {
            "Authorization": f"Bearer {create_key(session, f'mod-{uuid.uuid4().hex[:6]}', ('moderate',))}"
        }


def ban_author(app: Flask, author: str) -> None:
    """An author the database knows (one comment posted), banned through the API."""
    with services(app).sessions() as session, session.begin():
        submit = {"Authorization": f"Bearer {create_key(session, f'site-{uuid.uuid4().hex[:6]}')}"}
        moderate = {
            "Authorization": f"Bearer {create_key(session, f'mod-{uuid.uuid4().hex[:6]}', ('moderate',))}"
        }
    client = app.test_client()
    post_comment(client, submit, f"by-{author}", "First!", author=author)
    assert client.put(f"/api/v1/authors/{author}/ban", headers=moderate).status_code == 200


def post_comment(
    client: FlaskClient, auth: dict[str, str], cid: str, text: str, author: str = "u1", **extra: Any
):
    """Submit a comment and return the JSON verdict."""
    body = {
        "id": cid,
        "text": text,
        "author": {"id": author},
        "article": {"id": "a1", "title": "Story"},
        **extra,
    }
    resp = client.post("/api/v1/comments", json=body, headers=auth)
    assert resp.status_code in (200, 201), resp.get_json()
    return resp.get_json()


MOD_PASSWORD = "correct horse battery"


def make_moderator(app: Flask, username: str = "mo", role: str = "moderator") -> None:
    """A review-page account with MOD_PASSWORD."""
    from moderation.accounts.moderators import create_moderator

    with services(app).sessions() as session, session.begin():
        create_moderator(session, username, MOD_PASSWORD, role)


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    """The CSRF token a page carries (in its csrf-token meta tag)."""
    import re

    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
