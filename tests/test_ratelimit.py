"""Per-key API rate limits: 429 with Retry-After past the limit, per-key overrides, one key's
flood leaving the others alone, counted in Redis across processes when REDIS_URL is set."""

from __future__ import annotations

import uuid

import pytest
import redis
from flask import Flask

from moderation.accounts.apikeys import create_key
from moderation.web.extension import services
from moderation.web.throttle import RedisCounter

REDIS_URL = "redis://127.0.0.1:6379/0"


def new_key(app: Flask, scope: str = "submit", rate_limit: int | None = None) -> dict[str, str]:
    with services(app).sessions() as session, session.begin():
        key = create_key(session, f"k-{uuid.uuid4().hex[:8]}", (scope,), rate_limit)
    return {"Authorization": f"Bearer {key}"}


def score(app: Flask, headers: dict[str, str]):
    return app.test_client().post("/api/v1/score", json={"text": "Thanks for the report"}, headers=headers)


def statuses(app: Flask, headers: dict[str, str], n: int) -> list[int]:
    return [score(app, headers).status_code for _ in range(n)]


def assert_limited(response, limit: int, window: int = 60) -> None:
    assert response.status_code == 429
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == "rate_limited"
    assert f"limit of {limit} requests per {window} s" in body["error"]["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= window


def require_redis() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({exc}); .ci/run starts it")


def test_a_key_past_its_limit_gets_429_and_other_keys_do_not(make_app) -> None:
    app = make_app(API_RATE_LIMIT=3, API_RATE_WINDOW_SECONDS=60)
    flood, other = new_key(app), new_key(app)
    assert statuses(app, flood, 3) == [200, 200, 200]
    assert_limited(score(app, flood), 3)
    assert_limited(score(app, flood), 3)  # refused requests count too: a flood stays refused
    assert statuses(app, other, 3) == [200, 200, 200]  # another site is not starved
    client = app.test_client()
    assert client.get("/api/v1/health").status_code == 200  # no key, no limit
    bad = client.post("/api/v1/score", json={"text": "x"}, headers={"Authorization": "Bearer mk_nope_x"})
    assert bad.status_code == 401  # an unknown key is refused as before, not counted


def test_the_moderation_api_is_limited_per_key_too(make_app) -> None:
    app = make_app(API_RATE_LIMIT=2)
    mod = new_key(app, "moderate")
    client = app.test_client()
    got = [client.get("/api/v1/queue?state=pending", headers=mod) for _ in range(3)]
    assert [r.status_code for r in got[:2]] == [200, 200]
    assert_limited(got[2], 2)


def test_per_key_limits_override_the_default(make_app) -> None:
    app = make_app(API_RATE_LIMIT=3)
    runner = app.test_cli_runner()
    created = runner.invoke(args=["api-key", "create", "backfill", "--rate-limit", "1"])
    assert created.exit_code == 0, created.output
    backfill = {"Authorization": f"Bearer {created.stdout.strip()}"}
    assert score(app, backfill).status_code == 200
    assert_limited(score(app, backfill), 1)

    assert "backfill" in (listed := runner.invoke(args=["api-key", "list"]).stdout)
    assert "1 requests/60s" in listed and "(default)" not in listed

    assert runner.invoke(args=["api-key", "set-limit", "backfill", "0"]).exit_code == 0
    assert "no rate limit" in runner.invoke(args=["api-key", "list"]).stdout
    assert statuses(app, backfill, 6) == [200] * 6  # 0: no limit for this key
    assert runner.invoke(args=["api-key", "set-limit", "backfill", "default"]).exit_code == 0
    assert "3 requests/60s (default)" in runner.invoke(args=["api-key", "list"]).stdout
    # The default again, in the same window: unlimited requests were not counted, so the two
    # counted before leave one.
    assert score(app, backfill).status_code == 200
    assert_limited(score(app, backfill), 3)

    unknown = runner.invoke(args=["api-key", "set-limit", "nobody", "5"])
    assert unknown.exit_code == 1 and "no key named 'nobody'" in unknown.output
    bad = runner.invoke(args=["api-key", "set-limit", "backfill", "lots"])
    assert bad.exit_code == 2 and "a whole number" in bad.output


def test_limits_are_shared_through_redis_between_processes(make_app) -> None:
    require_redis()
    one = make_app(API_RATE_LIMIT=3, REDIS_URL=REDIS_URL)
    two = make_app(API_RATE_LIMIT=3, REDIS_URL=REDIS_URL)  # another process on the same database
    flood, other = new_key(one), new_key(one)
    assert statuses(one, flood, 2) == [200, 200]
    assert statuses(two, flood, 1) == [200]
    assert_limited(score(two, flood), 3)
    assert_limited(score(one, flood), 3)
    assert statuses(two, other, 3) == [200, 200, 200]


def test_memory_counts_are_per_process(make_app) -> None:
    one, two = make_app(API_RATE_LIMIT=2), make_app(API_RATE_LIMIT=2)
    key = new_key(one)
    assert statuses(one, key, 3) == [200, 200, 429]
    assert statuses(two, key, 2) == [200, 200]  # without Redis each process counts alone


def test_an_unreachable_redis_lets_requests_through(make_app) -> None:
    app = make_app(API_RATE_LIMIT=1, REDIS_URL="redis://127.0.0.1:1/0")
    key = new_key(app)
    assert statuses(app, key, 3) == [200, 200, 200]


def test_redis_window_reports_the_time_left() -> None:
    require_redis()
    counter = RedisCounter(REDIS_URL, f"test-{uuid.uuid4().hex[:8]}:")
    first, left = counter.hit_window("k", 30)
    second, left_again = counter.hit_window("k", 30)
    assert (first, second) == (1, 2)
    assert 0 < left_again <= left <= 30
    counter.reset("k")


def test_the_openapi_document_lists_429_on_keyed_operations(client) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    post = doc["paths"]["/api/v1/comments"]["post"]["responses"]
    assert "Retry-After" in post["429"]["headers"]
    assert "429" not in doc["paths"]["/api/v1/health"]["get"]["responses"]
