"""An author's whole record for the review page: every comment with its status, the reports
against their comments and the reports they filed, and what moderators did to the author."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import AuditEntry, Author, Comment, Report, Reporter


def author_comments(
    session: Session, author: Author, page: int = 1, per_page: int = 50
) -> tuple[list[Comment], int]:
    """One page of the author's comments, newest first, and how many they wrote in all."""
    query = select(Comment).where(Comment.author_id == author.id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    return list(items), total


def status_counts(session: Session, author: Author) -> dict[str, int]:
    """How many of the author's comments are in each status."""
    rows = session.execute(
        select(Comment.status, func.count()).where(Comment.author_id == author.id).group_by(Comment.status)
    )
    return {status: count for status, count in rows}


def _report_rows(session: Session, query: Any) -> list[dict[str, Any]]:
    return [
        {
            "comment_id": comment_site_id,
            "reporter_id": reporter_site_id,
            "reason": report.reason,
            "note": report.note,
            "outcome": report.outcome,
            "at": report.created_at,
        }
        for report, comment_site_id, reporter_site_id in session.execute(query)
    ]


def reports_against(session: Session, author: Author, limit: int = 50) -> list[dict[str, Any]]:
    """The latest reports readers filed against the author's comments."""
    query = (
        select(Report, Comment.site_id, Reporter.site_id)
        .join(Comment, Report.comment_id == Comment.id)
        .join(Reporter, Report.reporter_id == Reporter.id)
        .where(Comment.author_id == author.id)
        .order_by(Report.id.desc())
        .limit(limit)
    )
    return _report_rows(session, query)


def reports_by(session: Session, author: Author, limit: int = 50) -> list[dict[str, Any]]:
    """The latest reports the author filed as a reader (the site uses one id for both)."""
    query = (
        select(Report, Comment.site_id, Reporter.site_id)
        .join(Comment, Report.comment_id == Comment.id)
        .join(Reporter, Report.reporter_id == Reporter.id)
        .where(Reporter.site_id == author.site_id)
        .order_by(Report.id.desc())
        .limit(limit)
    )
    return _report_rows(session, query)


def author_events(session: Session, author: Author, limit: int = 50) -> list[AuditEntry]:
    """What moderators did to the author (bans, suspensions, pre-moderation, notes), newest first."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.author_id == author.id, AuditEntry.comment_id.is_(None))
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )
