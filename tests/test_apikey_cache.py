"""Verified API keys are remembered per process for API_KEY_CACHE_SECONDS, so most requests skip
the key lookup; a revoked key must still stop working: here at once, elsewhere within that time."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import update

from moderation.accounts import apikeys
from moderation.accounts.apikeys import create_key, revoke_key, set_rate_limit
from moderation.models import ApiKey, utcnow
from moderation.web.extension import services

MakeApp = Callable[..., Flask]


class Clock:
    """The cache's clock, moved on by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Replace the key cache's clock."""
    fake = Clock()
    monkeypatch.setattr(apikeys, "clock", fake)
    return fake


def _key(app: Flask, name: str = "site") -> dict[str, str]:
    with services(app).sessions() as session, session.begin():
        return {"Authorization": f"Bearer {create_key(session, name)}"}


def _score(app: Flask, headers: dict[str, str]) -> int:
    return app.test_client().post("/api/v1/score", json={"text": "hello"}, headers=headers).status_code


def _revoke_elsewhere(app: Flask, name: str = "site") -> None:
    """Revoke as another process would: in the database, this process's cache untouched."""
    with services(app).sessions() as session, session.begin():
        session.execute(update(ApiKey).where(ApiKey.name == name).values(revoked_at=utcnow()))


def test_a_key_revoked_in_this_process_is_refused_at_once(make_app: MakeApp, clock: Clock) -> None:
    app = make_app(API_KEY_CACHE_SECONDS=60)
    headers = _key(app)
    assert _score(app, headers) == 200  # verified and remembered
    with services(app).sessions() as session, session.begin():
        revoke_key(session, "site")
    assert _score(app, headers) == 401


def test_a_key_revoked_elsewhere_is_refused_once_its_cache_time_is_up(
    make_app: Callable[..., Flask], clock: Clock
) -> None:
    app = make_app(API_KEY_CACHE_SECONDS=5)
    headers = _key(app)
    assert _score(app, headers) == 200
    _revoke_elsewhere(app)
    clock.now += 4.9
    assert _score(app, headers) == 200  # still trusted: the cache spares the lookup
    clock.now += 0.2
    assert _score(app, headers) == 401
    clock.now += 100
    assert _score(app, headers) == 401  # a refused key is never remembered as valid


def test_without_a_cache_time_every_request_checks_the_key(make_app: MakeApp, clock: Clock) -> None:
    app = make_app(API_KEY_CACHE_SECONDS=0)
    headers = _key(app)
    assert _score(app, headers) == 200
    _revoke_elsewhere(app)
    assert _score(app, headers) == 401


def test_a_forged_secret_with_a_cached_keys_prefix_is_refused(make_app: MakeApp, clock: Clock) -> None:
    app = make_app(API_KEY_CACHE_SECONDS=60)
    headers = _key(app)
    assert _score(app, headers) == 200
    real = headers["Authorization"]
    forged = real[:-4] + ("BBBB" if real.endswith("AAAA") else "AAAA")
    assert _score(app, {"Authorization": forged}) == 401


def test_a_new_rate_limit_applies_at_once_in_this_process(make_app: MakeApp, clock: Clock) -> None:
    app = make_app(API_KEY_CACHE_SECONDS=60, API_RATE_LIMIT=0)
    headers = _key(app)
    assert _score(app, headers) == 200
    with services(app).sessions() as session, session.begin():
        set_rate_limit(session, "site", 1)
    assert _score(app, headers) == 200
    assert _score(app, headers) == 429
