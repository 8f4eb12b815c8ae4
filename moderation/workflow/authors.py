"""Moderators' actions on authors: notes, pre-moderation, bans. Each is reversible and audited."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from ..categories import STATUSES
from ..models import AuditEntry, Author, AuthorNote, Comment, utcnow
from ..shapes import OneOf, Timestamp, shape

FLAGS = {"premoderated": ("premoderate", "unpremoderate"), "banned": ("ban", "unban")}


class AuthorActionError(LookupError):
    """The author or note does not exist."""


def _audit(
    session: Session, author: Author, actor: str, action: str, note: str | None = None, **details: Any
) -> None:
    session.add(
        AuditEntry(
            author_id=author.id,
            action=action,
            actor=actor,
            note=note,
            details=details or None,
            created_at=utcnow(),
        )
    )


def set_flag(
    session: Session, author: Author, flag: str, on: bool, actor: str, note: str | None = None
) -> bool:
    """Turn pre-moderation or a ban on or off; returns whether anything changed."""
    if flag not in FLAGS:
        raise ValueError(f"unknown flag {flag!r}")
    if getattr(author, flag) == on:
        return False
    setattr(author, flag, on)
    _audit(session, author, actor, FLAGS[flag][0 if on else 1], note)
    return True


def add_note(session: Session, author: Author, text: str, actor: str) -> AuthorNote:
    """Attach a moderator's note to an author."""
    note = AuthorNote(author_id=author.id, text=text, created_by=actor, created_at=utcnow())
    session.add(note)
    session.flush()
    _audit(session, author, actor, "note", text, note_id=note.id)
    return note


def remove_note(session: Session, author: Author, note_id: int, actor: str) -> AuthorNote:
    """Mark a note removed (it stays in the database and the audit log)."""
    note = session.get(AuthorNote, note_id)
    if note is None or note.author_id != author.id or note.removed_at is not None:
        raise AuthorActionError(f"no note {note_id} on this author")
    note.removed_at = utcnow()
    note.removed_by = actor
    _audit(session, author, actor, "note-remove", note_id=note.id)
    return note


@shape
class NotePayload(TypedDict):
    """A moderator's note on an author."""

    id: int
    text: str
    by: str
    at: Timestamp


@shape
class RecentComment(TypedDict):
    """One of an author's recent comments and its outcome."""

    id: str
    status: Annotated[str, OneOf(STATUSES)]
    visible: bool
    created_at: Timestamp
    decided_by: str | None


@shape
class AuthorPayload(TypedDict):
    """An author's state, notes and recent comments."""

    id: str
    name: str | None
    account_created_at: Timestamp | None
    first_seen_at: Timestamp
    comment_count: int
    rejected_count: int
    premoderated: bool
    banned: bool
    suspended: Annotated[bool, Field(description="suspended now: comments rejected until suspended_until")]
    suspended_until: Timestamp | None
    notes: list[NotePayload]
    recent_comments: list[RecentComment]


def author_summary(session: Session, author: Author, recent: int = 20) -> AuthorPayload:
    """An author's state, notes and recent comments with their outcomes."""
    notes = session.scalars(
        select(AuthorNote)
        .where(AuthorNote.author_id == author.id, AuthorNote.removed_at.is_(None))
        .order_by(AuthorNote.id.desc())
    )
    comments = session.scalars(
        select(Comment)
        .where(Comment.author_id == author.id)
        .order_by(Comment.created_at.desc())
        .limit(recent)
    )
    return {
        "id": author.site_id,
        "name": author.name,
        "account_created_at": author.account_created_at.isoformat() if author.account_created_at else None,
        "first_seen_at": author.first_seen_at.isoformat(),
        "comment_count": author.comment_count,
        "rejected_count": author.rejected_count,
        "premoderated": author.premoderated,
        "banned": author.banned,
        # A suspension ends by itself: "suspended" says whether it is still running.
        "suspended": author.suspended_until is not None and author.suspended_until > utcnow(),
        "suspended_until": author.suspended_until.isoformat() if author.suspended_until else None,
        "notes": [
            {"id": n.id, "text": n.text, "by": n.created_by, "at": n.created_at.isoformat()} for n in notes
        ],
        "recent_comments": [
            {
                "id": c.site_id,
                "status": c.status,
                "visible": c.visible,
                "created_at": c.created_at.isoformat(),
                "decided_by": c.decided_by,
            }
            for c in comments
        ],
    }
