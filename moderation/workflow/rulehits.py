"""Rule hits: which rules (live and shadow) matched each comment, stored beside the comment.

Written in the comment's own transaction by submission and by ``rules reapply``; read by the
per-rule statistics, the drift view and the item page (shadow matches are shown nowhere else:
they never reach the verdict the site sees).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from ..categories import RULE_CATEGORIES, Action
from ..models import Comment, RuleHit
from ..shapes import OneOf, shape
from ..verdict import Verdict

LIVE, SHADOW = "live", "shadow"


@shape
class ShadowMatch(TypedDict):
    """What a shadow rule would have done: never applied, shown to moderators only."""

    rule: str
    category: Annotated[str, OneOf(RULE_CATEGORIES)]
    action: Annotated[str, OneOf(tuple(a.value for a in Action))]
    start: Annotated[int | None, Field(description="offset in the original text")]
    end: int | None
    text: str | None


def hit_rows(verdict: Verdict) -> list[dict[str, Any]]:
    """One row per rule the verdict records (live matches, then shadow ones), with its spans."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for mode, matches in ((LIVE, verdict.matches), (SHADOW, verdict.shadow)):
        for match in matches:
            row = rows.setdefault(
                (match.rule, mode),
                {
                    "rule": match.rule,
                    "mode": mode,
                    "category": match.category,
                    "action": match.action,
                    "spans": [],
                },
            )
            if match.start is not None and match.end is not None:
                row["spans"].append([match.start, match.end])
    return list(rows.values())


def record_hits(session: Session, comment_id: int, day: date, verdict: Verdict) -> None:
    """Store a new comment's hits (nothing when no rule matched, the usual case)."""
    rows = hit_rows(verdict)
    if rows:
        # A Core executemany: the ORM's bulk path costs more and adds nothing here.
        rows = [{**row, "comment_id": comment_id, "day": day} for row in rows]
        session.execute(insert(RuleHit.__table__), rows)


def _key(rows: Iterable[dict[str, Any]]) -> set[tuple[str, str, str, str, str]]:
    return {(r["rule"], r["mode"], r["category"], r["action"], repr(r["spans"])) for r in rows}


def replace_hits(session: Session, assessed: Sequence[tuple[Comment, Verdict]]) -> int:
    """After re-assessing stored comments: rewrite the hits of those whose hits changed.

    Returns how many comments' hits were rewritten.
    """
    if not assessed:
        return 0
    ids = [comment.id for comment, _ in assessed]
    stored: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    columns = (
        RuleHit.comment_id,
        RuleHit.rule,
        RuleHit.mode,
        RuleHit.category,
        RuleHit.action,
        RuleHit.spans,
    )
    for row in session.execute(select(*columns).where(RuleHit.comment_id.in_(ids))).mappings():
        stored[row["comment_id"]].append(dict(row))
    changed = 0
    for comment, verdict in assessed:
        rows = hit_rows(verdict)
        if _key(rows) == _key(stored[comment.id]):
            continue
        changed += 1
        session.execute(delete(RuleHit).where(RuleHit.comment_id == comment.id))
        record_hits(session, comment.id, comment.created_at.date(), verdict)
    return changed


def shadow_matches(session: Session, comment: Comment) -> list[ShadowMatch]:
    """What shadow rules matched on a comment, one entry per span, like a verdict's matches."""
    hits = session.scalars(
        select(RuleHit).where(RuleHit.comment_id == comment.id, RuleHit.mode == SHADOW).order_by(RuleHit.id)
    )
    out: list[ShadowMatch] = []
    for hit in hits:
        pairs: list[tuple[int | None, int | None]] = [(s, e) for s, e in hit.spans] or [(None, None)]
        for start, end in pairs:
            text = comment.text[start:end] if start is not None else None
            out.append(
                {
                    "rule": hit.rule,
                    "category": hit.category,
                    "action": hit.action,
                    "start": start,
                    "end": end,
                    "text": text,
                }
            )
    return out
