"""API keys: created once, shown once, stored as a SHA-256 of the secret, revocable."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..models import ApiKey, utcnow

SCOPES = ("submit", "moderate")
KEY_PREFIX = "mk_"
# Names go into URLs and log lines: no slashes, spaces or other characters that need escaping.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class ApiKeyError(ValueError):
    """A key cannot be created or revoked as asked."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who an authenticated request comes from."""

    name: str
    scopes: frozenset[str]
    rate_limit: int | None = None  # the key's own limit; None: the configured default


def _digest(secret: str) -> str:
    # Keys are 256-bit random, so a plain SHA-256 cannot be brute-forced;
    # a slow password hash would only slow every request.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session, name: str, scopes: tuple[str, ...] = ("submit",), rate_limit: int | None = None
) -> str:
    """Store a new key and return its plaintext, which is never stored."""
    name = name.strip()
    _check_limit(rate_limit)
    if not name:
        raise ApiKeyError("a key needs a name")
    if not _NAME.match(name):
        raise ApiKeyError(
            f"key names are 1-100 letters, digits, '.', '_' or '-' (starting with a letter or digit), "
            f"not {name[:100]!r}"
        )
    for scope in scopes:
        if scope not in SCOPES:
            raise ApiKeyError(f"unknown scope {scope!r} (use {', '.join(SCOPES)})")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ApiKeyError(f"a key named {name!r} already exists")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            name=name,
            prefix=prefix,
            secret_sha256=_digest(secret),
            scopes=" ".join(sorted(scopes)),
            rate_limit=rate_limit,
        )
    )
    session.flush()
    return f"{KEY_PREFIX}{prefix}_{secret}"


def verify_key(session: Session, presented: str) -> Caller | None:
    """The caller for a presented key, or None if it is unknown, malformed or revoked."""
    if not presented.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = presented[len(KEY_PREFIX) :].partition("_")
    if not sep or not secret:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_sha256, _digest(secret)):
        return None
    return Caller(key.name, frozenset(key.scopes.split()), key.rate_limit)


_CACHE: dict[str, tuple[float, Caller]] = {}
_CACHE_LIMIT = 10_000
clock = time.monotonic  # what the cache's expiry is measured on (tests move it on)


def verify_key_cached(sessions: sessionmaker[Session], presented: str, ttl: float) -> Caller | None:
    """verify_key, remembering valid keys for ``ttl`` seconds so most requests skip the database.

    A key revoked in another process keeps working there for at most ``ttl`` seconds; revoking
    in this process forgets every cached key at once.
    """
    digest = hashlib.sha256(presented.encode()).hexdigest()
    now = clock()
    hit = _CACHE.get(digest)
    if hit is not None and hit[0] > now:
        return hit[1]
    with sessions() as session:
        caller = verify_key(session, presented)
    if caller is not None and ttl > 0:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[digest] = (now + ttl, caller)
    return caller


def list_keys(session: Session) -> list[ApiKey]:
    """All keys, revoked ones included, oldest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_key(session: Session, name: str | None = None, key_id: int | None = None) -> ApiKey:
    """Revoke a key by name or by id (names made before names were checked may not fit a URL);
    it stops working at once."""
    if key_id is not None:
        key = session.get(ApiKey, key_id)
        if key is None:
            raise ApiKeyError(f"no key with id {key_id}")
    else:
        key = session.scalar(select(ApiKey).where(ApiKey.name == name))
        if key is None:
            raise ApiKeyError(f"no key named {name!r}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    _CACHE.clear()
    return key


def _check_limit(rate_limit: int | None) -> None:
    if rate_limit is not None and not 0 <= rate_limit <= 2_147_483_647:
        raise ApiKeyError("a rate limit is a whole number of requests from 0 (no limit) up")


def set_rate_limit(session: Session, name: str, rate_limit: int | None) -> None:
    """Set a key's own rate limit (None: the configured default, 0: none); other processes
    see it within API_KEY_CACHE_SECONDS, this one at once."""
    _check_limit(rate_limit)
    key = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise ApiKeyError(f"no key named {name!r}")
    key.rate_limit = rate_limit
    _CACHE.clear()
