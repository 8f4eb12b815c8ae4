"""Changing a comment's state: one place that writes the audit log and, when status or
visibility changed, the webhook outbox, in the caller's transaction (the ORM bumps the revision)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import update
from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from ..categories import STATUSES, VISIBLE_STATUSES
from ..models import AuditEntry, Comment, WebhookDelivery, utcnow
from ..shapes import OneOf, Timestamp, shape
from ..verdict import VerdictPayload
from .queue import QUEUE_STATES

STATUS_CHANGED = "comment.status_changed"
FEATURED_EVENT = "comment.featured"
UNFEATURED_EVENT = "comment.unfeatured"
WEBHOOK_EVENTS = (STATUS_CHANGED, FEATURED_EVENT, UNFEATURED_EVENT)


@dataclass(frozen=True, slots=True)
class Notify:
    """Whether status changes are pushed to the site (a webhook URL is configured)."""

    enabled: bool = False


def lock(session: Session, comment: Comment) -> None:
    """Reload the comment holding it until commit; call it before writing anything about the comment.

    Every writer takes the comment first, so concurrent writers queue on that one row instead of
    deadlocking (a report inserted first takes a share lock on the comment through its foreign
    key, and two such share locks cannot both be upgraded). On PostgreSQL this is the row lock an
    UPDATE takes anyway (FOR NO KEY UPDATE), which lets rows referring to the comment be inserted;
    SQLite allows one writer at a time, so a no-op write on the row takes the database's write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.refresh(comment, with_for_update={"key_share": True, "of": Comment.__table__})
    else:
        table = Comment.__table__
        session.execute(update(table).where(table.c.id == comment.id).values(revision=table.c.revision))
        session.refresh(comment)


class CommentPayload(VerdictPayload):
    """A comment's whole state: its verdict, current status and where it is in the queue."""

    id: str
    author_id: str | None
    article_id: str | None
    parent_id: str | None
    queue: Annotated[str, OneOf(QUEUE_STATES)] | None
    report_count: int
    decided_by: str | None
    decided_at: Timestamp | None
    featured: Annotated[bool, Field(description="an editor featured it (readers' picks)")]
    featured_at: Timestamp | None


@shape
class StatusChanged(TypedDict):
    """The body of every webhook: `comment.status_changed`, `comment.featured`, `comment.unfeatured`."""

    event: Annotated[str, OneOf(WEBHOOK_EVENTS)]
    comment: Annotated[CommentPayload, Field(description="the comment's whole state after the change")]
    sequence: Annotated[int, Field(ge=1, description="this comment's event number: 1, 2, 3, ... in order")]
    previous_status: Annotated[str, OneOf(STATUSES)]
    previous_visible: bool
    by: Annotated[str, Field(description="who made the change")]
    at: Timestamp


def comment_verdict(comment: Comment) -> VerdictPayload:
    """The comment's verdict as it stands now (status and visibility may have changed since)."""
    return verdict_payload(comment.status, comment.visible, comment.verdict)


def verdict_payload(status: str, visible: bool, verdict: Mapping[str, Any]) -> VerdictPayload:
    """A stored verdict (the ``verdict`` column) with the comment's current status and visibility."""
    payload: VerdictPayload = {
        "status": status,
        "visible": visible,
        "scores": verdict["scores"],
        "matches": verdict["matches"],
        "reasons": verdict["reasons"],
        "rules_version": verdict["rules_version"],
        "model_version": verdict["model_version"],
    }
    if "contribution" in verdict:
        payload["contribution"] = verdict["contribution"]
    return payload


def comment_payload(comment: Comment) -> CommentPayload:
    """The comment as webhooks and the moderation API show it: the verdict plus its state."""
    return {
        "id": comment.site_id,
        **comment_verdict(comment),
        "author_id": comment.author.site_id if comment.author else None,
        "article_id": comment.article.site_id if comment.article else None,
        "parent_id": comment.parent_site_id,
        "queue": comment.queue,
        "report_count": comment.report_count,
        "decided_by": comment.decided_by,
        "decided_at": comment.decided_at.isoformat() if comment.decided_at else None,
        "featured": comment.feature_state == "featured",
        "featured_at": comment.featured_at.isoformat() if comment.featured_at else None,
    }


def record_change(
    session: Session,
    comment: Comment,
    *,
    actor: str,
    action: str,
    status: str | None = None,
    visible: bool | None = None,
    notify: Notify,
    reason: str | None = None,
    site_rule: str | None = None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
    event: str | None = None,
) -> AuditEntry:
    """Apply a new status/visibility (if given), audit it, and queue a webhook if it changed.

    ``event`` names a change that is pushed to the site even when status and visibility stay
    (``comment.featured``); it then names the webhook instead of ``comment.status_changed``.
    """
    before_status, before_visible = comment.status, comment.visible
    if status is not None:
        comment.status = status
        comment.visible = status in VISIBLE_STATUSES if visible is None else visible
    elif visible is not None:
        comment.visible = visible
    now = utcnow()
    comment.updated_at = now
    entry = AuditEntry(
        comment_id=comment.id,
        author_id=comment.author_id,
        action=action,
        actor=actor,
        from_status=before_status,
        to_status=comment.status,
        from_visible=before_visible,
        to_visible=comment.visible,
        site_rule=site_rule,
        reason=reason,
        note=note,
        details=details,
        created_at=now,
    )
    session.add(entry)
    changed = (before_status, before_visible) != (comment.status, comment.visible)
    if (changed or event) and notify.enabled:
        name = event or STATUS_CHANGED
        # Numbered in the comment's own row, which this transaction updates under its revision
        # check: a comment's events get 1, 2, 3, ... in the order their changes committed.
        comment.event_seq = (comment.event_seq or 0) + 1
        body: StatusChanged = {
            "event": name,
            "comment": comment_payload(comment),
            "sequence": comment.event_seq,
            "previous_status": before_status,
            "previous_visible": before_visible,
            "by": actor,
            "at": now.isoformat(),
        }
        session.add(
            WebhookDelivery(
                event=name,
                comment_id=comment.id,
                sequence=comment.event_seq,
                body=json.dumps(body, ensure_ascii=False, sort_keys=True),
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    session.flush()
    return entry
