"""What changed in a queue listing since a moderator loaded it: new comments, and who took or
decided the comments on their page. The review page polls this every few seconds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Comment, utcnow
from .queue import Filters, listing_query, queue_counts

MAX_WATCHED = 200
MAX_NEW = 20


def live_state(
    session: Session,
    listing: str,
    filters: Filters,
    watched: Sequence[str],
    after: datetime,
    actor: str,
) -> dict[str, Any]:
    """Counts per queue, the state of the ``watched`` comments, and comments new since ``after``.

    A claim is reported only while it is live and held by someone other than ``actor``.
    """
    now = utcnow()
    ids = list(dict.fromkeys(watched))[:MAX_WATCHED]
    items = {}
    for comment in session.scalars(select(Comment).where(Comment.site_id.in_(ids))) if ids else ():
        live_claim = comment.claimed_until is not None and comment.claimed_until > now
        items[comment.site_id] = {
            "status": comment.status,
            "queue": comment.queue,
            "decided_by": comment.decided_by,
            "reviewing": comment.claimed_by if live_claim and comment.claimed_by != actor else None,
        }
    new = session.scalars(
        listing_query(listing, filters, "newest")
        .where(Comment.created_at > after, Comment.site_id.not_in(ids) if ids else Comment.id.is_not(None))
        .limit(MAX_NEW)
    )
    return {
        "counts": queue_counts(session),
        "items": items,
        "new": [
            {
                "id": c.site_id,
                "status": c.status,
                "author": c.author.site_id,
                "article": (c.article.title or c.article.site_id) if c.article else None,
                "created_at": c.created_at.isoformat(),
                "excerpt": c.text[:300],
            }
            for c in new
        ],
        "now": now.isoformat(),
    }
