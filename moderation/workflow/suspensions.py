"""Suspending an author for a set time (their comments are rejected like a banned author's until the
time passes, then the suspension ends by itself), and rejecting an author's recent comments at once.

Both are audited on the author; each rejected comment also gets its own audited, webhook-pushed
decision (``decisions.decide``), so it can be undone one by one like any other decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEntry, Author, Comment, utcnow
from ..rules import RuleSet
from .audit import Notify
from .decisions import DecisionError, decide
from .queue import QueueConflict

# The longest suspension: anything longer is a ban, which a moderator lifts deliberately.
MAX_SUSPENSION = timedelta(days=365)
RECENT_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


class SuspensionError(ValueError):
    """The suspension's length is out of range."""


def suspended(author: Author, now: datetime | None = None) -> bool:
    """Whether the author's suspension is still running."""
    return author.suspended_until is not None and author.suspended_until > (now or utcnow())


def suspend(
    session: Session, author: Author, duration: timedelta, actor: str, note: str | None = None
) -> datetime:
    """Suspend the author from now for ``duration`` (replacing any running suspension); audited."""
    if not timedelta(minutes=1) <= duration <= MAX_SUSPENSION:
        raise SuspensionError("a suspension lasts from 1 minute to 365 days; for longer, ban the author")
    until = utcnow() + duration
    before = author.suspended_until
    author.suspended_until = until
    session.add(
        AuditEntry(
            author_id=author.id,
            action="suspend",
            actor=actor,
            note=note,
            details={
                "until": until.isoformat(),
                "hours": round(duration.total_seconds() / 3600, 2),
                "before": before.isoformat() if before else None,
            },
            created_at=utcnow(),
        )
    )
    return until


def lift_suspension(session: Session, author: Author, actor: str) -> bool:
    """End a running suspension now; returns whether there was one."""
    if not suspended(author):
        return False
    session.add(
        AuditEntry(
            author_id=author.id,
            action="unsuspend",
            actor=actor,
            details={"until": author.suspended_until.isoformat() if author.suspended_until else None},
            created_at=utcnow(),
        )
    )
    author.suspended_until = None
    return True


@dataclass(slots=True)
class RejectedRecent:
    """What "reject all recent comments" did: the comments rejected and those left alone, with why."""

    rejected: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def recent_comments(
    session: Session, author: Author, since: datetime, until: datetime | None = None
) -> list[Comment]:
    """The author's comments created from ``since`` to ``until`` that are not rejected yet, newest first."""
    query = select(Comment).where(
        Comment.author_id == author.id, Comment.created_at >= since, Comment.status != "rejected"
    )
    if until is not None:
        query = query.where(Comment.created_at <= until)
    return list(session.scalars(query.order_by(Comment.created_at.desc(), Comment.id.desc())))


def reject_recent(
    session: Session,
    author: Author,
    since: datetime,
    until: datetime,
    actor: str,
    rules: RuleSet,
    notify: Notify,
    site_rule: str,
    note: str | None = None,
) -> RejectedRecent:
    """Reject every comment the author posted from ``since`` to ``until`` that is not rejected yet, in
    one transaction (``until`` is when the moderator was shown the list, so nothing posted after it
    is rejected unseen).

    A comment someone else is reviewing right now is left alone (and named in the result). One
    author-level audit entry lists what was rejected, beside each comment's own decision.
    """
    broken = rules.site_rule(site_rule)
    if broken is None:
        raise DecisionError(f"unknown site rule {site_rule!r} (known: {', '.join(rules.site_rules)})")
    result = RejectedRecent()
    for comment in recent_comments(session, author, since, until):
        try:
            # Refused (before writing anything) only when someone else holds a live claim.
            decide(session, comment, actor, "reject", rules, notify, site_rule, note, comment.revision)
        except QueueConflict as exc:
            result.skipped.append((comment.site_id, str(exc)))
            continue
        result.rejected.append(comment.site_id)
    session.add(
        AuditEntry(
            author_id=author.id,
            action="reject-recent",
            actor=actor,
            site_rule=broken.title,
            note=note,
            details={
                "since": since.isoformat(),
                "until": until.isoformat(),
                "rejected": result.rejected,
                "skipped": [site_id for site_id, _ in result.skipped],
            },
            created_at=utcnow(),
        )
    )
    session.flush()
    return result
