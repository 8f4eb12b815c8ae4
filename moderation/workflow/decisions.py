"""Moderators' decisions on comments: approve, reject, undo. Each is audited and, when the
comment's status or visibility changes, pushed to the site."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..models import AuditEntry, Author, Comment, Report, Reporter, utcnow
from ..rules import RuleSet
from .audit import Notify, lock, record_change
from .queue import QueueConflict

DECISIONS = ("approve", "reject")
REPORT_OUTCOMES = ("upheld", "dismissed")  # a rejection upholds the open reports, an approval dismisses them


class DecisionError(ValueError):
    """The decision is malformed (e.g. a rejection without a site rule)."""


def _last_decided(comment: Comment) -> str:
    who = f" by {comment.decided_by}" if comment.decided_by else ""
    when = f" at {comment.decided_at:%H:%M:%S} UTC" if comment.decided_at else ""
    return f"{who}{when}"


def _check_fresh(comment: Comment, actor: str, revision: int | None, seen: int) -> None:
    """Refuse to act on a stale view, to overturn a decision blindly, or on someone else's live claim.

    ``comment`` was just reloaded under its lock; ``seen`` is the revision the request read
    before. Without a ``revision`` from the caller, the decision is conditional on ``seen``, and
    it may not overturn another decision (the caller cannot have seen that one).
    """
    state = comment.status if comment.queue is None else f"{comment.status}, in the {comment.queue} queue"
    if revision is not None and revision != comment.revision:
        raise QueueConflict(
            f"this comment changed since you loaded it (now {state}; last decided{_last_decided(comment)}); "
            "reload and try again"
        )
    if revision is None and seen != comment.revision:
        raise QueueConflict(
            f"this comment changed while your decision was being made (now {state}; "
            f"last decided{_last_decided(comment)}); reload and try again"
        )
    if revision is None and comment.queue is None and comment.decided_by is not None:
        raise QueueConflict(
            f"this comment was already {comment.status}{_last_decided(comment)}; to change that "
            "decision, send the revision you saw"
        )
    if (
        comment.claimed_by
        and comment.claimed_by != actor
        and comment.claimed_until
        and comment.claimed_until > utcnow()
    ):
        raise QueueConflict(f"{comment.claimed_by} is reviewing this comment; try another one")


def _set_report_outcomes(session: Session, comment: Comment, outcome: str) -> list[int]:
    """Mark the open reports upheld or dismissed and update the reporters' records."""
    reports = list(
        session.scalars(select(Report).where(Report.comment_id == comment.id, Report.outcome.is_(None)))
    )
    column = Reporter.upheld_count if outcome == "upheld" else Reporter.dismissed_count
    for report in reports:
        report.outcome = outcome
        session.execute(
            update(Reporter).where(Reporter.id == report.reporter_id).values({column: column + 1})
        )
    return [r.id for r in reports]


def adjust_rejections(session: Session, comment: Comment, before: str) -> None:
    """Keep the author's rejection count (used by rules) in step with a status change."""
    delta = (comment.status == "rejected") - (before == "rejected")
    if delta:
        session.execute(
            update(Author)
            .where(Author.id == comment.author_id)
            .values(rejected_count=Author.rejected_count + delta)
        )


def decide(
    session: Session,
    comment: Comment,
    actor: str,
    action: str,
    rules: RuleSet,
    notify: Notify,
    site_rule: str | None = None,
    note: str | None = None,
    revision: int | None = None,
) -> AuditEntry:
    """Approve or reject a comment; refused if it changed since ``revision`` or is claimed by another."""
    if action not in DECISIONS:
        raise DecisionError(f"action must be one of {', '.join(DECISIONS)}")
    rule_title = None
    if action == "reject":
        if not site_rule:
            raise DecisionError("a rejection names the site rule broken (site_rule)")
        found = rules.site_rule(site_rule)
        if found is None:
            raise DecisionError(f"unknown site rule {site_rule!r} (known: {', '.join(rules.site_rules)})")
        rule_title = found.title
    seen = comment.revision
    lock(session, comment)
    _check_fresh(comment, actor, revision, seen)
    status_before = comment.status
    before = {
        "status": status_before,
        "visible": comment.visible,
        "queue": comment.queue,
        "decided_by": comment.decided_by,
        "decided_at": comment.decided_at.isoformat() if comment.decided_at else None,
    }
    report_ids = _set_report_outcomes(session, comment, "upheld" if action == "reject" else "dismissed")
    comment.queue = None
    comment.claimed_by = None
    comment.claimed_until = None
    comment.decided_by = actor
    comment.decided_at = utcnow()
    entry = record_change(
        session,
        comment,
        actor=actor,
        action=action,
        status="approved" if action == "approve" else "rejected",
        notify=notify,
        site_rule=rule_title,
        note=note,
        reason=f"{'Rejected' if action == 'reject' else 'Approved'} by {actor}",
        details={"before": before, "reports": report_ids},
    )
    entry.details = {**(entry.details or {}), "revision_after": comment.revision}
    adjust_rejections(session, comment, status_before)
    return entry


def undo(
    session: Session, comment: Comment, actor: str, notify: Notify, revision: int | None = None
) -> AuditEntry:
    """Undo the comment's last decision, if nothing happened to the comment since.

    With the ``revision`` the caller saw, refused when the comment changed since then: an undo
    from a stale page must not reverse a decision its author never saw.
    """
    seen = comment.revision
    lock(session, comment)
    if comment.revision != (seen if revision is None else revision):
        state = comment.status if comment.queue is None else f"{comment.status}, in the {comment.queue} queue"
        raise QueueConflict(
            f"this comment changed since you loaded it (now {state}; last decided"
            f"{_last_decided(comment)}); not undone, reload and try again"
        )
    entries = list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.comment_id == comment.id, AuditEntry.action.in_((*DECISIONS, "undo")))
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
    )
    last = entries[0] if entries else None
    if last is None or last.action == "undo":
        raise QueueConflict("there is no decision to undo on this comment")
    details: dict[str, Any] = last.details or {}
    if comment.revision != details.get("revision_after"):
        raise QueueConflict(
            "the comment changed after that decision (a report or another decision); not undone"
        )
    before = details["before"]
    outcome = "upheld" if last.action == "reject" else "dismissed"
    column = Reporter.upheld_count if outcome == "upheld" else Reporter.dismissed_count
    for report in session.scalars(select(Report).where(Report.id.in_(details.get("reports", [])))):
        report.outcome = None
        session.execute(
            update(Reporter).where(Reporter.id == report.reporter_id).values({column: column - 1})
        )
    previous_status = comment.status
    comment.queue = before["queue"]
    comment.decided_by = before["decided_by"]
    comment.decided_at = _parse(before["decided_at"])
    entry = record_change(
        session,
        comment,
        actor=actor,
        action="undo",
        status=before["status"],
        visible=before["visible"],
        notify=notify,
        reason=f"Undid {last.action} by {last.actor}",
        details={"undid": last.id},
    )
    adjust_rejections(session, comment, previous_status)
    return entry


def undoable(session: Session, comment_ids: list[int]) -> set[int]:
    """Which of these comments have a decision to undo (their last decision was not undone)."""
    last = (
        select(AuditEntry.comment_id, func.max(AuditEntry.id).label("id"))
        .where(AuditEntry.comment_id.in_(comment_ids), AuditEntry.action.in_((*DECISIONS, "undo")))
        .group_by(AuditEntry.comment_id)
        .subquery()
    )
    query = select(AuditEntry.comment_id).join(last, AuditEntry.id == last.c.id)
    return set(session.scalars(query.where(AuditEntry.action.in_(DECISIONS))))


def last_decision_by(session: Session, actor: str, look_back: int = 50) -> AuditEntry | None:
    """The actor's most recent approval or rejection that has not been undone since."""
    recent = list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.actor == actor, AuditEntry.action.in_(DECISIONS))
            .order_by(AuditEntry.id.desc())
            .limit(look_back)
        )
    )
    if not recent:
        return None
    undos = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "undo",
            AuditEntry.comment_id.in_({e.comment_id for e in recent}),
            AuditEntry.id > recent[-1].id,
        )
    )
    undone = {(e.details or {}).get("undid") for e in undos}
    return next((e for e in recent if e.id not in undone), None)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
