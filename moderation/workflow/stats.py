"""Numbers for the statistics page: queue sizes, decisions over time, how often each rule is
overturned by moderators, and how accurate reports are."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import AuditEntry, Comment, Report, utcnow
from .queue import queue_counts


def decisions_per_day(session: Session, days: int = 14) -> list[dict[str, Any]]:
    """Approvals and rejections by moderators per day, oldest first."""
    since = utcnow() - timedelta(days=days - 1)
    since = since.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = session.execute(
        select(AuditEntry.created_at, AuditEntry.action).where(
            AuditEntry.action.in_(("approve", "reject")), AuditEntry.created_at >= since
        )
    )
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for at, action in rows:
        counts[at.date()][action] += 1
    first = since.date()
    return [
        {
            "day": (first + timedelta(days=i)).isoformat(),
            **{a: counts[first + timedelta(days=i)][a] for a in ("approve", "reject")},
        }
        for i in range(days)
    ]


def overturned_by_rule(session: Session) -> list[dict[str, Any]]:
    """For each rule that acted on comments a moderator later decided: how often it was wrong.

    A rule that flagged, held or rejected a comment a moderator approved was overturned; so was
    a rule that approved one a moderator rejected.
    """
    rows = session.execute(
        select(Comment.verdict, Comment.status).where(
            Comment.decided_by.is_not(None), Comment.status.in_(("approved", "rejected"))
        )
    )
    decided: Counter[str] = Counter()
    overturned: Counter[str] = Counter()
    for verdict, status in rows:
        for rule, action in {(m["rule"], m["action"]) for m in verdict.get("matches", [])}:
            decided[rule] += 1
            if (action != "approve" and status == "approved") or (
                action == "approve" and status == "rejected"
            ):
                overturned[rule] += 1
    return sorted(
        (
            {"rule": rule, "decided": n, "overturned": overturned[rule], "rate": overturned[rule] / n}
            for rule, n in decided.items()
        ),
        key=lambda r: (-r["rate"], -r["decided"]),
    )


def report_accuracy(session: Session) -> list[dict[str, Any]]:
    """Upheld and dismissed reports per reason."""
    rows = session.execute(
        select(Report.reason, Report.outcome, func.count()).group_by(Report.reason, Report.outcome)
    )
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for reason, outcome, count in rows:
        table[reason][outcome or "open"] += count
    out = []
    for reason, counts in sorted(table.items()):
        decided = counts["upheld"] + counts["dismissed"]
        out.append(
            {
                "reason": reason,
                "upheld": counts["upheld"],
                "dismissed": counts["dismissed"],
                "open": counts["open"],
                "accuracy": counts["upheld"] / decided if decided else None,
            }
        )
    return out


def summary(session: Session) -> dict[str, Any]:
    """Everything the statistics page shows."""
    return {
        "queue": queue_counts(session),
        "decisions": decisions_per_day(session),
        "overturned": overturned_by_rule(session),
        "reports": report_accuracy(session),
    }
