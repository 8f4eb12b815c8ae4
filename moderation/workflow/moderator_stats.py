"""Per-moderator numbers for the statistics page: decisions made, how many of them someone else
later overturned, and how long comments waited for their decision."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from statistics import median
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEntry, Comment, utcnow

DECISIONS = ("approve", "reject")


def moderator_stats(session: Session, days: int = 30) -> list[dict[str, Any]]:
    """For each moderator who decided something in the last ``days`` days, busiest first.

    A decision counts as overturned when the next decision or undo on the same comment was made
    by someone else and changed the outcome (an opposite decision, or an undo). Time to decision
    runs from the comment's arrival to the decision.
    """
    since = utcnow() - timedelta(days=days)
    rows = session.execute(
        select(AuditEntry.comment_id, AuditEntry.actor, AuditEntry.action, AuditEntry.created_at)
        .add_columns(Comment.created_at)
        .join(Comment, AuditEntry.comment_id == Comment.id)
        .where(AuditEntry.action.in_((*DECISIONS, "undo")), AuditEntry.created_at >= since)
        .order_by(AuditEntry.comment_id, AuditEntry.id)
    ).all()
    made: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"approve": 0, "reject": 0, "overturned": 0, "waits": []}
    )
    for n, (comment_id, actor, action, at, arrived) in enumerate(rows):
        if action not in DECISIONS:
            continue
        record = made[actor]
        record[action] += 1
        record["waits"].append((at - arrived).total_seconds())
        following = rows[n + 1] if n + 1 < len(rows) and rows[n + 1][0] == comment_id else None
        if following is not None and following[1] != actor and following[2] != action:
            record["overturned"] += 1
    out = []
    for actor, record in made.items():
        decided = record["approve"] + record["reject"]
        out.append(
            {
                "moderator": actor,
                "decisions": decided,
                "approved": record["approve"],
                "rejected": record["reject"],
                "overturned": record["overturned"],
                "overturned_rate": record["overturned"] / decided,
                "median_seconds": median(record["waits"]),
            }
        )
    return sorted(out, key=lambda r: (-r["decisions"], r["moderator"]))
