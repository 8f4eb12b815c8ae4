"""Property-based fuzzing of the whole API from its own OpenAPI document, on PostgreSQL.

Schemathesis reads /api/v1/openapi.json and sends generated requests (valid and invalid, plus its
deterministic boundary cases) to the Flask app in-process (WSGI), with a key that has both scopes.
Every answer must be a documented status code with a body matching the documented schema, and never
a server error.

The suite runs a small, seeded sample; for a longer hunt:
`FUZZ_EXAMPLES=200 FUZZ_SEED=$RANDOM .venv/bin/python -m pytest -n 0 tests/test_fuzz_api.py`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import schemathesis
from conftest import TABLES
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from moderation.accounts.apikeys import create_key
from moderation.web import create_app
from moderation.web.extension import services

# Small enough for the suite on a loaded 2-core machine, and the same cases every run.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
SEED = int(os.environ.get("FUZZ_SEED", "20261130"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# The document as the app serves it (it does not depend on the database). It is loaded at import,
# not from a fixture: schemathesis' fixture-based loader fails under pytest 9 (Node._nodeid), so
# each test below is sent to the PostgreSQL app of the `fuzz_app` fixture instead.
_DOCUMENT_APP = create_app(
    {"DATABASE_URL": "sqlite://", "SECRET_KEY": "test", "LOG_LEVEL": "WARNING", "MODERATION_MODEL": "none"}
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _DOCUMENT_APP)
schema.config.generation.update(max_examples=MAX_EXAMPLES)
schema.config.seed = SEED


@pytest.fixture(scope="module")
def fuzz_app(pg_url: str) -> Iterator[Flask]:
    """The app over an emptied PostgreSQL database, with a key, a comment and an author to find."""
    with psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    app = create_app(
        {
            "DATABASE_URL": pg_url,
            "SECRET_KEY": "test",
            "LOG_LEVEL": "CRITICAL",
            "TESTING": True,
            "MODERATION_MODEL": "none",
        }
    )
    yield app
    services(app).engine.dispose()


@pytest.fixture(scope="module")
def fuzz_headers(fuzz_app: Flask) -> dict[str, str]:
    """A key with both scopes; a comment c1 by u1 exists."""
    with services(fuzz_app).sessions() as session, session.begin():
        key = create_key(session, f"fuzz-{uuid.uuid4().hex[:6]}", ("submit", "moderate"))
    headers = {"Authorization": f"Bearer {key}"}
    body = {"id": "c1", "text": "You total clown", "author": {"id": "u1"}, "article": {"id": "a1"}}
    assert fuzz_app.test_client().post("/api/v1/comments", json=body, headers=headers).status_code == 201
    return headers


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_answers_as_documented(case, fuzz_app: Flask, fuzz_headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=fuzz_headers, checks=CHECKS, app=fuzz_app)
