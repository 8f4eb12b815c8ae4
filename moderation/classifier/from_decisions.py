"""Moderators' decisions as training examples (`flask model train --from-decisions`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Comment
from .datasets import LABELS, Example


def decision_examples(session: Session) -> list[Example]:
    """Comments a moderator decided: approved ones are clean; rejected ones are toxic, in the
    categories their verdict matched (only ``toxicity`` when none did)."""
    rows = session.scalars(
        select(Comment).where(Comment.decided_by.is_not(None), Comment.status.in_(("approved", "rejected")))
    )
    examples = []
    for comment in rows:
        if comment.status == "approved":
            examples.append(Example(comment.text, {c: 0 for c in ("toxicity", *LABELS)}))
            continue
        matched = {m["category"] for m in comment.verdict.get("matches", [])} & set(LABELS)
        examples.append(Example(comment.text, {"toxicity": 1, **{c: 1 for c in matched}}))
    return examples
