"""Moderator accounts: creation, password checks, roles."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .store import Moderator, utcnow

ROLES = ("moderator", "admin")
MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,80}$")
# Checked when the username is unknown, so a wrong username takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password")


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


def authenticate(session: Session, username: str, password: str) -> Moderator | None:
    """The moderator if the password is right and the account active."""
    moderator = find_moderator(session, username)
    if moderator is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(moderator.password_hash, password) or moderator.disabled_at is not None:
        return None
    return moderator


def set_disabled(session: Session, moderator: Moderator, disabled: bool) -> None:
    """Disable (or re-enable) an account; a disabled moderator cannot log in."""
    moderator.disabled_at = utcnow() if disabled else None


def list_moderators(session: Session) -> list[Moderator]:
    """All accounts, by username."""
    return list(session.scalars(select(Moderator).order_by(Moderator.username)))
