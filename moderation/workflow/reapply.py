"""Re-running the current rules over recent comments after `rules.yaml` changed.

Comments a moderator decided are left alone. A comment whose status or visibility changes is
audited as `rules-reapply` and pushed to the site like any other change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..database import transaction
from ..models import Comment, utcnow
from ..pipeline import ParallelPipeline, Pipeline
from ..verdict import Verdict
from .audit import Notify, lock, record_change
from .decisions import adjust_rejections
from .rulehits import replace_hits
from .submission import comment_context, verdict_columns


@dataclass
class ReapplyResult:
    """How many comments were looked at, and which changed."""

    checked: int = 0
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # (id, before, after)


def reapply_rules(
    sessions: sessionmaker[Session],
    pipeline: Pipeline,
    notify: Notify,
    since_hours: float = 24,
    dry_run: bool = False,
    batch: int = 500,
    jobs: int = 1,
) -> ReapplyResult:
    """Re-assess comments stored in the last ``since_hours`` that no moderator has decided.

    ``jobs`` worker processes share each batch's scoring; the database work stays here.
    """
    with ParallelPipeline(pipeline, jobs) as parallel:
        return _reapply(sessions, parallel, notify, since_hours, dry_run, batch)


def _reapply(
    sessions: sessionmaker[Session],
    pipeline: ParallelPipeline,
    notify: Notify,
    since_hours: float,
    dry_run: bool,
    batch: int,
) -> ReapplyResult:
    result = ReapplyResult()
    since = utcnow() - timedelta(hours=since_hours)
    last_id = 0
    while True:
        with transaction(sessions) as session:
            comments = list(
                session.scalars(
                    select(Comment)
                    .where(Comment.id > last_id, Comment.created_at >= since, Comment.decided_by.is_(None))
                    .order_by(Comment.id)
                    .limit(batch)
                )
            )
            if not comments:
                return result
            last_id = comments[-1].id
            verdicts = pipeline.run([comment_context(c.text, c.author) for c in comments])
            rules = pipeline.pipeline.rules
            if not dry_run:
                # Every re-assessed comment's hits follow the rules now in force (a new shadow
                # rule starts counting on recent comments), even where the status stays.
                replace_hits(session, list(zip(comments, verdicts, strict=True)))
            for comment, verdict in zip(comments, verdicts, strict=True):
                result.checked += 1
                if not _changes(comment, verdict):
                    continue
                if not dry_run:
                    # The rules ran on what was read before scoring; a moderator may have decided
                    # the comment (or a reader reported it) since. Take the row with its newest
                    # state, as every writer does, and look again.
                    lock(session, comment)
                    if comment.decided_by is not None or not _changes(comment, verdict):
                        continue
                result.changed.append((comment.site_id, comment.status, verdict.status))
                if dry_run:
                    continue
                for column, value in verdict_columns(verdict, rules, comment.report_weight).items():
                    setattr(comment, column, value)
                before = comment.status
                record_change(
                    session,
                    comment,
                    actor=f"rules:{verdict.rules_version}",
                    action="rules-reapply",
                    status=verdict.status,
                    notify=notify,
                    reason="; ".join(verdict.reasons) or None,
                )
                adjust_rejections(session, comment, before)


def _changes(comment: Comment, verdict: Verdict) -> bool:
    """Whether the verdict would change the comment's status or visibility."""
    if comment.queue == "reported" and verdict.status in ("approved", "flagged"):
        return False  # readers' reports keep it in front of a person
    return verdict.status != comment.status or verdict.visible != comment.visible
