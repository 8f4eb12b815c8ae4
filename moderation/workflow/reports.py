"""Reader reports: de-duplicated, weighted by each reporter's track record, and able to
bring a comment back to the queue or hide it at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import AuditEntry, Comment, Report, Reporter, utcnow
from ..rules.reportpolicy import REPORT_REASONS, ReportPolicy
from .audit import Notify, lock, record_change
from .queue import priority
from .submission import find_author
from .submission_store import dialect_insert


@dataclass(frozen=True, slots=True)
class ReportResult:
    """What the site needs back after a report."""

    comment: Comment
    created: bool


def reporter_weight(upheld: int, dismissed: int) -> float:
    """Beta(1, 1)-smoothed share of upheld reports, scaled so a new reporter counts 1.0.

    Ranges from near 0 (always dismissed) to near 2 (always upheld); one
    dismissed report out of one moves a reporter to 0.67, not to zero.
    """
    return 2.0 * (upheld + 1) / (upheld + dismissed + 2)


def _reporter(session: Session, site_id: str) -> Reporter:
    session.execute(
        dialect_insert(session, Reporter.__table__)
        .values(site_id=site_id, upheld_count=0, dismissed_count=0, first_seen_at=utcnow())
        .on_conflict_do_nothing(index_elements=["site_id"])
    )
    reporter = session.scalar(select(Reporter).where(Reporter.site_id == site_id))
    assert reporter is not None
    return reporter


def _is_new_account(session: Session, site_id: str, created_at: datetime | None, days: float) -> bool:
    if created_at is None:
        author = find_author(session, site_id)
        created_at = author.account_created_at if author else None
    return created_at is not None and utcnow() - created_at < timedelta(days=days)


def report_comment(
    session: Session,
    comment: Comment,
    reporter_id: str,
    reason: str,
    note: str | None,
    policy: ReportPolicy,
    notify: Notify,
    reporter_created_at: datetime | None = None,
) -> ReportResult:
    """Record a report; the same reporter reporting the same comment again changes nothing."""
    if reason not in REPORT_REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    lock(session, comment)  # first: its totals change below, and every writer takes it first
    reporter = _reporter(session, reporter_id)
    weight = reporter_weight(reporter.upheld_count, reporter.dismissed_count)
    new_account = _is_new_account(session, reporter_id, reporter_created_at, policy.brigade.new_account_days)
    now = utcnow()
    inserted = session.execute(
        dialect_insert(session, Report.__table__)
        .values(
            comment_id=comment.id,
            reporter_id=reporter.id,
            reason=reason,
            note=note,
            weight=weight,
            new_account=new_account,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["comment_id", "reporter_id"])
        .returning(Report.__table__.c.id)
    ).scalar()
    if inserted is None:
        return ReportResult(comment, created=False)

    reports = list(
        session.scalars(select(Report).where(Report.comment_id == comment.id, Report.outcome.is_(None)))
    )
    comment.report_count = session.scalar(select(func.count()).where(Report.comment_id == comment.id)) or 0
    comment.report_weight = round(sum(r.weight for r in reports), 4)
    window = now - timedelta(minutes=policy.brigade.window_minutes)
    recent = [r for r in reports if r.created_at >= window]
    if (
        len(recent) >= policy.brigade.reports
        or sum(r.new_account for r in recent) >= policy.brigade.new_account_reports
    ):
        comment.brigade = True
    reasons = {r.reason for r in reports}
    comment.priority = priority(comment.verdict, comment.report_weight, policy, reasons)
    session.add(
        AuditEntry(
            comment_id=comment.id,
            author_id=comment.author_id,
            action="report",
            actor=f"reader:{reporter_id}",
            reason=reason,
            note=note,
            details={"weight": weight, "new_account": new_account},
            created_at=now,
        )
    )

    approved_by_moderator = comment.decided_by is not None and comment.status == "approved"
    threshold = policy.approved_threshold if approved_by_moderator else policy.queue_threshold
    hide = comment.visible and any(
        sum(r.weight for r in reports if r.reason in rule.reasons) >= rule.weight for rule in policy.hide
    )
    if hide:
        comment.queue = "reported"
        record_change(
            session,
            comment,
            actor="reports",
            action="report-hide",
            status="pending",
            visible=False,
            notify=notify,
            reason=f"Hidden after reports for {', '.join(sorted(reasons))}",
        )
    elif comment.report_weight >= threshold and comment.queue is None and comment.status != "rejected":
        comment.queue = "reported"
        record_change(
            session,
            comment,
            actor="reports",
            action="report-queue",
            notify=notify,
            reason=f"Weighted reports {comment.report_weight:.2f} reached {threshold:.2f}",
        )
    session.flush()
    return ReportResult(comment, created=True)


def list_reports(session: Session, comment: Comment) -> list[dict[str, Any]]:
    """A comment's reports, oldest first, with the reporter's site id."""
    rows = session.execute(
        select(Report, Reporter.site_id)
        .join(Reporter)
        .where(Report.comment_id == comment.id)
        .order_by(Report.id)
    )
    return [
        {
            "reporter_id": reporter_id,
            "reason": report.reason,
            "note": report.note,
            "weight": round(report.weight, 3),
            "new_account": report.new_account,
            "outcome": report.outcome,
            "at": report.created_at,
        }
        for report, reporter_id in rows
    ]
