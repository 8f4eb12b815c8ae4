"""Per-key rate limits on the JSON API, so one site's runaway backfill cannot starve the others.

Each API key may make ``API_RATE_LIMIT`` requests per ``API_RATE_WINDOW_SECONDS`` (a key's own
``rate_limit`` overrides it; 0 is no limit). Requests are counted per key in a window that starts
with the key's first request, in Redis when ``REDIS_URL`` is set (every process shares the count)
and per process otherwise, with the counters the log-in throttle uses. Past the limit the API
answers ``429`` in the usual error shape with ``Retry-After``: the seconds left in the window.
Requests without a valid key are not counted here; they get their ``401`` from the view.
If Redis cannot be reached, requests are let through (and that is logged): a limit must not
take the API down.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import click
from flask import Flask, Response, current_app, request
from flask.cli import with_appcontext

from ..accounts.apikeys import ApiKeyError, Caller, set_rate_limit, verify_key_cached
from ..logs import RateLimitedLog
from .errors import error_response
from .extension import services
from .openapi import SCOPE
from .throttle import Counter, MemoryCounter, RedisCounter

log = logging.getLogger(__name__)


class RateLimiter:
    """Counts each key's requests and says how long to wait once it is over its limit."""

    def __init__(self, counter: Counter, default_limit: int, window: float) -> None:
        self.counter, self.default_limit, self.window = counter, default_limit, window
        self._log = RateLimitedLog(log)

    def limit_of(self, caller: Caller) -> int:
        """The key's own limit, else the default (0: none)."""
        return self.default_limit if caller.rate_limit is None else caller.rate_limit

    def wait(self, caller: Caller) -> float | None:
        """Count one request; None when it may go ahead, else the seconds until it may."""
        limit = self.limit_of(caller)
        if limit <= 0:
            return None
        try:
            count, left = self.counter.hit_window(f"ratelimit:{caller.name}", self.window)
        except Exception as exc:  # Redis away: serve rather than refuse everything
            self._log(logging.WARNING, "ratelimit", f"rate limit not counted: {type(exc).__name__}: {exc}")
            return None
        return left if count > limit else None


def _bearer() -> str | None:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return presented.strip() if scheme.lower() == "bearer" and presented.strip() else None


def _check() -> Any:
    """The before-request hook: 429 for a known key past its limit."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or SCOPE not in vars(view):  # only keyed API operations (not health, not pages)
        return None
    presented = _bearer()
    if presented is None:
        return None
    caller = verify_key_cached(
        services().sessions, presented, current_app.config["API_KEY_CACHE_SECONDS"]
    )  # cached: the view's own check then costs nothing
    if caller is None:
        return None
    limiter: RateLimiter = current_app.extensions["rate_limiter"]
    wait = limiter.wait(caller)
    if wait is None:
        return None
    seconds = max(1, math.ceil(wait))
    response: Response
    response, status = error_response(
        429,
        "rate_limited",
        f"this API key is over its limit of {limiter.limit_of(caller)} requests per "
        f"{limiter.window:g} s; retry after {seconds} s",
    )
    response.headers["Retry-After"] = str(seconds)
    return response, status


def init_app(app: Flask) -> None:
    """Count API requests per key, before any API view runs."""
    url = app.config["REDIS_URL"]
    counter: Counter = RedisCounter(url) if url else MemoryCounter()
    app.extensions["rate_limiter"] = RateLimiter(
        counter, app.config["API_RATE_LIMIT"], app.config["API_RATE_WINDOW_SECONDS"]
    )
    app.before_request(_check)


@click.command("set-limit")
@click.argument("name")
@click.argument("limit")
@with_appcontext
def set_limit_command(name: str, limit: str) -> None:
    """Set key NAME's rate limit: requests per API_RATE_WINDOW_SECONDS, 0 for none, or
    'default' for API_RATE_LIMIT."""
    value: int | None
    if limit == "default":
        value = None
    else:
        try:
            value = int(limit)
        except ValueError:
            raise click.BadParameter("a whole number, or 'default'", param_hint="LIMIT") from None
    try:
        with services().transaction() as session:
            set_rate_limit(session, name, value)
    except ApiKeyError as exc:
        raise click.ClickException(str(exc)) from None
    shown = "the default (API_RATE_LIMIT)" if value is None else ("no limit" if value == 0 else str(value))
    click.echo(f"{name}: {shown}", err=True)
