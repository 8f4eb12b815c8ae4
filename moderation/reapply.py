"""Re-running the current rules over recent comments after `rules.yaml` changed.

Comments a moderator decided are left alone. A comment whose status or visibility changes is
audited as `rules-reapply` and pushed to the site like any other change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .changes import Notify, record_change
from .comments import apply_author_state, author_facts, tag_string
from .decide import Decider
from .decisions import adjust_rejections
from .queue import priority, queue_for_status
from .store import Comment, utcnow


@dataclass
class ReapplyResult:
    """How many comments were looked at, and which changed."""

    checked: int = 0
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # (id, before, after)


def reapply_rules(
    sessions: sessionmaker[Session],
    decider: Decider,
    notify: Notify,
    since_hours: float = 24,
    dry_run: bool = False,
    batch: int = 500,
) -> ReapplyResult:
    """Re-decide comments stored in the last ``since_hours`` that no moderator has decided."""
    result = ReapplyResult()
    since = utcnow() - timedelta(hours=since_hours)
    last_id = 0
    rules = decider.rules
    while True:
        with sessions() as session, session.begin():
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
            verdicts = decider.decide_many(
                [c.text for c in comments], [author_facts(c.author) for c in comments]
            )
            for comment, verdict in zip(comments, verdicts, strict=True):
                result.checked += 1
                verdict = apply_author_state(verdict, comment.author)
                if comment.queue == "reported" and verdict.status in ("approved", "flagged"):
                    continue  # readers' reports keep it in front of a person
                if verdict.status == comment.status and verdict.visible == comment.visible:
                    continue
                result.changed.append((comment.site_id, comment.status, verdict.status))
                if dry_run:
                    continue
                comment.verdict = verdict.to_dict()
                comment.rules_version = verdict.rules_version
                comment.model_version = verdict.model_version
                comment.categories = tag_string(m.category for m in verdict.matches)
                comment.site_rules = tag_string(
                    r.key for m in verdict.matches if (r := rules.site_rule(m.site_rule))
                )
                comment.queue = queue_for_status(verdict.status)
                comment.priority = priority(verdict.to_dict(), comment.report_weight, rules.reports, set())
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
