"""Failed log-ins are limited per username and address, across processes through Redis."""

from __future__ import annotations

import uuid

import pytest
import redis
from test_review_views import PASSWORD, make_moderator, token

from moderation.web.throttle import LoginThrottle, MemoryCounter, RedisCounter

REDIS_URL = "redis://127.0.0.1:6379/0"


def attempt(client, password: str) -> int:
    return client.post(
        "/login", data={"username": "mo", "password": password, "csrf_token": token(client)}
    ).status_code


def test_review_login_is_throttled(make_app) -> None:
    app = make_app(LOGIN_MAX_FAILURES=3)
    make_moderator(app)
    client = app.test_client()
    assert [attempt(client, "wrong") for _ in range(3)] == [401, 401, 401]
    blocked = client.post(
        "/login", data={"username": "mo", "password": PASSWORD, "csrf_token": token(client)}
    )
    assert blocked.status_code == 429  # even the right password, until the window passes
    assert "Too many failed log-ins" in blocked.get_data(as_text=True)


def test_a_good_login_clears_the_count(make_app) -> None:
    app = make_app(LOGIN_MAX_FAILURES=3)
    make_moderator(app)
    client = app.test_client()
    assert [attempt(client, "wrong") for _ in range(2)] == [401, 401]
    assert attempt(client, PASSWORD) == 302
    client.post("/logout", data={"csrf_token": token(client, "/review/stats")})
    assert [attempt(client, "wrong") for _ in range(2)] == [401, 401]


def test_memory_counter_window_expires() -> None:
    counter = MemoryCounter()
    assert counter.hit("k", window=0.0) == 1
    assert counter.count("k") == 0  # the window has already passed
    assert counter.hit("k", window=60) == 1 and counter.hit("k", window=60) == 2


def test_redis_counter_is_shared_between_processes() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({exc}); .ci/run starts it")
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    one = LoginThrottle(RedisCounter(REDIS_URL, prefix), limit=2, window=60)
    two = LoginThrottle(RedisCounter(REDIS_URL, prefix), limit=2, window=60)  # another process's view
    one.failed("mo", "10.0.0.1")
    two.failed("mo", "10.0.0.1")
    assert one.blocked("mo", "10.0.0.1") and two.blocked("mo", "10.0.0.1")
    assert not one.blocked("mo", "10.0.0.2")
    one.succeeded("mo", "10.0.0.1")
    assert not two.blocked("mo", "10.0.0.1")
    ttl = redis.Redis.from_url(REDIS_URL).ttl(f"{prefix}login:mo:10.0.0.2")
    assert ttl == -2  # nothing stored for an address that never failed


def test_redis_backed_app(make_app) -> None:
    app = make_app(REDIS_URL=REDIS_URL, LOGIN_MAX_FAILURES=2)
    make_moderator(app)
    app.extensions["login_throttle"].counter._prefix = f"test-{uuid.uuid4().hex[:8]}:"
    client = app.test_client()
    assert [attempt(client, "wrong") for _ in range(3)] == [401, 401, 429]
