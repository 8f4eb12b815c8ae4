"""Moderator accounts: creation, password checks, roles, and their log-in sessions."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import rowcount
from ..models import AuditEntry, Moderator, ModeratorSession, utcnow

ROLES = ("moderator", "admin")
MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,80}$")
# last_seen_at is written at most this often, not on every request.
SEEN_EVERY = timedelta(minutes=1)


class ModeratorError(ValueError):
    """The account cannot be created or changed as asked."""


def create_moderator(session: Session, username: str, password: str, role: str = "moderator") -> Moderator:
    """Add a moderator with a hashed password."""
    if not _USERNAME.match(username):
        raise ModeratorError("usernames are 2-80 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise ModeratorError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ModeratorError(f"passwords need at least {MIN_PASSWORD} characters")
    if find_moderator(session, username) is not None:
        raise ModeratorError(f"a moderator named {username!r} already exists")
    moderator = Moderator(username=username, password_hash=generate_password_hash(password), role=role)
    session.add(moderator)
    session.flush()
    return moderator


def find_moderator(session: Session, username: str) -> Moderator | None:
    """A moderator by username."""
    return session.scalar(select(Moderator).where(Moderator.username == username))


@functools.cache
def _dummy_hash() -> str:
    """Checked when the username is unknown, so a wrong username takes as long as a wrong password.

    Made on the first log-in of a process, not when the module is imported (a tenth of a second
    of every command's start-up, for the one thing that logs in).
    """
    return generate_password_hash("not a real password")


def authenticate(session: Session, username: str, password: str) -> Moderator | None:
    """The moderator if the password is right and the account active."""
    dummy = _dummy_hash()  # before the look-up, so the first log-in costs the same either way
    moderator = find_moderator(session, username)
    if moderator is None:
        check_password_hash(dummy, password)
        return None
    if not check_password_hash(moderator.password_hash, password) or moderator.disabled_at is not None:
        return None
    return moderator


def set_disabled(session: Session, moderator: Moderator, disabled: bool) -> None:
    """Disable (or re-enable) an account; disabling also ends every session it has open."""
    moderator.disabled_at = utcnow() if disabled else None
    if disabled:
        revoke_sessions(session, moderator)


def set_password(session: Session, moderator: Moderator, password: str, actor: str) -> None:
    """An admin sets a new password; the moderator's open sessions end, and the audit log says who did it."""
    if len(password) < MIN_PASSWORD:
        raise ModeratorError(f"passwords need at least {MIN_PASSWORD} characters")
    moderator.password_hash = generate_password_hash(password)
    revoke_sessions(session, moderator)
    record_account_action(session, actor, "moderator-password", moderator)


def record_account_action(session: Session, actor: str, action: str, moderator: Moderator) -> None:
    """Audit what an admin did to an account (never a password)."""
    session.add(AuditEntry(action=action, actor=actor, details={"moderator": moderator.username}))


def list_moderators(session: Session) -> list[Moderator]:
    """All accounts, by username."""
    return list(session.scalars(select(Moderator).order_by(Moderator.username)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, moderator: Moderator, now: datetime | None = None) -> str:
    """Open a log-in and return its token for the cookie; only the token's SHA-256 is stored."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        ModeratorSession(
            token_sha256=_digest(token), moderator_id=moderator.id, created_at=now, last_seen_at=now
        )
    )
    session.flush()
    return token


def session_moderator(
    session: Session, token: str, lifetime: timedelta, now: datetime | None = None
) -> Moderator | None:
    """The moderator whose session this token opens: not revoked, younger than ``lifetime``, enabled.

    Marks the session seen, at most once every ``SEEN_EVERY``.
    """
    now = now or utcnow()
    row = session.execute(
        select(ModeratorSession, Moderator)
        .join(Moderator, Moderator.id == ModeratorSession.moderator_id)
        .where(ModeratorSession.token_sha256 == _digest(token))
    ).first()
    if row is None:
        return None
    login, moderator = row
    if (
        login.revoked_at is not None
        or moderator.disabled_at is not None
        or now - login.created_at >= lifetime
    ):
        return None
    if login.last_seen_at is None or now - login.last_seen_at >= SEEN_EVERY:
        login.last_seen_at = now
    return moderator


def end_session(session: Session, token: str, now: datetime | None = None) -> bool:
    """Revoke one session (logging out), so a copy of its cookie stops working; false if it was not live."""
    result = session.execute(
        update(ModeratorSession)
        .where(ModeratorSession.token_sha256 == _digest(token), ModeratorSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    return bool(rowcount(result))


def revoke_sessions(session: Session, moderator: Moderator, now: datetime | None = None) -> int:
    """Revoke every live session of a moderator; how many there were."""
    result = session.execute(
        update(ModeratorSession)
        .where(ModeratorSession.moderator_id == moderator.id, ModeratorSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    return rowcount(result)


def prune_sessions(session: Session, lifetime: timedelta, now: datetime | None = None) -> int:
    """Delete sessions past their lifetime (revoked or not): they can never be used again."""
    cutoff = (now or utcnow()) - lifetime
    result = session.execute(delete(ModeratorSession).where(ModeratorSession.created_at < cutoff))
    return rowcount(result)
